// What the file store promises beyond the contract: private modes on disk, refusal of files
// others could read, atomic replacement, and no temporary file of a crashed save left behind.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "freshtoken/platform/secret_stores.hpp"
#include "temp_dir.hpp"

namespace freshtoken::testing {
namespace {

namespace fs = std::filesystem;

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  return files;
}

class FileStoreTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  fs::path dir_ = tmp_.path() / "secrets";
  std::shared_ptr<SecretStore> store_ = make_file_store(dir_);
  const Secret value_{std::string_view("canary-refresh-token-value")};
};

TEST_F(FileStoreTest, CreatesAPrivateDirectoryAndPrivateFilesWhateverTheUmask) {
  const mode_t old = ::umask(0);
  auto saved = store_->save("svc", "alice", value_);
  ::umask(old);
  ASSERT_TRUE(saved) << saved.error().to_string();
  EXPECT_EQ(mode_of(dir_), 0700u);
  auto files = files_in(dir_);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(mode_of(files[0]), 0600u);
}

TEST_F(FileStoreTest, DescribeNamesTheDirectory) {
  EXPECT_EQ(store_->describe(), "file:" + dir_.string());
}

TEST_F(FileStoreTest, LoadFromAMissingDirectoryIsNotFoundAndEraseSucceeds) {
  EXPECT_EQ(store_->load("svc", "alice").error().code(), ErrorCode::not_found);
  EXPECT_TRUE(store_->erase("svc", "alice"));
  EXPECT_FALSE(fs::exists(dir_));
}

TEST_F(FileStoreTest, RefusesToReadAFileOthersCanRead) {
  ASSERT_TRUE(store_->save("svc", "alice", value_));
  const auto file = files_in(dir_).at(0);
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  auto loaded = store_->load("svc", "alice");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), ErrorCode::storage);
  EXPECT_NE(loaded.error().message().find("group or others"), std::string::npos)
      << loaded.error().message();
  EXPECT_EQ(loaded.error().message().find("canary"), std::string::npos);
}

TEST_F(FileStoreTest, RefusesADirectoryOthersCanEnter) {
  ASSERT_TRUE(store_->save("svc", "alice", value_));
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  auto loaded = store_->load("svc", "alice");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), ErrorCode::storage);
  EXPECT_NE(loaded.error().message().find("0755"), std::string::npos) << loaded.error().message();
  auto saved = store_->save("svc", "alice", value_);
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code(), ErrorCode::storage);
}

TEST_F(FileStoreTest, RefusesAFileAnotherUserOwns) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  ASSERT_TRUE(store_->save("svc", "alice", value_));
  const auto file = files_in(dir_).at(0);
  ASSERT_EQ(::chown(file.c_str(), 65534, 65534), 0);
  auto loaded = store_->load("svc", "alice");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), ErrorCode::storage);
  EXPECT_NE(loaded.error().message().find("owned by uid 65534"), std::string::npos)
      << loaded.error().message();
}

TEST_F(FileStoreTest, RefusesToFollowASymlink) {
  ASSERT_TRUE(store_->save("svc", "alice", value_));
  const auto file = files_in(dir_).at(0);
  const auto target = tmp_.path() / "elsewhere";
  fs::rename(file, target);
  fs::create_symlink(target, file);
  auto loaded = store_->load("svc", "alice");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), ErrorCode::storage);
}

TEST_F(FileStoreTest, ReplacingLeavesNoTemporaryFilesBehind) {
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store_->save("svc", "alice", Secret("v" + std::to_string(i))));
  }
  ASSERT_TRUE(store_->save("svc", "bob", value_));
  EXPECT_EQ(files_in(dir_).size(), 2u);
  ASSERT_TRUE(store_->erase("svc", "alice"));
  ASSERT_TRUE(store_->erase("svc", "bob"));
  EXPECT_TRUE(files_in(dir_).empty());
}

// What a save leaves behind when its process dies between writing its temporary file and
// renaming it: "<entry file>.tmp.<16 hex digits>", 0600, holding the secret.
class LeftoverTest : public FileStoreTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_->save("svc", "bob", value_));
    bob_ = files_in(dir_).at(0).filename().string();
    ASSERT_TRUE(store_->save("svc", "alice", value_));
    for (const auto& file : files_in(dir_)) {
      if (file.filename() != bob_) alice_ = file.filename().string();
    }
    ASSERT_FALSE(alice_.empty());
  }
  fs::path plant(const std::string& name) {
    const auto path = dir_ / name;
    std::ofstream(path) << "canary-refresh-token-value";
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
    return path;
  }
  // Files the clean-up must not touch: other entries' temporary files, names that only look
  // like a temporary file of alice's, and alice's and bob's entries themselves.
  std::vector<fs::path> plant_lookalikes() {
    return {plant(bob_ + ".tmp.0123456789abcdef"),         plant(alice_ + ".tmp.0123456789ABCDEF"),
            plant(alice_ + ".tmp.0123456789abcde"),        plant(alice_ + ".tmp.0123456789abcdef0"),
            plant(alice_ + ".tmpx0123456789abcdef"),       plant(alice_ + ".tmp.0123456789abcdeg"),
            plant("x" + alice_ + ".tmp.0123456789abcdef"), plant("notes.txt")};
  }

  std::string alice_;
  std::string bob_;
};

