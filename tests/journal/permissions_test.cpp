// The journal directory against another local user: created 0750 whatever the
// umask, refused when others may write to it, and no journal file opened
// through a link planted under a name the journal uses.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "test_util.hpp"
#include "tickwire/journal/io.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/mmap_ring.hpp"
#include "tickwire/journal/segment_index.hpp"
#include "tickwire/journal/segment_writer.hpp"
#include "tickwire/journal/recovery.hpp"

namespace tickwire::journal {
namespace {

// UmaskGuard: sets the process umask for one test, restores it after.
class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t mask) : old_(::umask(mask)) {}
  ~UmaskGuard() { ::umask(old_); }
  UmaskGuard(const UmaskGuard&) = delete;
  UmaskGuard& operator=(const UmaskGuard&) = delete;

 private:
  mode_t old_;
};

constexpr char kSecret[] = "root's secret, 0600\n";

// plant_secret: a file the attacker wants overwritten, and a link to it at `link`.
std::filesystem::path plant_secret(const std::filesystem::path& scratch, const std::filesystem::path& link) {
  const auto target = scratch / "secret";
  {
    std::ofstream out(target, std::ios::binary);
    out << kSecret;
  }
  ::chmod(target.c_str(), 0600);
  std::filesystem::create_symlink(target, link);
  return target;
}

