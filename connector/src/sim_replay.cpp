#include "tickwire/connector/sim_replay.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <cctype>
#include <fstream>

namespace tickwire::connector {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::uint64_t> uint_field(simdjson::dom::element data, const char* name) {
  std::uint64_t v = 0;
  if (data[name].get_uint64().get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

std::string_view string_field(simdjson::dom::element data, const char* name) {
  std::string_view v;
  if (data[name].get_string().get(v) != simdjson::SUCCESS) return {};
  return v;
}

// raw_stream: the stream a raw payload belongs to, from its event type.
std::string raw_stream(simdjson::dom::element data) {
  const std::string_view e = string_field(data, "e");
  const std::string_view s = string_field(data, "s");
  if (e == "serverShutdown") return "!serverShutdown";
  if (e.empty()) return lower(s) + "@bookTicker";  // the only keyless spot payload
  if (e == "depthUpdate") return lower(s) + "@depth@100ms";
  return lower(s) + "@" + std::string(e);
}

}  // namespace

std::string sim_stream_key(std::string_view stream) {
  std::string key = lower(stream);
  if (key.size() > 6 && key.ends_with("@depth")) key += "@100ms";
  return key;
}

absl::StatusOr<std::vector<SimOutgoing>> load_replay(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(fmt::format("sim: cannot open replay file {}", path));
  simdjson::dom::parser parser;
  std::vector<SimOutgoing> out;
  std::size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    simdjson::dom::element doc;
    if (auto err = parser.parse(line).get(doc); err || !doc.is_object()) {
      return absl::InvalidArgumentError(fmt::format("{}:{}: expected a JSON object per line: {}", path, line_no,
                                                    err ? simdjson::error_message(err) : "not an object"));
    }
    if (doc["sim"].error() == simdjson::SUCCESS) continue;  // a simulator record's fault line
    SimOutgoing m;
    simdjson::dom::element data;
    std::string_view stream;
    if (doc["stream"].get_string().get(stream) == simdjson::SUCCESS && doc["data"].get(data) == simdjson::SUCCESS) {
      m.stream = std::string(stream);
      m.text = std::make_shared<const std::string>(line);
      m.data = std::make_shared<const std::string>(simdjson::minify(data));
    } else {
      data = doc;
      m.stream = raw_stream(data);
      m.data = std::make_shared<const std::string>(line);
      m.text = std::make_shared<const std::string>(fmt::format(R"({{"stream":"{}","data":{}}})", m.stream, line));
    }
    m.key = sim_stream_key(m.stream);
    const auto U = uint_field(data, "U");
    const auto u = uint_field(data, "u");
    const auto t = uint_field(data, "t");
    const auto a = uint_field(data, "a");
    m.first_id = U ? *U : t ? *t : a && !u ? *a : u.value_or(0);
    m.last_id = u && U ? *u : m.first_id;
    m.time_ms = uint_field(data, "E");
    if (!m.time_ms) m.time_ms = uint_field(data, "T");
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace tickwire::connector
