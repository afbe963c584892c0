// The example service against the simulator's truth (issue 13): `tickwire
// run` publishes to shared memory, the book_watch example (a separate
// process, started while the connector runs, lossless from seq 1 through the
// journal) rebuilds every book from BookSnapshot/BookDelta, and at the end its
// books are the truth's: the book the simulator's diffs describe at the last
// update id it sent, level for level, and Simulator::book() when that is the
// same update. Every journaled record reaches it once, in order.
#include <linux/magic.h>
#include <signal.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <sstream>

#include "support/fault_harness.hpp"

namespace tickwire {
namespace {

using testing::Book;
using testing::canonical_decimal;
using testing::lower_of;
using testing::SimFault;
using testing::Subprocess;

std::vector<std::uint64_t> sequences_in(const std::filesystem::path& file) {
  std::vector<std::uint64_t> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(std::stoull(line));
  }
  return out;
}

// Watched: a --books-out file, by exchange symbol.
struct Watched {
  Book book;
  bool synced = false;
};

std::map<std::string, Watched> books_in(const std::filesystem::path& file) {
  std::map<std::string, Watched> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string symbol, what, a, b;
    words >> symbol >> what >> a >> b;
    Watched& w = out[symbol];
    if (what == "book") {
      w.book.id = std::stoull(a);
      w.synced = b == "synced";
    } else if (what == "bid") {
      w.book.bids[canonical_decimal(a)] = canonical_decimal(b);
    } else if (what == "ask") {
      w.book.asks[canonical_decimal(a)] = canonical_decimal(b);
    }
  }
  return out;
}

class BookWatchTruth : public SimFault {};

TEST_F(BookWatchTruth, TheExampleServiceRebuildsTheSimulatorsBooksFromTheLiveSharedMemoryFeed) {
  channels_ = {"trade", "bookTicker", "depth@100ms"};
  sim_.count = 6000;
  const auto ring = dir_ / "ring";
  const auto seqs = dir_ / "watch.seq", books = dir_ / "watch.books", log = dir_ / "watch.log";
  extra_toml_ = "[publish]\nto = [\"shm:" + ring.string() + "\"]\n[publish.shm]\nring_bytes = \"1MiB\"\n";
  std::unique_ptr<Subprocess> watch;
  after_start_ = [&] {
    // book_watch waits for the connector to format its ring, then reads the
    // journal from seq 1 until it meets the live ring.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!std::filesystem::exists(ring)) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the connector never made its shm ring";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, deadline above
    }
    watch = std::make_unique<Subprocess>(
        std::vector<std::string>{TICKWIRE_BOOK_WATCH, "--name", ring.string(), "--journal", (dir_ / "data").string(),
                                 "--env", "test", "--from-seq", "1", "--out", seqs.string(), "--books-out",
                                 books.string(), "--quiet"},
        log.string());
  };
  run();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(watch);
  // A ring file on a disk (not tmpfs) is written back by the kernel and
  // stalls publishes: the connector says so, and only then.
  struct statfs fs {};
  ASSERT_EQ(::statfs(ring.c_str(), &fs), 0);
  EXPECT_EQ(log_.find("is not on tmpfs (/dev/shm)") != std::string::npos, fs.f_type != TMPFS_MAGIC) << log_;
  verify();  // the journal itself is the truth's
  ASSERT_FALSE(journal_.empty());

  // Every journaled record, once, in order; then book_watch is stopped and writes its books.
  std::vector<std::uint64_t> journaled;
  for (const auto& r : journal_) journaled.push_back(r.seq);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    const auto got = sequences_in(seqs);
    if (!got.empty() && got.back() >= journaled.back()) break;
    ASSERT_FALSE(watch->wait(std::chrono::milliseconds(0)).has_value())
        << "book_watch exited early:\n" << testing::read_text(log);
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "book_watch stopped at " << (got.empty() ? 0 : got.back()) << " of " << journaled.back() << ":\n"
        << testing::read_text(log);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, deadline above
  }
  watch->kill(SIGTERM);
  const auto status = watch->wait(std::chrono::seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << testing::read_text(log);
  EXPECT_EQ(sequences_in(seqs), journaled) << "book_watch did not get every journaled record once, in order";

  const auto watched = books_in(books);
  for (const auto& symbol : sim_.symbols) {
    const std::string stream = lower_of(symbol) + "@depth@100ms";
    const auto it = watched.find(symbol);
    ASSERT_NE(it, watched.end()) << symbol << ": book_watch has no book";
    const Watched& w = it->second;
    EXPECT_TRUE(w.synced) << symbol;
    EXPECT_EQ(w.book.id, truth_.last_id(stream)) << symbol << ": book_watch's book is not at the truth's last update";
    const auto expected = truth_.book_at(stream, w.book.id);
    ASSERT_TRUE(expected.has_value()) << symbol << ": update " << w.book.id << " ends no truth diff";
    EXPECT_TRUE(w.book.same_levels(*expected)) << symbol << "\nbook_watch: " << w.book.describe()
                                               << "\ntruth:      " << expected->describe();
    EXPECT_GT(w.book.bids.size() + w.book.asks.size(), 0u) << symbol;
    const connector::SimBook& sb = sim_books_[stream];
    if (sb.last_update_id == w.book.id) {
      Book final_book;
      for (const auto& l : sb.bids) {
        final_book.bids[canonical_decimal(connector::SimMarket::format_units(l.price))] =
            canonical_decimal(connector::SimMarket::format_units(l.qty));
      }
      for (const auto& l : sb.asks) {
        final_book.asks[canonical_decimal(connector::SimMarket::format_units(l.price))] =
            canonical_decimal(connector::SimMarket::format_units(l.qty));
      }
      EXPECT_TRUE(w.book.same_levels(final_book)) << symbol << "\nbook_watch: " << w.book.describe()
                                                  << "\nsimulator:  " << final_book.describe();
    }
  }
}

}  // namespace
}  // namespace tickwire