std::string contents(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

TEST(Permissions, TheJournalDirectoryIsCreated0750UnderUmask000) {
  UmaskGuard mask(0);
  ScratchDir scratch;
  const auto dir = scratch.path() / "parent" / "journal";
  auto j = Journal::open(small_options(dir));
  ASSERT_TRUE(j.ok()) << j.status();
  ASSERT_TRUE((*j)->close().ok());
  EXPECT_EQ(mode_of(dir), 0750u);
}

TEST(Permissions, ADirectoryWritableByOthersIsRefusedNamingPathAndMode) {
  ScratchDir scratch;
  const auto dir = scratch.path() / "journal";
  std::filesystem::create_directory(dir);
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  auto j = Journal::open(small_options(dir));
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), absl::StatusCode::kPermissionDenied);
  const std::string msg(io::message(j.status()));
  EXPECT_NE(msg.find(dir.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("0777"), std::string::npos) << msg;
  EXPECT_NE(msg.find("chmod go-w"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(dir / "ring")) << "nothing is created in a refused directory";
}

TEST(Permissions, ADirectoryWritableByItsGroupIsRefused) {
  ScratchDir scratch;
  const auto dir = scratch.path() / "journal";
  std::filesystem::create_directory(dir);
  ASSERT_EQ(::chmod(dir.c_str(), 0770), 0);
  auto j = Journal::open(small_options(dir));
  ASSERT_FALSE(j.ok());
  EXPECT_NE(std::string(io::message(j.status())).find("writable by its group"), std::string::npos) << j.status();
}

TEST(Permissions, APathThatIsAFileIsRefusedAsNotADirectory) {
  ScratchDir scratch;
  const auto dir = scratch.path() / "journal";
  std::ofstream(dir) << "x";
  auto j = Journal::open(small_options(dir));
  ASSERT_FALSE(j.ok());
  EXPECT_NE(std::string(io::message(j.status())).find("not a directory"), std::string::npos) << j.status();
}

TEST(Permissions, ASymlinkPlantedAsTheNextSpareIsRefusedAndItsTargetUntouched) {
  UmaskGuard mask(0);
  ScratchDir scratch;
  const auto link = scratch.path() / ".spare-000007.seg.tmp";
  const auto target = plant_secret(scratch.path(), link);
  auto spare = prepare_spare(scratch.path(), 7, 16, 64u << 10);
  ASSERT_FALSE(spare.ok());
  EXPECT_NE(std::string(io::message(spare.status())).find(link.string()), std::string::npos) << spare.status();
  EXPECT_EQ(contents(target), kSecret);
  EXPECT_EQ(mode_of(target), 0600u);
}

TEST(Permissions, ASymlinkPlantedAsTheSparesIndexIsRefusedAndTheSpareRemoved) {
  UmaskGuard mask(0);
  ScratchDir scratch;
  const auto link = scratch.path() / ".spare-000007.idx.tmp";
  const auto target = plant_secret(scratch.path(), link);
  auto spare = prepare_spare(scratch.path(), 7, 16, 64u << 10);
  ASSERT_FALSE(spare.ok());
  EXPECT_NE(std::string(io::message(spare.status())).find(link.string()), std::string::npos) << spare.status();
  EXPECT_EQ(contents(target), kSecret);
  EXPECT_FALSE(std::filesystem::exists(scratch.path() / ".spare-000007.seg.tmp"));
}

TEST(Permissions, ASymlinkPlantedWhileRunningFailsTheRollLoudlyAndLeavesItsTargetIntact) {
  UmaskGuard mask(0);
  ScratchDir scratch;
  const auto dir = scratch.path() / "journal";
  Options o = small_options(dir);
  o.segment_bytes = 8192;
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  // Open made the spare for segment 1; segment 2's is made after the first roll.
  const auto link = dir / ".spare-000002.seg.tmp";
  const auto target = plant_secret(scratch.path(), link);
  for (std::uint64_t s = 1; s <= 200; ++s) (void)(*j)->append(s, s, 1, payload_for(3, s));
  const absl::Status closed = (*j)->close();
  ASSERT_FALSE(closed.ok()) << "200 records of up to 200 bytes do not fit one 8 KiB segment";
  EXPECT_NE(std::string(io::message(closed)).find(link.string()), std::string::npos) << closed;
  EXPECT_EQ(contents(target), kSecret);
  EXPECT_EQ(mode_of(target), 0600u);
}

TEST(Permissions, ASymlinkPlantedAsTheRingsTempFileIsRefusedAndItsTargetUntouched) {
  UmaskGuard mask(0);
  ScratchDir scratch;
  const auto link = scratch.path() / ".ring.tmp";
  const auto target = plant_secret(scratch.path(), link);
  auto ring = MmapRing::open(scratch.path() / "ring", 4096);
  ASSERT_FALSE(ring.ok());
  EXPECT_NE(std::string(io::message(ring.status())).find(link.string()), std::string::npos) << ring.status();
  EXPECT_EQ(contents(target), kSecret);
}

TEST(Permissions, ARingThatIsASymlinkIsRefusedAndItsTargetUntouched) {
  ScratchDir scratch;
  const auto link = scratch.path() / "ring";
  const auto target = plant_secret(scratch.path(), link);
  auto ring = MmapRing::open(link, 4096);
  ASSERT_FALSE(ring.ok());
  EXPECT_NE(std::string(io::message(ring.status())).find("symbolic link"), std::string::npos) << ring.status();
  EXPECT_EQ(contents(target), kSecret);
}

TEST(Permissions, ASymlinkPlantedAsAnIndexsTempFileIsRemovedNotWrittenThrough) {
  ScratchDir scratch;
  const auto dir = scratch.path() / "j";
  {
    auto j = Journal::open(small_options(dir));
    ASSERT_TRUE(j.ok()) << j.status();
    for (std::uint64_t s = 1; s <= 100; ++s) ASSERT_TRUE((*j)->append(s, s, 1, payload_for(5, s)));
    ASSERT_TRUE((*j)->close().ok());
  }
  auto segs = list_segments(dir);
  ASSERT_TRUE(segs.ok());
  ASSERT_FALSE(segs->empty());
  const auto segment = segs->front().path;
  std::filesystem::path link = index_path(segment);
  link += ".tmp";
  const auto target = plant_secret(scratch.path(), link);
  ASSERT_TRUE(rebuild_index(segment).ok());
  EXPECT_EQ(contents(target), kSecret);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(link)));
  EXPECT_TRUE(std::filesystem::is_regular_file(std::filesystem::symlink_status(index_path(segment))));
}

}  // namespace
}  // namespace tickwire::journal
