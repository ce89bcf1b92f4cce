// The cross-process lock on Windows (LockFileEx): other processes of the user, started as
// lock_holder.exe, hold an account's lock while this one tries to take it.
#include <windows.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "process_lock.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;

// lock_holder.exe beside this program, with its stdout on a pipe.
class LockHolder {
 public:
  LockHolder(const std::string& account, std::chrono::milliseconds hold) {
    wchar_t self[MAX_PATH];
    GetModuleFileNameW(nullptr, self, MAX_PATH);
    std::wstring program(self);
    program = program.substr(0, program.find_last_of(L"\\/") + 1) + L"lock_holder.exe";
    std::wstring command = L"\"" + program + L"\" test-service " +
                           std::wstring(account.begin(), account.end()) + L" " +
                           std::to_wstring(hold.count());
    SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
    HANDLE write_end = nullptr;
    if (!CreatePipe(&read_end_, &write_end, &inherit, 0)) return;
    SetHandleInformation(read_end_, HANDLE_FLAG_INHERIT, 0);
    STARTUPINFOW startup{};
    startup.cb = sizeof startup;
    startup.dwFlags = STARTF_USESTDHANDLES;
    startup.hStdOutput = write_end;
    startup.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    startup.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    PROCESS_INFORMATION info{};
    if (CreateProcessW(program.c_str(), command.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr,
                       &startup, &info)) {
      process_ = info.hProcess;
      CloseHandle(info.hThread);
    }
    CloseHandle(write_end);
  }
  ~LockHolder() {
    if (process_ != nullptr) {
      TerminateProcess(process_, 1);
      WaitForSingleObject(process_, INFINITE);
      CloseHandle(process_);
    }
    if (read_end_ != nullptr) CloseHandle(read_end_);
  }
  LockHolder(const LockHolder&) = delete;
  LockHolder& operator=(const LockHolder&) = delete;

  // True once the holder said it holds the lock.
  bool wait_until_held() {
    std::string said;
    char c = 0;
    DWORD got = 0;
    while (said.size() < 16 && ReadFile(read_end_, &c, 1, &got, nullptr) && got == 1) {
      if (c == '\n') return said == "held" || said == "held\r";
      said += c;
    }
    return false;
  }
  bool wait_for_exit(std::chrono::milliseconds timeout) {
    return WaitForSingleObject(process_, static_cast<DWORD>(timeout.count())) == WAIT_OBJECT_0;
  }
  void kill() { TerminateProcess(process_, 9); }
  bool started() const { return process_ != nullptr; }

 private:
  HANDLE process_ = nullptr;
  HANDLE read_end_ = nullptr;
};

TEST(WindowsProcessLock, LockFilesLiveUnderTheUsersLocalApplicationData) {
  auto dir = ProcessLock::directory();
  ASSERT_TRUE(dir) << dir.error().message();
  EXPECT_EQ(dir->filename(), "locks");
  EXPECT_EQ(dir->parent_path().filename(), "freshtoken");
  wchar_t local[MAX_PATH];
  ASSERT_GT(GetEnvironmentVariableW(L"LOCALAPPDATA", local, MAX_PATH), 0u);
  EXPECT_EQ(dir->parent_path().parent_path(), std::filesystem::path(local));
}

TEST(WindowsProcessLock, AnotherProcessHoldingTheLockMakesAcquireTimeOut) {
  LockHolder holder("contended", 20s);
  ASSERT_TRUE(holder.started());
  ASSERT_TRUE(holder.wait_until_held());
  auto lock = ProcessLock::acquire("test-service", "contended", 300ms);
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().code(), ErrorCode::storage);
  EXPECT_NE(lock.error().message().find("timed out"), std::string::npos) << lock.error().message();
}

TEST(WindowsProcessLock, AWaiterGetsTheLockWhenTheHolderExits) {
  LockHolder holder("handed-over", 1500ms);
  ASSERT_TRUE(holder.started());
  ASSERT_TRUE(holder.wait_until_held());
  // Held now; the holder lets go within the wait.
  auto lock = ProcessLock::acquire("test-service", "handed-over", 20s);
  ASSERT_TRUE(lock) << lock.error().message();
  EXPECT_TRUE(lock->held());
  EXPECT_TRUE(holder.wait_for_exit(10s));
}

TEST(WindowsProcessLock, AKilledHolderReleasesTheLock) {
  LockHolder holder("killed", 60s);
  ASSERT_TRUE(holder.started());
  ASSERT_TRUE(holder.wait_until_held());
  ASSERT_FALSE(ProcessLock::acquire("test-service", "killed", 0ms));
  holder.kill();
  ASSERT_TRUE(holder.wait_for_exit(10s));
  auto lock = ProcessLock::acquire("test-service", "killed", 10s);
  ASSERT_TRUE(lock) << lock.error().message();
}

TEST(WindowsProcessLock, DifferentAccountsDoNotContend) {
  LockHolder holder("one-account", 20s);
  ASSERT_TRUE(holder.started());
  ASSERT_TRUE(holder.wait_until_held());
  auto other = ProcessLock::acquire("test-service", "another-account", 0ms);
  ASSERT_TRUE(other) << other.error().message();
}

TEST(WindowsProcessLock, TwoLocksOfOneAccountInOneProcessExcludeEachOther) {
  auto first = ProcessLock::acquire("test-service", "in-process", 0ms);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_FALSE(ProcessLock::acquire("test-service", "in-process", 0ms));
  first->release();
  EXPECT_TRUE(ProcessLock::acquire("test-service", "in-process", 0ms));
}

}  // namespace
}  // namespace freshtoken
