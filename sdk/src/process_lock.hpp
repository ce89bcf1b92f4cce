// ProcessLock: an exclusive lock for one (service, account), shared by every process of the
// user on this machine (internal). Each account has two: Session holds the refresh lock around
// "re-read store -> refresh -> save", network exchange included, and the store lock around each
// "read the store, then write it" (a sign-in, a sign-out, a refresh's save or erase), for those
// store calls alone.
//
// It is flock(LOCK_EX) on a file in $XDG_RUNTIME_DIR/freshtoken/ (else in /tmp/freshtoken-<uid>,
// created 0700 and refused when another user owns it). The kernel drops the lock when the
// holder's descriptor closes, including when the holder dies, so a killed process never wedges
// the others. Lock files are never deleted (deleting them would race with waiters).
//
// Locks are per open file, so two ProcessLocks for the same key also exclude each other inside
// one process (a second acquire in the same thread waits and times out: do not nest).
//
// Errors: ErrorCode::storage when the directory is unusable or the timeout elapses.
// Thread safety: a ProcessLock is a move-only value owned by one thread at a time.
#pragma once

#include <chrono>
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

  // The directory the lock files live in, created (0700) if missing.
  static Result<std::filesystem::path> directory();

  ProcessLock(ProcessLock&& other) noexcept;
  ProcessLock& operator=(ProcessLock&& other) noexcept;
  ProcessLock(const ProcessLock&) = delete;
  ProcessLock& operator=(const ProcessLock&) = delete;
  ~ProcessLock();

  // Releases early; the destructor then does nothing.
  void release() noexcept;
  bool held() const { return fd_ >= 0; }

 private:
  explicit ProcessLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace freshtoken