TEST_F(LeftoverTest, EraseRemovesTheEntrysLeftoverTemporaryFileAndNothingElse) {
  const auto leftover = plant(alice_ + ".tmp.0123456789abcdef");
  const auto lookalikes = plant_lookalikes();
  ASSERT_TRUE(store_->erase("svc", "alice"));
  EXPECT_FALSE(fs::exists(leftover));
  for (const auto& kept : lookalikes) EXPECT_TRUE(fs::exists(kept)) << kept;
  EXPECT_TRUE(store_->load("svc", "bob"));
}

TEST_F(LeftoverTest, EraseRemovesALeftoverEvenWhenTheEntryWasNeverSaved) {
  ASSERT_TRUE(store_->erase("svc", "alice"));
  const auto leftover = plant(alice_ + ".tmp.fedcba9876543210");
  ASSERT_TRUE(store_->erase("svc", "alice"));
  EXPECT_FALSE(fs::exists(leftover));
}

TEST_F(LeftoverTest, TheNextSaveRemovesTheEntrysLeftoverTemporaryFileAndNothingElse) {
  const auto leftover = plant(alice_ + ".tmp.0123456789abcdef");
  const auto lookalikes = plant_lookalikes();
  ASSERT_TRUE(store_->save("svc", "alice", Secret(std::string_view("newer"))));
  EXPECT_FALSE(fs::exists(leftover));
  for (const auto& kept : lookalikes) EXPECT_TRUE(fs::exists(kept)) << kept;
  EXPECT_EQ(store_->load("svc", "alice")->reveal(), "newer");
}

TEST_F(LeftoverTest, ATemporaryFileThatALiveSaveHoldsIsNotALeftover) {
  const auto in_flight = plant(alice_ + ".tmp.0123456789abcdef");
  {
    // A save in another process holds its temporary file locked until it is renamed.
    const int fd = ::open(in_flight.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX), 0);
    ASSERT_TRUE(store_->save("svc", "alice", value_));
    ASSERT_TRUE(store_->erase("svc", "alice"));
    EXPECT_TRUE(fs::exists(in_flight));
    ::close(fd);
  }
  ASSERT_TRUE(store_->erase("svc", "alice"));
  EXPECT_FALSE(fs::exists(in_flight));
}

TEST_F(LeftoverTest, AnEmptyTemporaryFileIsNotTakenForALeftover) {
  // A save that has created its temporary file but not locked it yet; it holds no secret.
  const auto just_created = dir_ / (alice_ + ".tmp.0123456789abcdef");
  std::ofstream{just_created};
  ASSERT_TRUE(store_->save("svc", "alice", value_));
  ASSERT_TRUE(store_->erase("svc", "alice"));
  EXPECT_TRUE(fs::exists(just_created));
}

TEST_F(FileStoreTest, AReaderNeverSeesATornValueWhileAWriterAlternates) {
  const std::string a(256 * 1024, 'a');
  const std::string b(256 * 1024, 'b');
  ASSERT_TRUE(store_->save("svc", "alice", Secret(std::string_view(a))));
  std::atomic<bool> done{false};
  std::atomic<int> write_failures{0};
  std::thread writer([&] {
    for (int i = 0; i < 100; ++i) {
      if (!store_->save("svc", "alice", Secret(std::string_view(i % 2 ? a : b)))) {
        ++write_failures;
      }
    }
    done = true;
  });
  int reads = 0;
  int torn = 0;
  int failed = 0;
  // A second store object on the same directory: what another process would do.
  auto reader = make_file_store(dir_);
  while (!done || reads == 0) {
    auto loaded = reader->load("svc", "alice");
    ++reads;
    if (!loaded) {
      ++failed;
    } else if (loaded->reveal() != a && loaded->reveal() != b) {
      ++torn;
    }
  }
  writer.join();
  EXPECT_EQ(write_failures.load(), 0);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(torn, 0);
  EXPECT_GT(reads, 0);
  EXPECT_EQ(files_in(dir_).size(), 1u);
}

}  // namespace
}  // namespace freshtoken::testing
