// Subjects: `<env>.<feed>.<kind>.<SYMBOL>` in NATS syntax (dot-separated
// tokens; in patterns `*` matches one token and `>` one or more trailing
// tokens), so one subject works in-process, across processes and hosts.
#pragma once

#include <string>
#include <string_view>

namespace tickwire::middleware {

// make_subject: "<env>.<feed>.<kind>.<symbol>". Allocates: compute once per
// (feed, kind, symbol) and keep it, never per message.
std::string make_subject(std::string_view env, std::string_view feed, std::string_view kind,
                         std::string_view symbol);

// is_valid_subject: non-empty tokens of printable, non-space characters
// other than the wildcards.
bool is_valid_subject(std::string_view subject) noexcept;

// is_valid_pattern: like a subject, but a token may be `*`, and the last token may be `>`.
bool is_valid_pattern(std::string_view pattern) noexcept;

// subject_matches: whether `subject` matches `pattern` under NATS rules.
bool subject_matches(std::string_view pattern, std::string_view subject) noexcept;

}  // namespace tickwire::middleware
