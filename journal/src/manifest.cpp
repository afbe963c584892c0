#include "tickwire/journal/manifest.hpp"

#include <fcntl.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "tickwire/journal/crc32c.hpp"
#include "tickwire/journal/io.hpp"

namespace tickwire::journal {
namespace {

constexpr std::string_view kMagicLine = "tickwire-journal-manifest";

// one_line: `text` with line breaks replaced, so a field never ends the line early.
std::string one_line(std::string_view text) {
  std::string out(text);
  std::replace_if(out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

std::string render(const Manifest& m) {
  std::string out = fmt::format("{} {}\n", kMagicLine, kManifestVersion);
  out += fmt::format("format_version {}\nfeed {}\nhighest_seq {}\nnext_segment_index {}\n", m.format_version,
                     one_line(m.feed), m.highest_seq, m.next_segment_index);
  out += fmt::format("first_segment_index {}\nfirst_seq {}\nretention {}\n", m.first_segment_index, m.first_seq,
                     m.retention ? 1 : 0);
  for (const Loss& l : m.losses) {
    out += fmt::format("loss {} {} {} {} {} {}\n", l.first_seq, l.last_seq, l.segment_index, l.begin, l.end,
                       one_line(l.what));
  }
  out += fmt::format("crc32c {:08x}\n", crc32c(out.data(), out.size()));
  return out;
}

bool parse_u64(std::string_view text, std::uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// words: splits a line into its first `n` space-separated words and the rest.
std::vector<std::string_view> words(std::string_view line, std::size_t n) {
  std::vector<std::string_view> out;
  while (out.size() < n) {
    const auto space = line.find(' ');
    if (space == std::string_view::npos) {
      out.push_back(line);
      return out;
    }
    out.push_back(line.substr(0, space));
    line.remove_prefix(space + 1);
  }
  out.push_back(line);
  return out;
}

absl::StatusOr<Manifest> parse(std::string_view text, const std::filesystem::path& path) {
  auto bad = [&](std::size_t line, std::string_view why) {
    return absl::DataLossError(fmt::format("{}:{}: {}", path.string(), line, why));
  };
  const auto crc_at = text.rfind("crc32c ");
  if (crc_at == std::string_view::npos || (crc_at != 0 && text[crc_at - 1] != '\n')) {
    return bad(1, "no crc32c line (not a manifest, or cut short)");
  }
  std::uint64_t stored = 0;
  std::string_view crc_text = text.substr(crc_at + 7);
  if (!crc_text.empty() && crc_text.back() == '\n') crc_text.remove_suffix(1);
  auto [end, ec] = std::from_chars(crc_text.data(), crc_text.data() + crc_text.size(), stored, 16);
  const std::uint32_t computed = crc32c(text.data(), crc_at);
  if (ec != std::errc() || end != crc_text.data() + crc_text.size() || stored != computed) {
    return bad(1, fmt::format("crc mismatch (stored '{}', computed {:08x})", crc_text, computed));
  }
  Manifest m;
  std::size_t number = 0;
  std::string_view rest = text.substr(0, crc_at);
  while (!rest.empty()) {
    ++number;
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    auto w = words(line, 1);
    const std::string_view key = w[0];
    const std::string_view value = w.size() > 1 ? w[1] : std::string_view();
    std::uint64_t v = 0;
    if (number == 1) {
      if (key != kMagicLine || !parse_u64(value, v)) return bad(number, "not a tickwire journal manifest");
      if (v != kManifestVersion) return bad(number, fmt::format("manifest version {} (this build reads {})", v, kManifestVersion));
    } else if (key == "feed") {
      m.feed = std::string(value);
    } else if (key == "loss") {
      auto f = words(value, 5);
      Loss l;
      if (f.size() < 5 || !parse_u64(f[0], l.first_seq) || !parse_u64(f[1], l.last_seq) ||
          !parse_u64(f[2], l.segment_index) || !parse_u64(f[3], l.begin) || !parse_u64(f[4], l.end)) {
        return bad(number, "loss: expected FIRST LAST SEGMENT BEGIN END WHAT");
      }
      if (f.size() > 5) l.what = std::string(f[5]);
      m.losses.push_back(std::move(l));
    } else if (!parse_u64(value, v)) {
      return bad(number, fmt::format("{}: expected an unsigned integer, got '{}'", key, value));
    } else if (key == "format_version") {
      m.format_version = static_cast<std::uint32_t>(v);
    } else if (key == "highest_seq") {
      m.highest_seq = v;
    } else if (key == "next_segment_index") {
      m.next_segment_index = v;
    } else if (key == "first_segment_index") {
      m.first_segment_index = v;
    } else if (key == "first_seq") {
      m.first_seq = v;
    } else if (key == "retention") {
      m.retention = v != 0;
    } else {
      return bad(number, fmt::format("unknown key '{}'", key));
    }
  }
  if (number == 0) return bad(1, "empty");
  return m;
}

}  // namespace

bool Manifest::add_loss(const Loss& loss) {
  // The same damage (segment, offset) or the same missing range is one loss, however often it is found.
  const bool known = std::any_of(losses.begin(), losses.end(), [&](const Loss& l) {
    return loss.segment_index != 0 ? l.segment_index == loss.segment_index && l.begin == loss.begin
                                   : l.segment_index == 0 && l.first_seq == loss.first_seq && l.last_seq == loss.last_seq;
  });
  if (known) return false;
  losses.push_back(loss);
  return true;
}

const Loss* Manifest::damage_loss(std::uint64_t segment_index, std::uint64_t begin) const {
  for (const Loss& l : losses) {
    if (l.segment_index == segment_index && l.segment_index != 0 && l.begin == begin) return &l;
  }
  return nullptr;
}

bool Manifest::covers(std::uint64_t first, std::uint64_t last) const {
  // Walk [first, last] forward through whichever acknowledged loss covers the next seq.
  std::uint64_t next = first;
  while (next <= last) {
    std::uint64_t reach = 0;
    for (const Loss& l : losses) {
      if (l.first_seq <= next && l.last_seq >= next) reach = std::max(reach, l.last_seq);
    }
    if (reach == 0) return false;
    if (reach >= last) return true;
    next = reach + 1;
  }
  return true;
}

absl::StatusOr<std::optional<Manifest>> read_manifest(const std::filesystem::path& dir) {
  const auto path = dir / kManifestName;
  auto file = io::open_file(path, O_RDONLY | O_NOFOLLOW);
  if (!file.ok()) {
    if (file.status().code() == absl::StatusCode::kNotFound) return std::optional<Manifest>();
    return file.status();
  }
  auto size = file->size();
  if (!size.ok()) return size.status();
  constexpr std::uint64_t kMaxBytes = 16u << 20;
  if (*size > kMaxBytes) return absl::DataLossError(fmt::format("{}: {} bytes, not a manifest", path.string(), *size));
  std::string text(static_cast<std::size_t>(*size), '\0');
  auto got = file->read_at(0, std::as_writable_bytes(std::span(text.data(), text.size())));
  if (!got.ok()) return got.status();
  text.resize(*got);
  auto m = parse(text, path);
  if (!m.ok()) return m.status();
  return std::optional<Manifest>(std::move(*m));
}

absl::Status write_manifest(const std::filesystem::path& dir, const Manifest& manifest) {
  const auto tmp = dir / kManifestTempName;
  std::error_code ec;
  std::filesystem::remove(tmp, ec);  // left by a crash between create and rename: ours, by its exact name
  const std::string text = render(manifest);
  auto file = io::open_file(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0640);
  if (!file.ok()) return file.status();
  if (auto s = file->write_at(0, std::as_bytes(std::span(text.data(), text.size()))); !s.ok()) return s;
  if (auto s = file->sync_data(); !s.ok()) return s;
  if (auto s = file->close(); !s.ok()) return s;
  return io::rename_durable(tmp, dir / kManifestName);
}

}  // namespace tickwire::journal
