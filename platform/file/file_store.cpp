// The file store: one 0600 file per (service, account) in a 0700 directory.
#include "freshtoken/platform/secret_stores.hpp"

#if defined(_WIN32)

#include <string>
#include <utility>

// Windows: refused. Its protection is POSIX ownership and modes; the Windows equivalent (a
// protected DACL naming only this user, checked on every read) is not written yet, and a file
// whose access nobody checked must not hold a secret. docs/secret-stores.md says what it needs.
namespace freshtoken {

namespace {

class UnavailableFileStore final : public SecretStore {
 public:
  explicit UnavailableFileStore(std::filesystem::path directory) : dir_(std::move(directory)) {}
  Result<Secret> load(const std::string&, const std::string&) override { return refused(); }
  Result<void> save(const std::string&, const std::string&, const Secret&) override {
    return refused();
  }
  Result<void> erase(const std::string&, const std::string&) override { return refused(); }
  std::string describe() const override {
    return "file:" + dir_.string() + " (not available on Windows)";
  }

 private:
  static Error refused() {
    return Error(ErrorCode::config, "the file store is not available on Windows");
  }
  const std::filesystem::path dir_;
};

}  // namespace

std::shared_ptr<SecretStore> make_file_store(std::filesystem::path directory) {
  return std::make_shared<UnavailableFileStore>(std::move(directory));
}

}  // namespace freshtoken

#else

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include "util/crypto.hpp"

