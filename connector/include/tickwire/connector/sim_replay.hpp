// The simulator's outgoing message and its replay source. A SimOutgoing is
// one exchange message in both wire forms (combined and raw), shared by every
// connection that subscribes to its stream. load_replay() reads an NDJSON
// capture (combined `{"stream":..,"data":..}` or raw payload lines; the
// simulator's own `{"sim":..}` record lines are skipped) into them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tickwire::connector {

struct SimOutgoing {
  std::string stream;                         // as named on the wire, e.g. "btcusdt@aggTrade"
  std::string key;                            // sim_stream_key(stream), for subscription matching
  std::shared_ptr<const std::string> text;    // combined form, for /stream connections
  std::shared_ptr<const std::string> data;    // raw payload, for /ws connections
  std::uint64_t first_id = 0;                 // trade t, aggTrade a, bookTicker u, depth U
  std::uint64_t last_id = 0;                  // depth u, else first_id
  std::optional<std::uint64_t> time_ms;       // E (else T), when the message has one
};

// sim_stream_key: lower case, with `<s>@depth` meaning `<s>@depth@100ms`.
std::string sim_stream_key(std::string_view stream);

// load_replay: every message of an NDJSON capture, in file order. Errors name
// the file, the line and what is wrong with it.
absl::StatusOr<std::vector<SimOutgoing>> load_replay(const std::string& path);

}  // namespace tickwire::connector
