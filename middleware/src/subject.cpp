#include "tickwire/middleware/subject.hpp"

namespace tickwire::middleware {
namespace {

// next_token: splits off the token before the next '.', advancing `rest`.
std::string_view next_token(std::string_view& rest) noexcept {
  const auto dot = rest.find('.');
  std::string_view token = rest.substr(0, dot);
  rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
  return token;
}

bool valid_token_chars(std::string_view token) noexcept {
  if (token.empty()) return false;
  for (char c : token) {
    if (c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

bool validate(std::string_view text, bool allow_wildcards) noexcept {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::string_view token = next_token(rest);
    if (!valid_token_chars(token)) return false;
    if (token == "*" || token == ">") {
      if (!allow_wildcards) return false;
      if (token == ">" && !rest.empty()) return false;
    } else if (token.find_first_of("*>") != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string make_subject(std::string_view env, std::string_view feed, std::string_view kind,
                         std::string_view symbol) {
  std::string s;
  s.reserve(env.size() + feed.size() + kind.size() + symbol.size() + 3);
  s.append(env).append(1, '.').append(feed).append(1, '.').append(kind).append(1, '.').append(symbol);
  return s;
}

bool is_valid_subject(std::string_view subject) noexcept { return validate(subject, false); }

bool is_valid_pattern(std::string_view pattern) noexcept { return validate(pattern, true); }

bool subject_matches(std::string_view pattern, std::string_view subject) noexcept {
  std::string_view p = pattern;
  std::string_view s = subject;
  while (!p.empty()) {
    const std::string_view pt = next_token(p);
    if (pt == ">") return !s.empty();
    if (s.empty()) return false;
    const std::string_view st = next_token(s);
    if (pt != "*" && pt != st) return false;
  }
  return s.empty();
}

}  // namespace tickwire::middleware
