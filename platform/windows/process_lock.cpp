// ProcessLock on Windows: LockFileEx on a file in %LOCALAPPDATA%\freshtoken\locks (see
// process_lock.hpp). The local application data folder belongs to the user (its ACL admits the
// user, SYSTEM and administrators), so no other user can create, replace or hold the files.
#include <shlobj.h>
#include <windows.h>

#include <string>

#include "process_lock.hpp"

namespace freshtoken {

namespace {

std::string system_message(DWORD code) {
  char* text = nullptr;
  DWORD length = FormatMessageA(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, code, 0, reinterpret_cast<char*>(&text), 0, nullptr);
  std::string message = length > 0 ? std::string(text, length) : "error " + std::to_string(code);
  if (text != nullptr) LocalFree(text);
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r' ||
                              message.back() == ' ' || message.back() == '.')) {
    message.pop_back();
  }
  return message + " (" + std::to_string(code) + ")";
}

Error storage_error(const std::string& what, DWORD code) {
  return Error(ErrorCode::storage, what + ": " + system_message(code));
}

HANDLE handle_of(std::intptr_t file) { return reinterpret_cast<HANDLE>(file); }

}  // namespace

Result<std::filesystem::path> ProcessLock::directory() {
  PWSTR local = nullptr;
  HRESULT hr = SHGetKnownFolderPath(FOLDERID_LocalAppData, KF_FLAG_CREATE, nullptr, &local);
  if (FAILED(hr)) {
    if (local != nullptr) CoTaskMemFree(local);
    return Error(ErrorCode::storage,
                 "no place for the cross-process lock: the local application data folder is "
                 "unknown (HRESULT " +
                     std::to_string(static_cast<long>(hr)) + ")");
  }
  std::filesystem::path dir = std::filesystem::path(local) / "freshtoken" / "locks";
  CoTaskMemFree(local);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Error(ErrorCode::storage, "cannot create the cross-process lock directory " +
                                         dir.string() + ": " + ec.message());
  }
  return dir;
}

Result<ProcessLock::NativeFile> ProcessLock::open_file(const std::filesystem::path& path) {
  // Not shared for deletion, and never a reparse point's target.
  HANDLE file = CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE,
                            FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_ALWAYS,
                            FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (file == INVALID_HANDLE_VALUE) {
    return storage_error("cannot open lock file " + path.string(), GetLastError());
  }
  return reinterpret_cast<NativeFile>(file);
}

Result<bool> ProcessLock::try_lock(NativeFile file, const std::filesystem::path& path) {
  OVERLAPPED at{};  // the first byte
  if (LockFileEx(handle_of(file), LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0,
                 &at)) {
    return true;
  }
  const DWORD code = GetLastError();
  if (code == ERROR_LOCK_VIOLATION || code == ERROR_IO_PENDING) return false;
  return storage_error("cannot lock " + path.string(), code);
}

void ProcessLock::close_file(NativeFile file) noexcept {
  OVERLAPPED at{};
  UnlockFileEx(handle_of(file), 0, 1, 0, &at);
  CloseHandle(handle_of(file));
}

}  // namespace freshtoken
