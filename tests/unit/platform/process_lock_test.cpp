// ProcessLock across real processes (a child holds the lock, the parent waits for it), and
// where the lock lives: only in a directory no other user can create or write.
#include "process_lock.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
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

namespace fs = std::filesystem;

// One environment variable set (or removed, when `value` is null) for a test's lifetime.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) saved_ = old;
    set(value);
  }
  ~ScopedEnv() { set(saved_ ? saved_->c_str() : nullptr); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  void set(const char* value) {
    if (value != nullptr) {
      ::setenv(name_.c_str(), value, 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> saved_;
};

struct stat lstat_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

class ProcessLockTest : public ::testing::Test {
 protected:
  // The state dir under home_, where the locks live without a runtime dir.
  fs::path home_locks() const { return home_.path() / ".local/state/freshtoken/locks"; }
  // A directory `path` made here with `mode` exactly.
  static void make_dir(const fs::path& path, mode_t mode) {
    ASSERT_EQ(::mkdir(path.c_str(), 0700), 0) << path;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
  }

  TempDir runtime_;
  TempDir home_;
  ScopedEnv runtime_env_{"XDG_RUNTIME_DIR", runtime_.path().c_str()};
  ScopedEnv state_env_{"XDG_STATE_HOME", nullptr};
  ScopedEnv home_env_{"HOME", home_.path().c_str()};
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

TEST_F(ProcessLockTest, WithoutARuntimeDirTheLocksLiveInPrivateDirectoriesUnderTheHomeDirectory) {
  runtime_env_.set(nullptr);
  auto dir = ProcessLock::directory();
  ASSERT_TRUE(dir) << dir.error().to_string();
  EXPECT_EQ(*dir, home_locks());
  // Every directory it made is private, not only the last.
  for (const auto& made : {home_.path() / ".local", home_.path() / ".local/state",
                           home_.path() / ".local/state/freshtoken", home_locks()}) {
    const auto st = lstat_of(made);
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << made;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << made;
    EXPECT_EQ(st.st_uid, ::geteuid()) << made;
  }
  EXPECT_TRUE(ProcessLock::acquire("svc", "alice", 0ms));
}

TEST_F(ProcessLockTest, AnExistingLocalStateDirectoryOfTheUsersIsKeptAsItIs) {
  runtime_env_.set(nullptr);
  make_dir(home_.path() / ".local", 0755);
  make_dir(home_.path() / ".local/state", 0755);
  auto dir = ProcessLock::directory();
  ASSERT_TRUE(dir) << dir.error().to_string();
  EXPECT_EQ(*dir, home_locks());
  EXPECT_EQ(lstat_of(home_.path() / ".local/state").st_mode & 0777, 0755u);
  EXPECT_EQ(lstat_of(home_locks()).st_mode & 0777, 0700u);
}

TEST_F(ProcessLockTest, XdgStateHomeComesBeforeTheHomeDirectoryAndItsMissingPartsAreMadePrivate) {
  runtime_env_.set(nullptr);
  TempDir other;
  const auto state = other.path() / "state" / "deeper";
  state_env_.set(state.c_str());
  auto dir = ProcessLock::directory();
  ASSERT_TRUE(dir) << dir.error().to_string();
  EXPECT_EQ(*dir, state / "freshtoken" / "locks");
  EXPECT_EQ(lstat_of(other.path() / "state").st_mode & 0777, 0700u);
  EXPECT_FALSE(fs::exists(home_.path() / ".local"));
}

TEST_F(ProcessLockTest, ARelativeXdgStateHomeIsIgnored) {
  runtime_env_.set(nullptr);
  state_env_.set("relative/state");
  auto dir = ProcessLock::directory();
  ASSERT_TRUE(dir) << dir.error().to_string();
  EXPECT_EQ(*dir, home_locks());
}

TEST_F(ProcessLockTest, ARuntimeDirOthersCanEnterIsNotUsed) {
  ASSERT_EQ(::chmod(runtime_.path().c_str(), 0755), 0);
  auto dir = ProcessLock::directory();
  ASSERT_TRUE(dir) << dir.error().to_string();
  EXPECT_EQ(*dir, home_locks());
  EXPECT_FALSE(fs::exists(runtime_.path() / "freshtoken"));
}

TEST_F(ProcessLockTest, ARuntimeDirAnotherUserOwnsIsNotUsed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  ASSERT_EQ(::chown(runtime_.path().c_str(), 65534, 65534), 0);
  auto dir = ProcessLock::directory();
  ASSERT_TRUE(dir) << dir.error().to_string();
  EXPECT_EQ(*dir, home_locks());
}

TEST_F(ProcessLockTest, RefusesALockDirectoryOthersCanEnterAndLeavesItsModeAlone) {
  const auto dir = runtime_.path() / "freshtoken";
  make_dir(dir, 0755);
  auto lock = ProcessLock::acquire("svc", "alice", 0ms);
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().code(), ErrorCode::storage);
  EXPECT_NE(lock.error().message().find("open to group or others"), std::string::npos)
      << lock.error().message();
  EXPECT_EQ(lstat_of(dir).st_mode & 0777, 0755u);
}

TEST_F(ProcessLockTest, RefusesALockDirectoryUnderTheHomeDirectoryOthersCanEnter) {
  runtime_env_.set(nullptr);
  ASSERT_TRUE(ProcessLock::directory());
  ASSERT_EQ(::chmod(home_locks().c_str(), 0750), 0);
  auto dir = ProcessLock::directory();
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().code(), ErrorCode::storage);
  EXPECT_NE(dir.error().message().find("open to group or others"), std::string::npos)
      << dir.error().message();
}

TEST_F(ProcessLockTest, RefusesALockDirectoryThatIsASymbolicLink) {
  const auto elsewhere = runtime_.path() / "elsewhere";
  make_dir(elsewhere, 0700);
  ASSERT_EQ(::symlink(elsewhere.c_str(), (runtime_.path() / "freshtoken").c_str()), 0);
  auto dir = ProcessLock::directory();
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().code(), ErrorCode::storage);
  EXPECT_NE(dir.error().message().find("symbolic link"), std::string::npos)
      << dir.error().message();
}

TEST_F(ProcessLockTest, WithoutARuntimeDirAHomeOthersCanWriteIsNoSafePlace) {
  runtime_env_.set(nullptr);
  ASSERT_EQ(::chmod(home_.path().c_str(), 0777), 0);
  auto lock = ProcessLock::acquire("svc", "alice", 0ms);
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().code(), ErrorCode::storage);
  const std::string message = lock.error().message();
  EXPECT_NE(message.find("no safe place for the cross-process lock"), std::string::npos) << message;
  EXPECT_NE(message.find("XDG_RUNTIME_DIR is not set"), std::string::npos) << message;
  EXPECT_NE(message.find(home_.path().string() + " is writable by group or others"),
            std::string::npos)
      << message;
  EXPECT_FALSE(fs::exists(home_.path() / ".local"));  // nothing made in a place others control
}

TEST_F(ProcessLockTest, RefusesASquattedLockDirectoryUnderTheHomeDirectory) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  runtime_env_.set(nullptr);
  ASSERT_TRUE(ProcessLock::directory());
  ASSERT_EQ(::chown(home_locks().c_str(), 65534, 65534), 0);
  auto lock = ProcessLock::acquire("svc", "alice", 0ms);
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().code(), ErrorCode::storage);
  EXPECT_NE(lock.error().message().find("owned by uid 65534"), std::string::npos)
      << lock.error().message();
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
