// Periodic book snapshots and `tickwire replay DIR --from X --books`, through
// real processes: `tickwire run` on the embedded simulator journals books
// with a BookSnapshot every 100 ms; the books replay emits as of a point in
// the middle, with every delta after that point applied, must equal the next
// snapshot the connector journaled of the same book.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "support/text_file.hpp"

namespace tickwire {
namespace {

using testing::lines_of;
using testing::run_command;
using testing::TempDir;

struct Record {
  std::uint64_t seq = 0;
  std::uint64_t wall_ns = 0;
  std::string kind, symbol, detail;
  std::map<std::string, std::string> bids, asks;  // price text -> size text
};

std::vector<Record> parse(const std::string& jsonl) {
  simdjson::dom::parser parser;
  std::vector<Record> out;
  for (const auto& line : lines_of(jsonl)) {
    simdjson::dom::element doc = parser.parse(line);
    Record r;
    r.seq = std::uint64_t(doc["seq"]);
    r.wall_ns = std::uint64_t(doc["wall_ns"]);
    r.kind = std::string(std::string_view(doc["kind"]));
    if (std::string_view s; doc["symbol"].get_string().get(s) == simdjson::SUCCESS) r.symbol = std::string(s);
    if (std::string_view s; doc["detail"].get_string().get(s) == simdjson::SUCCESS) r.detail = std::string(s);
    if (r.kind == "book_snapshot" || r.kind == "book_delta") {
      for (auto [name, side] : {std::pair{"bids", &r.bids}, std::pair{"asks", &r.asks}}) {
        for (simdjson::dom::array level : simdjson::dom::array(doc[name])) {
          (*side)[std::string(std::string_view(level.at(0)))] = std::string(std::string_view(level.at(1)));
        }
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool zero(const std::string& size) { return size.find_first_not_of("0.") == std::string::npos; }

class ReplayBooks : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto config = dir_ / "books.toml";
    std::ofstream(config) << "env = \"dev\"\n[[feeds]]\nname = \"binance\"\nexchange = \"binance\"\n"
                          << "url = \"sim://\"\nsymbols = [\"BTCUSDT\", \"ETHUSDT\"]\n"
                          << "channels = [\"trade\", \"depth@100ms\"]\n"
                          << "[simulator]\nrate = 2000\nseed = 7\n"
                          << "[journal]\ndir = \"" << data_ << "\"\n"
                          << "[status]\nbook_snapshot_interval_ms = 100\n"
                          << "[metrics]\nlisten = \"\"\n[publish]\nto = [\"inproc\"]\n";
    auto run = run_command({"/bin/sh", "-c",
                            std::string("'") + TICKWIRE_BINARY + "' run -c '" + config.string() +
                                "' --max-messages 6000 --no-status 2>&1"});
    ASSERT_EQ(run.exit_code, 0) << run.out;
    auto all = run_command({TICKWIRE_BINARY, "replay", data_});
    ASSERT_EQ(all.exit_code, 0) << all.out;
    journal_ = parse(all.out);
    ASSERT_GT(journal_.size(), 1000u);
  }

  // check_books: `replay --from <from> --books` output: the books first, one
  // per symbol, stamped before `first_seq`; then, per symbol, the book with
  // the deltas after it applied equals the next journaled snapshot.
  void check_books(const std::vector<Record>& out, std::uint64_t first_seq) {
    std::map<std::string, Record> books;
    std::size_t i = 0;
    for (; i < out.size() && out[i].kind == "book_snapshot" && out[i].seq < first_seq; ++i) {
      EXPECT_TRUE(books.emplace(out[i].symbol, out[i]).second) << "two books for " << out[i].symbol;
    }
    EXPECT_EQ(books.size(), 2u);
    ASSERT_LT(i, out.size());
    EXPECT_EQ(out[i].seq, first_seq);  // then the records, from exactly where --from points
    std::set<std::string> checked;
    for (; i < out.size() && checked.size() < books.size(); ++i) {
      const Record& r = out[i];
      auto it = books.find(r.symbol);
      if (it == books.end() || checked.contains(r.symbol)) continue;
      if (r.kind == "book_delta") {
        for (auto [from, to] : {std::pair{&r.bids, &it->second.bids}, std::pair{&r.asks, &it->second.asks}}) {
          for (const auto& [price, size] : *from) {
            if (zero(size)) {
              to->erase(price);
            } else {
              (*to)[price] = size;
            }
          }
        }
      } else if (r.kind == "book_snapshot") {
        EXPECT_EQ(it->second.bids, r.bids) << r.symbol << " at seq " << r.seq;
        EXPECT_EQ(it->second.asks, r.asks) << r.symbol << " at seq " << r.seq;
        checked.insert(r.symbol);
      } else if (r.kind == "status" && r.detail.starts_with("book ")) {
        FAIL() << "a book gap in a fault-free run: " << r.detail;
      }
    }
    EXPECT_EQ(checked.size(), 2u) << "every book met a later snapshot to be checked against";
  }

  TempDir dir_{"tickwire-books"};
  std::string data_ = (dir_ / "data").string();
  std::vector<Record> journal_;
};

TEST_F(ReplayBooks, TheConnectorJournalsBookSnapshotsPeriodicallyNotOnlyAfterASync) {
  std::size_t snapshots = 0, resyncs = 0;
  for (const auto& r : journal_) {
    snapshots += r.kind == "book_snapshot";
    resyncs += r.kind == "status" && r.detail.starts_with("book synced from snapshot");
  }
  EXPECT_EQ(resyncs, 2u);  // one sync per book, no faults
  EXPECT_GT(snapshots, resyncs);
}

TEST_F(ReplayBooks, BooksAsOfASequenceAreTheJournalsBooksThen) {
  for (const std::size_t at : {journal_.size() / 3, journal_.size() / 2}) {
    const std::uint64_t from = journal_[at].seq;
    auto r = run_command({TICKWIRE_BINARY, "replay", data_, "--from", std::to_string(from), "--books"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    check_books(parse(r.out), from);
  }
}

TEST_F(ReplayBooks, BooksAsOfATimeOneSymbolAndCsv) {
  const Record& mid = journal_[journal_.size() / 2];
  const std::uint64_t s = mid.wall_ns / 1'000'000'000, ns = mid.wall_ns % 1'000'000'000;
  const std::time_t t = static_cast<std::time_t>(s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[64];
  std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned long long>(ns));
  // Where `--from TIME` starts without --books (wall stamps are close to, not
  // strictly, in seq order, so that is the index's answer, near mid).
  auto plain = run_command({TICKWIRE_BINARY, "replay", data_, "--from", when});
  ASSERT_EQ(plain.exit_code, 0) << plain.out;
  const auto after = parse(plain.out);
  ASSERT_FALSE(after.empty());
  const std::uint64_t first_seq = after[0].seq;
  auto r = run_command({TICKWIRE_BINARY, "replay", data_, "--from", when, "--books"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  check_books(parse(r.out), first_seq);

  auto one = run_command({TICKWIRE_BINARY, "replay", data_, "--from", when, "--books", "--symbol", "ETHUSDT"});
  ASSERT_EQ(one.exit_code, 0) << one.out;
  const auto eth = parse(one.out);
  ASSERT_FALSE(eth.empty());
  EXPECT_EQ(eth[0].kind, "book_snapshot");
  EXPECT_EQ(eth[0].symbol, "ETHUSDT");
  for (const auto& rec : eth) EXPECT_EQ(rec.symbol, "ETHUSDT");

  auto csv = run_command({TICKWIRE_BINARY, "replay", data_, "--from", when, "--books", "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.out;
  const auto rows = lines_of(csv.out);
  ASSERT_GT(rows.size(), 3u);
  EXPECT_TRUE(rows[0].starts_with("seq,")) << rows[0];
  EXPECT_NE(rows[1].find("book_snapshot"), std::string::npos) << rows[1];
  EXPECT_NE(rows[2].find("book_snapshot"), std::string::npos) << rows[2];
  for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_FALSE(rows[i].starts_with("seq,")) << "header twice";
}

TEST_F(ReplayBooks, BooksWithoutFromOrWithPublishAreAUsageError) {
  auto r = run_command({"/bin/sh", "-c", std::string("'") + TICKWIRE_BINARY + "' replay '" + data_ + "' --books 2>&1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--books needs --from"), std::string::npos) << r.out;
  auto p = run_command({"/bin/sh", "-c", std::string("'") + TICKWIRE_BINARY + "' replay '" + data_ +
                                             "' --books --from 10 --publish inproc 2>&1"});
  EXPECT_EQ(p.exit_code, 2) << p.out;
}

}  // namespace
}  // namespace tickwire
