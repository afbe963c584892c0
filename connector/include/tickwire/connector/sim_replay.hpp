// The simulator's outgoing message and its replay source. A SimOutgoing is
// one exchange message in both wire forms (combined and raw), shared by every
// connection that subscribes to its stream. load_replay() reads an NDJSON
// capture into them, one line each:
//   - a combined `{"stream":..,"data":..}` or a raw payload line: a message;
//   - `{"sim":"snapshot","symbol":"BTCUSDT","lastUpdateId":N,"bids":[["p","q"],..],
//     "asks":[..]}`: not sent; replaces that symbol's replay book (the REST
//     depth answer) at its place in the file;
//   - a bare REST answer `{"lastUpdateId":N,"bids":..,"asks":..}` (as
//     hftbacktest and cryptofeed record it): the same, for the symbol its
//     cryptofeed URL names, else the one symbol the capture has depth diffs
//     for (any other case is an error naming the line);
//   - the simulator's other `{"sim":..}` record lines (faults, limits) and
//     replies to control requests (`{"result":..,"id":..}`): skipped;
//   - a bare payload with neither "e" nor "s" (nor the above): an error.
// A line may carry a recorder's prefix: `<timestamp> ` (hftbacktest),
// `<timestamp>: ` or `<url> -> <timestamp>: ` (cryptofeed); cryptofeed's
// `<url> <- ..` (a request it sent) and `<url> <-> ..` (a connect) are skipped.
// Depth diffs (`depthUpdate`) carry their parsed levels so that replay keeps
// the book the REST endpoint serves without parsing while it sends.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tickwire/connector/sim_market.hpp"

namespace tickwire::connector {

// SimDepthChange: a depth diff's levels (quantity 0 removes the level) or a
// snapshot's whole book, prices and quantities in units of 10^-8.
struct SimDepthChange {
  std::string symbol;            // upper case, as in the payload's "s"
  bool snapshot = false;         // true: replaces the book; false: a diff U..u
  std::uint64_t first_id = 0;    // diff U; snapshot lastUpdateId
  std::uint64_t last_id = 0;     // diff u; snapshot lastUpdateId
  std::optional<std::uint64_t> prev_id;  // diff pu (USD-M: the u before; ids are not contiguous there)
  std::vector<SimLevel> bids, asks;
};

struct SimOutgoing {
  std::string stream;                         // as named on the wire, e.g. "btcusdt@aggTrade"
  std::string key;                            // sim_stream_key(stream), for subscription matching
  std::shared_ptr<const std::string> text;    // combined form, for /stream connections
  std::shared_ptr<const std::string> data;    // raw payload, for /ws connections
  std::uint64_t first_id = 0;                 // trade t, aggTrade a, bookTicker u, depth U
  std::uint64_t last_id = 0;                  // depth u, else first_id
  std::optional<std::uint64_t> time_ms;       // E (else T), when the message has one
  std::shared_ptr<const SimDepthChange> depth;  // depth diffs and snapshot lines; a snapshot has no text/data
  // The websocket frames (header + payload) of text and data, encoded once
  // before a replay so that sending costs one copy; null = encode when sent.
  std::shared_ptr<const std::string> text_frame;
  std::shared_ptr<const std::string> data_frame;
};

// append_ws_text_frame: one unmasked server-to-client websocket frame (FIN,
// text opcode, 7/16/64-bit payload length; RFC 6455 section 5.2) onto `out`.
void append_ws_text_frame(std::string& out, std::string_view payload);

// sim_stream_key: lower case, with `<s>@depth`, `@depth@500ms` and
// `@depth@0ms` meaning `<s>@depth@100ms`, `<s>@markPrice` `<s>@markPrice@1s`.
std::string sim_stream_key(std::string_view stream);

// load_replay: every message of an NDJSON capture, in file order. Errors name
// the file, the line and what is wrong with it.
absl::StatusOr<std::vector<SimOutgoing>> load_replay(const std::string& path);

}  // namespace tickwire::connector
