// The platform-independent part of ProcessLock: which file, waiting, ownership.
#include "process_lock.hpp"

#include <thread>

#include "util/crypto.hpp"

namespace freshtoken {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(5);

}  // namespace

Result<ProcessLock> ProcessLock::acquire(const std::string& service, const std::string& account,
                                         std::chrono::milliseconds timeout, Kind kind) {
  auto dir = directory();
  if (!dir) return dir.error();
  // Length-prefixed, so no two (service, account) pairs share a lock. The refresh lock's key
  // starts with a digit and the store lock's with a letter, so those never meet either; the
  // refresh lock keeps the file name it had before there was a store lock, which earlier
  // versions of the SDK running beside this one still take.
  const std::string key = std::string(kind == Kind::store ? "store:" : "") +
                          std::to_string(service.size()) + ':' + service + account;
  const auto path = *dir / (util::hex(util::sha256(key)).substr(0, 32) + ".lock");

  auto file = open_file(path);
  if (!file) return file.error();
  ProcessLock lock(*file);  // closes the file on every error path below

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto locked = try_lock(lock.file_, path);
    if (!locked) return locked.error();
    if (*locked) return lock;
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error(ErrorCode::storage,
                   "timed out after " + std::to_string(timeout.count()) + " ms waiting for the " +
                       name(kind) + " lock of account " + account + " (" + path.string() + ")");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

ProcessLock::ProcessLock(ProcessLock&& other) noexcept : file_(other.file_) {
  other.file_ = kNoFile;
}

ProcessLock& ProcessLock::operator=(ProcessLock&& other) noexcept {
  if (this != &other) {
    release();
    file_ = other.file_;
    other.file_ = kNoFile;
  }
  return *this;
}

ProcessLock::~ProcessLock() { release(); }

void ProcessLock::release() noexcept {
  if (file_ == kNoFile) return;
  close_file(file_);
  file_ = kNoFile;
}

}  // namespace freshtoken
