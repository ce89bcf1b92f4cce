// ProcessLock across real processes: a child holds the lock, the parent waits for it.
#include "process_lock.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include "temp_dir.hpp"

namespace freshtoken::testing {
namespace {

using namespace std::chrono_literals;

// A child process that takes the lock, reports "L" (or "E" on failure) on a pipe, then holds
// it until told to go (a byte or EOF on a second pipe) or until it is killed.
class LockHolder {
 public:
  LockHolder(const std::string& service, const std::string& account) {
    int up[2];
    int down[2];
    if (::pipe(up) != 0 || ::pipe(down) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(up[0]);
      ::close(down[1]);
      auto lock = ProcessLock::acquire(service, account, 5s);
      char status = lock ? 'L' : 'E';
      (void)!::write(up[1], &status, 1);
      char ignored;
      (void)!::read(down[0], &ignored, 1);
      ::_exit(0);
    }
    ::close(up[1]);
    ::close(down[0]);
    from_child_ = up[0];
    to_child_ = down[1];
  }
  ~LockHolder() {
    release();
    ::close(from_child_);
  }

  // True once the child holds the lock.
  bool holding() {
    char status = 0;
    return ::read(from_child_, &status, 1) == 1 && status == 'L';
  }
  // Lets the child exit normally and reaps it.
  void release() {
    if (pid_ <= 0) return;
    ::close(to_child_);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void kill_hard() {
    ASSERT_GT(pid_, 0);
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status));
    ::close(to_child_);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int from_child_ = -1;
  int to_child_ = -1;
};

class ProcessLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* old = std::getenv("XDG_RUNTIME_DIR");
    if (old != nullptr) saved_runtime_ = old;
    ::setenv("XDG_RUNTIME_DIR", runtime_.path().c_str(), 1);
  }
  void TearDown() override {
    if (saved_runtime_) {
      ::setenv("XDG_RUNTIME_DIR", saved_runtime_->c_str(), 1);
    } else {
      ::unsetenv("XDG_RUNTIME_DIR");
    }
  }

  TempDir runtime_;
  std::optional<std::string> saved_runtime_;
};

TEST_F(ProcessLockTest, AnotherProcessHoldingTheLockMakesAcquireTimeOut) {
  LockHolder child("svc", "alice");
  ASSERT_TRUE(child.holding());
  auto lock = ProcessLock::acquire("svc", "alice", 50ms);
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().code(), ErrorCode::storage);
  EXPECT_NE(lock.error().message().find("timed out"), std::string::npos) << lock.error().message();
}

TEST_F(ProcessLockTest, AcquireSucceedsOnceTheHolderExits) {
  LockHolder child("svc", "alice");
  ASSERT_TRUE(child.holding());
  child.release();
  auto lock = ProcessLock::acquire("svc", "alice", 5s);
  ASSERT_TRUE(lock) << lock.error().to_string();
  EXPECT_TRUE(lock->held());
}

TEST_F(ProcessLockTest, AWaiterGetsTheLockWhenTheHolderLetsGoDuringTheWait) {
  LockHolder child("svc", "alice");
  ASSERT_TRUE(child.holding());
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    child.release();
  });
  auto lock = ProcessLock::acquire("svc", "alice", 30s);
  releaser.join();
  EXPECT_TRUE(lock) << lock.error().to_string();
}

TEST_F(ProcessLockTest, AHolderKilledWithSigkillReleasesTheLock) {
  LockHolder child("svc", "alice");
  ASSERT_TRUE(child.holding());
  child.kill_hard();
  auto lock = ProcessLock::acquire("svc", "alice", 5s);
  EXPECT_TRUE(lock) << lock.error().to_string();
}

TEST_F(ProcessLockTest, DifferentAccountsDoNotContend) {
  LockHolder child("svc", "alice");
  ASSERT_TRUE(child.holding());
  EXPECT_TRUE(ProcessLock::acquire("svc", "bob", 0ms));
  EXPECT_TRUE(ProcessLock::acquire("other-svc", "alice", 0ms));
  EXPECT_FALSE(ProcessLock::acquire("svc", "alice", 0ms));
}

TEST_F(ProcessLockTest, AnAccountsRefreshLockAndStoreLockAreTwoLocks) {
  LockHolder child("svc", "alice");  // the refresh lock
  ASSERT_TRUE(child.holding());
  auto store = ProcessLock::acquire("svc", "alice", 0ms, ProcessLock::Kind::store);
  ASSERT_TRUE(store) << store.error().to_string();
  EXPECT_FALSE(ProcessLock::acquire("svc", "alice", 0ms, ProcessLock::Kind::store));
  auto refresh = ProcessLock::acquire("svc", "alice", 0ms, ProcessLock::Kind::refresh);
  ASSERT_FALSE(refresh);
  EXPECT_NE(refresh.error().message().find("refresh lock"), std::string::npos)
      << refresh.error().message();
}

TEST_F(ProcessLockTest, TheLockIsHeldUntilTheLastMovedToOwnerGoesAway) {
  auto first = ProcessLock::acquire("svc", "alice", 0ms);
  ASSERT_TRUE(first);
  ProcessLock moved = std::move(first.value());
  EXPECT_FALSE(first->held());
  EXPECT_TRUE(moved.held());
  // Locks are per open file, so even this process cannot take it twice.
  EXPECT_FALSE(ProcessLock::acquire("svc", "alice", 0ms));
  moved.release();
  EXPECT_FALSE(moved.held());
  {
    auto again = ProcessLock::acquire("svc", "alice", 0ms);
    ASSERT_TRUE(again);
  }
  EXPECT_TRUE(ProcessLock::acquire("svc", "alice", 0ms));
}

TEST_F(ProcessLockTest, LockFilesLiveInAPrivateDirectoryUnderTheRuntimeDir) {
  auto dir = ProcessLock::directory();
  ASSERT_TRUE(dir) << dir.error().to_string();
  EXPECT_EQ(*dir, runtime_.path() / "freshtoken");
  struct stat st {};
  ASSERT_EQ(::stat(dir->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(ProcessLockTest, WithoutARuntimeDirAPrivateDirectoryUnderTmpIsUsed) {
  ::unsetenv("XDG_RUNTIME_DIR");
  auto dir = ProcessLock::directory();
  ASSERT_TRUE(dir) << dir.error().to_string();
  EXPECT_EQ(*dir, std::filesystem::path("/tmp/freshtoken-" + std::to_string(::geteuid())));
  struct stat st {};
  ASSERT_EQ(::lstat(dir->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST_F(ProcessLockTest, RefusesALockDirectoryAnotherUserOwns) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  const auto dir = runtime_.path() / "freshtoken";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  auto lock = ProcessLock::acquire("svc", "alice", 0ms);
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().code(), ErrorCode::storage);
  EXPECT_NE(lock.error().message().find("owned by uid 65534"), std::string::npos)
      << lock.error().message();
}

}  // namespace
}  // namespace freshtoken::testing
