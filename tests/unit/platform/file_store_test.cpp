// What the file store promises beyond the contract: private modes on disk, refusal of files
// others could read, and atomic replacement.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
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
