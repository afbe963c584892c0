// check_journal_volume: what `tickwire run` checks about journal.dir before
// the journal opens, so that a container volume that cannot work fails at
// start with a message saying what to do, instead of streaming and failing
// later: the directory exists (or is created), this process may write it, and
// its filesystem has room for what the configuration reserves up front (the
// ring, the segment being written and the spare segment prepared beside it,
// less what of these already exists).
#pragma once

#include <cstdint>
#include <filesystem>

#include "absl/status/status.h"
#include "tickwire/config/config.hpp"

namespace tickwire::connector {

// journal_reservation: the bytes a start of the journal in `dir` still needs to allocate.
std::uint64_t journal_reservation(const config::JournalConfig& journal, const std::filesystem::path& dir);

// check_journal_volume: OK, or FailedPrecondition / PermissionDenied naming
// the absolute directory, the cause and the fix.
absl::Status check_journal_volume(const config::JournalConfig& journal);

}  // namespace tickwire::connector
