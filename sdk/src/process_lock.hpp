// ProcessLock: an exclusive lock for one (service, account), shared by every process of the
// user on this machine (internal). Each account has two: Session holds the refresh lock around
// "re-read store -> refresh -> save", network exchange included, and the store lock around each
// "read the store, then write it" (a sign-in, a sign-out, a refresh's save or erase), for those
// store calls alone.
//
// It is an exclusive lock on a file in a directory only this user can create or write, so that
// no other local user can take the lock away or make it unusable. On Windows: LockFileEx on a
// file in %LOCALAPPDATA%\freshtoken\locks\ (a per-user directory). On POSIX systems, flock() in:
//   - $XDG_RUNTIME_DIR/freshtoken/ when XDG_RUNTIME_DIR meets the XDG rules (an absolute path to
//     a directory this user owns with mode 0700);
//   - else $XDG_STATE_HOME/freshtoken/locks/ (when XDG_STATE_HOME is absolute), else
//     $HOME/.local/state/freshtoken/locks/ (HOME from the password database when unset).
// Missing directories are created 0700. The lock's own directories (and any it created) must be
// real directories, owned by this user, with no access for group or others; every directory
// above them (symbolic links resolved) must belong to root or this user and not be writable by
// others unless sticky. A shared, guessable path such as /tmp/freshtoken-<uid> is never used.
// When no such place exists, directory() and acquire() fail with ErrorCode::storage: the caller
// must not go on as if it held the lock. The kernel drops the lock when the holder's file
// closes, including when the holder dies, so a killed process never wedges the others. Lock
// files are never deleted (deleting them would race with waiters).
//
// Processes of one account coordinate only when they pick the same directory: one with a usable
// XDG_RUNTIME_DIR and one without (a desktop app and a cron job, say) take different locks.
//
// Locks are per open file, so two ProcessLocks for the same key also exclude each other inside
// one process (a second acquire in the same thread waits and times out: do not nest).
//
// Errors: ErrorCode::storage when there is no safe directory (see above), the lock file cannot
// be opened, or the timeout elapses.
// Thread safety: a ProcessLock is a move-only value owned by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "freshtoken/error.hpp"

namespace freshtoken {

class ProcessLock {
 public:
  // Which of the account's two locks.
  enum class Kind { refresh, store };
  // "refresh" or "store", for messages.
  static const char* name(Kind kind) { return kind == Kind::store ? "store" : "refresh"; }

  // Blocks (polling every few milliseconds) until the lock is held or `timeout` elapses;
  // a timeout of zero tries once.
  static Result<ProcessLock> acquire(const std::string& service, const std::string& account,
                                     std::chrono::milliseconds timeout, Kind kind = Kind::refresh);

  // The directory the lock files live in (see above), created (0700) if missing and checked.
  static Result<std::filesystem::path> directory();

  ProcessLock(ProcessLock&& other) noexcept;
  ProcessLock& operator=(ProcessLock&& other) noexcept;
  ProcessLock(const ProcessLock&) = delete;
  ProcessLock& operator=(const ProcessLock&) = delete;
  ~ProcessLock();

  // Releases early; the destructor then does nothing.
  void release() noexcept;
  bool held() const { return file_ != kNoFile; }

 private:
  // A file descriptor on POSIX, a HANDLE on Windows.
  using NativeFile = std::intptr_t;
  static constexpr NativeFile kNoFile = -1;

  // What each platform implements (platform/<os>/process_lock.cpp), besides directory().
  static Result<NativeFile> open_file(const std::filesystem::path& path);
  // True when the lock is now held, false when another holder has it.
  static Result<bool> try_lock(NativeFile file, const std::filesystem::path& path);
  // Unlocks and closes.
  static void close_file(NativeFile file) noexcept;

  explicit ProcessLock(NativeFile file) : file_(file) {}
  NativeFile file_ = kNoFile;
};

}  // namespace freshtoken