namespace freshtoken {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// A save writes "<entry file>.tmp.<16 lowercase hex digits>" and renames it over the entry.
constexpr const char* kTemporaryInfix = ".tmp.";
constexpr std::size_t kTemporaryRandomBytes = 8;

// Whether `name` is one of the temporary files a save of the entry file `entry` makes, exactly.
bool is_temporary_of(const std::string& name, const std::string& entry) {
  const std::string prefix = entry + kTemporaryInfix;
  if (name.size() != prefix.size() + 2 * kTemporaryRandomBytes) return false;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  for (std::size_t i = prefix.size(); i < name.size(); ++i) {
    const char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and reports the close error (a late write error may surface here).
  int close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// Checks that `st` (of `what`) belongs to us and is private; empty when it is.
std::string privacy_problem(const struct stat& st, const std::string& what) {
  if (st.st_uid != ::geteuid()) {
    return what + " is owned by uid " + std::to_string(st.st_uid) + ", not by this user";
  }
  if ((st.st_mode & 077) != 0) {
    return what + " is accessible by group or others (mode " + mode_text(st.st_mode) +
           "); expected " + (S_ISDIR(st.st_mode) ? "0700" : "0600");
  }
  return {};
}

class FileStore final : public SecretStore {
 public:
  explicit FileStore(std::filesystem::path directory) : dir_(std::move(directory)) {}

  Result<Secret> load(const std::string& service, const std::string& account) override {
    if (auto checked = check_directory(/*create=*/false); !checked) {
      if (checked.error().code() == ErrorCode::not_found) {
        return Error(ErrorCode::not_found, "no secret stored for " + account);
      }
      return checked.error();
    }
    const auto path = file_for(service, account);
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) {
      int err = errno;
      if (err == ENOENT) return Error(ErrorCode::not_found, "no secret stored for " + account);
      return Error(ErrorCode::storage, "cannot open " + path.string() + ": " + errno_text(err));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
      return Error(ErrorCode::storage, "cannot stat " + path.string() + ": " + errno_text(errno));
    }
    if (!S_ISREG(st.st_mode)) {
      return Error(ErrorCode::storage, path.string() + " is not a regular file");
    }
    if (auto problem = privacy_problem(st, path.string()); !problem.empty()) {
      return Error(ErrorCode::storage, "refusing to read a secret: " + problem);
    }
    // Read into a buffer sized once, so no reallocation leaves an unwiped copy behind.
    std::string value(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < value.size()) {
      ssize_t n = ::read(fd.get(), value.data() + got, value.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        util::wipe(value);
        return Error(ErrorCode::storage, "cannot read " + path.string() + ": " + errno_text(err));
      }
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    // Files are only ever replaced by rename, never rewritten in place, so the size we saw
    // is the size of the value.
    value.resize(got);
    return Secret(std::move(value));
  }

  Result<void> save(const std::string& service, const std::string& account,
                    const Secret& secret) override {
    if (auto checked = check_directory(/*create=*/true); !checked) return checked.error();
    const auto path = file_for(service, account);
    auto tmp = path;
    tmp += kTemporaryInfix + util::hex(util::random_bytes(kTemporaryRandomBytes));

    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
      return Error(ErrorCode::storage, "cannot create " + tmp.string() + ": " + errno_text(errno));
    }
    auto fail = [&](const std::string& what, int err) -> Result<void> {
      ::unlink(tmp.c_str());
      return Error(ErrorCode::storage, what + " " + tmp.string() + ": " + errno_text(err));
    };
    // Locked until it is renamed, and before anything is written to it: a temporary file with
    // content that nobody holds locked is a dead save's leftover (see remove_leftovers).
    if (::flock(fd.get(), LOCK_EX) != 0) return fail("cannot lock", errno);
    if (::fchmod(fd.get(), 0600) != 0) return fail("cannot chmod", errno);
    const auto value = secret.reveal();
    std::size_t done = 0;
    while (done < value.size()) {
      ssize_t n = ::write(fd.get(), value.data() + done, value.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail("cannot write", errno);
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) return fail("cannot fsync", errno);
    // Renamed while still open, so still locked: until it has its final name no clean-up may
    // take it for a leftover.
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename", errno);
    if (fd.close() != 0) {
      return Error(ErrorCode::storage, "cannot close " + path.string() + ": " + errno_text(errno));
    }
    if (auto synced = sync_directory(); !synced) return synced;
    // Best effort: the save itself has succeeded, and the next save or erase tries again.
    (void)remove_leftovers(path);
    return {};
  }

  Result<void> erase(const std::string& service, const std::string& account) override {
    if (auto checked = check_directory(/*create=*/false); !checked) {
      if (checked.error().code() == ErrorCode::not_found) return {};
      return checked.error();
    }
    const auto path = file_for(service, account);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Error(ErrorCode::storage, "cannot remove " + path.string() + ": " + errno_text(errno));
    }
    // A leftover holds a secret too, even when the entry itself was never saved.
    if (auto removed = remove_leftovers(path); !removed) return removed;
    return sync_directory();
  }

  std::string describe() const override { return "file:" + dir_.string(); }

 private:
  std::filesystem::path file_for(const std::string& service, const std::string& account) const {
    // Length-prefixed, so no two (service, account) pairs share a file.
    return dir_ / util::hex(util::sha256(std::to_string(service.size()) + ':' + service + account));
  }

  // Removes what saves of the entry `path` left behind when their process died between writing
  // a temporary file and renaming it: each holds a secret, and would outlive a sign-out. Only
  // regular files named exactly as save() names this entry's, and only those with content that
  // no live save holds locked (an empty one may be a save's that has not locked it yet, and
  // holds no secret). Errors: the first file that could not be removed.
  Result<void> remove_leftovers(const std::filesystem::path& path) const {
    const std::string entry = path.filename().string();
    std::error_code listing_error;
    std::filesystem::directory_iterator it(dir_, listing_error);
    if (listing_error) {
      return Error(ErrorCode::storage,
                   "cannot list " + dir_.string() + ": " + listing_error.message());
    }
    Result<void> outcome;
    for (; it != std::filesystem::directory_iterator(); it.increment(listing_error)) {
      const std::string name = it->path().filename().string();
      if (!is_temporary_of(name, entry)) continue;
      const auto leftover = dir_ / name;
      Fd fd(::open(leftover.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
      struct stat st {};
      if (fd.get() < 0 || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // a save's
      if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) continue;
      if (::unlink(leftover.c_str()) != 0 && errno != ENOENT && outcome) {
        outcome = Error(ErrorCode::storage, "cannot remove the leftover " + leftover.string() +
                                                ": " + errno_text(errno));
      }
    }
    if (listing_error && outcome) {
      outcome = Error(ErrorCode::storage,
                      "cannot list " + dir_.string() + ": " + listing_error.message());
    }
    return outcome;
  }

  // The directory must be ours and private. Missing: created 0700 (parents too) when
  // `create`, else not_found.
  Result<void> check_directory(bool create) const {
    struct stat st {};
    if (::lstat(dir_.c_str(), &st) != 0) {
      int err = errno;
      if (err != ENOENT) {
        return Error(ErrorCode::storage, "cannot stat " + dir_.string() + ": " + errno_text(err));
      }
      if (!create) return Error(ErrorCode::not_found, dir_.string() + " does not exist");
      if (auto made = make_directories(); !made) return made;
      if (::lstat(dir_.c_str(), &st) != 0) {
        return Error(ErrorCode::storage, "cannot stat " + dir_.string() + ": " + errno_text(errno));
      }
    }
    if (!S_ISDIR(st.st_mode)) {
      return Error(ErrorCode::storage, dir_.string() + " is not a directory");
    }
    if (auto problem = privacy_problem(st, dir_.string()); !problem.empty()) {
      return Error(ErrorCode::storage, "refusing to use the secret directory: " + problem);
    }
    return {};
  }

  Result<void> make_directories() const {
    std::filesystem::path partial;
    for (const auto& part : dir_) {
      partial /= part;
      if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
        return Error(ErrorCode::storage,
                     "cannot create " + partial.string() + ": " + errno_text(errno));
      }
    }
    // mkdir honours the umask, which can only remove bits; set 0700 exactly.
    if (::chmod(dir_.c_str(), 0700) != 0) {
      return Error(ErrorCode::storage, "cannot chmod " + dir_.string() + ": " + errno_text(errno));
    }
    return {};
  }

  // Makes the rename (or unlink) itself durable.
  Result<void> sync_directory() const {
    Fd dir(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0 || ::fsync(dir.get()) != 0) {
      return Error(ErrorCode::storage, "cannot fsync " + dir_.string() + ": " + errno_text(errno));
    }
    return {};
  }

  const std::filesystem::path dir_;
};

}  // namespace

std::shared_ptr<SecretStore> make_file_store(std::filesystem::path directory) {
  return std::make_shared<FileStore>(std::move(directory));
}

}  // namespace freshtoken

#endif  // _WIN32
