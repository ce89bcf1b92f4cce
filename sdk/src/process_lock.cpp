#include "process_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "util/crypto.hpp"

namespace freshtoken {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(5);

Error storage_error(const std::string& what, int err) {
  return Error(ErrorCode::storage, what + ": " + std::strerror(err));
}

// Creates `dir` 0700 if missing and checks that it is a real directory this user owns and
// nobody else can enter.
Result<void> ensure_private_directory(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return storage_error("cannot create lock directory " + dir.string(), errno);
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return storage_error("cannot stat lock directory " + dir.string(), errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Error(ErrorCode::storage, "lock directory " + dir.string() + " is not a directory");
  }
  if (st.st_uid != ::geteuid()) {
    return Error(ErrorCode::storage, "lock directory " + dir.string() + " is owned by uid " +
                                         std::to_string(st.st_uid) + ", not by this user");
  }
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0) {
    return storage_error("cannot chmod lock directory " + dir.string(), errno);
  }
  return {};
}

}  // namespace

Result<std::filesystem::path> ProcessLock::directory() {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  std::filesystem::path dir;
  if (runtime != nullptr && runtime[0] == '/') {
    dir = std::filesystem::path(runtime) / "freshtoken";
  } else {
    dir = "/tmp/freshtoken-" + std::to_string(::geteuid());
  }
  if (auto made = ensure_private_directory(dir); !made) return made.error();
  return dir;
}

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

  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return storage_error("cannot open lock file " + path.string(), errno);
  ProcessLock lock(fd);  // closes the descriptor on every error path below

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return lock;
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return storage_error("cannot lock " + path.string(), errno);
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error(ErrorCode::storage,
                   "timed out after " + std::to_string(timeout.count()) + " ms waiting for the " +
                       name(kind) + " lock of account " + account + " (" + path.string() + ")");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

ProcessLock::ProcessLock(ProcessLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

ProcessLock& ProcessLock::operator=(ProcessLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

ProcessLock::~ProcessLock() { release(); }

void ProcessLock::release() noexcept {
  if (fd_ < 0) return;
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
  fd_ = -1;
}

}  // namespace freshtoken
