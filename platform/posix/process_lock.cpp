// ProcessLock on POSIX systems: flock() in a private directory (see process_lock.hpp).
#include "process_lock.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace freshtoken {

namespace {

Error storage_error(const std::string& what, int err) {
  return Error(ErrorCode::storage, what + ": " + std::strerror(err));
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// What makes `st` (of `dir`) unfit to be one of the lock's own directories: it must be a real
// directory (not a symlink) that this user owns and that nobody else may enter or write; empty
// when it is fit.
std::string private_directory_problem(const struct stat& st, const std::filesystem::path& dir) {
  if (S_ISLNK(st.st_mode)) return dir.string() + " is a symbolic link";
  if (!S_ISDIR(st.st_mode)) return dir.string() + " is not a directory";
  if (st.st_uid != ::geteuid()) {
    return dir.string() + " is owned by uid " + std::to_string(st.st_uid) + ", not by this user";
  }
  if ((st.st_mode & 077) != 0) {
    return dir.string() + " is open to group or others (mode " + mode_text(st.st_mode) +
           "; expected 0700)";
  }
  return {};
}

// What makes the existing directory `dir` unfit to hold the lock's directories: no other user
// may be able to replace anything on its path. Every directory from / down to it (symbolic links
// resolved) must belong to root or to this user, and must not be writable by group or others
// unless it has the sticky bit (as /tmp does, where others cannot rename or remove what is ours).
// Empty when it is fit.
std::string trusted_path_problem(const std::filesystem::path& dir) {
  char resolved[PATH_MAX];
  if (::realpath(dir.c_str(), resolved) == nullptr) {
    return "cannot resolve " + dir.string() + ": " + std::strerror(errno);
  }
  const std::filesystem::path real(resolved);
  std::filesystem::path partial;
  for (const auto& part : real) {
    partial /= part;
    struct stat st {};
    if (::lstat(partial.c_str(), &st) != 0) {
      return "cannot stat " + partial.string() + ": " + std::strerror(errno);
    }
    if (!S_ISDIR(st.st_mode)) return partial.string() + " is not a directory";
    if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
      return partial.string() + " is owned by uid " + std::to_string(st.st_uid) +
             ", neither root nor this user";
    }
    if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0) {
      return partial.string() + " is writable by group or others (mode " + mode_text(st.st_mode) +
             ")";
    }
  }
  return {};
}

// Makes `base / below` (each part of `below` created 0700 if missing), where `base` exists.
// `base` must be a trusted path (see trusted_path_problem); each part of `below` must be
// private (see private_directory_problem), except that parts before the last `strict_tail`
// ones that already existed (say ~/.local, made by someone else's program) need only be
// trusted. An error message when that cannot be had.
std::string make_private_path(const std::filesystem::path& base,
                              const std::vector<std::string>& below, std::size_t strict_tail) {
  if (auto problem = trusted_path_problem(base); !problem.empty()) return problem;
  std::filesystem::path partial = base;
  for (std::size_t i = 0; i < below.size(); ++i) {
    partial /= below[i];
    const bool created = ::mkdir(partial.c_str(), 0700) == 0;
    if (!created && errno != EEXIST) {
      return "cannot create " + partial.string() + ": " + std::strerror(errno);
    }
    struct stat st {};
    if (::lstat(partial.c_str(), &st) != 0) {
      return "cannot stat " + partial.string() + ": " + std::strerror(errno);
    }
    if (created || i + strict_tail >= below.size()) {
      if (auto problem = private_directory_problem(st, partial); !problem.empty()) return problem;
    } else if (auto problem = trusted_path_problem(partial); !problem.empty()) {
      return problem;
    }
  }
  return {};
}

// The runtime directory, when the XDG rules for it hold: an absolute path to a directory that
// this user owns and nobody else may enter, on a trusted path. Empty otherwise, with `why` said.
std::filesystem::path runtime_directory(std::string& why) {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  if (runtime == nullptr || runtime[0] == '\0') {
    why = "XDG_RUNTIME_DIR is not set";
    return {};
  }
  if (runtime[0] != '/') {
    why = "XDG_RUNTIME_DIR is not an absolute path";
    return {};
  }
  const std::filesystem::path dir(runtime);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    why = "XDG_RUNTIME_DIR " + dir.string() + ": " + std::strerror(errno);
    return {};
  }
  if (auto problem = private_directory_problem(st, dir); !problem.empty()) {
    why = "XDG_RUNTIME_DIR " + problem;
    return {};
  }
  if (auto problem = trusted_path_problem(dir); !problem.empty()) {
    why = "XDG_RUNTIME_DIR: " + problem;
    return {};
  }
  return dir;
}

// $XDG_STATE_HOME when it is an absolute path (the XDG rule), else ~/.local/state, as the
// existing directory to start from and the parts below it; empty when there is no home.
bool state_directory(std::filesystem::path& base, std::vector<std::string>& below) {
  const char* state = std::getenv("XDG_STATE_HOME");
  if (state != nullptr && state[0] == '/') {
    // Its missing parts are created too (0700), like the ones below it.
    std::filesystem::path existing = std::filesystem::path(state).lexically_normal();
    std::vector<std::string> missing;
    struct stat st {};
    while (existing.has_relative_path() && ::lstat(existing.c_str(), &st) != 0) {
      if (!existing.filename().empty()) missing.insert(missing.begin(), existing.filename());
      existing = existing.parent_path();
    }
    base = existing;
    below = missing;
    return true;
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || home[0] != '/') {
    const struct passwd* pw = ::getpwuid(::geteuid());
    home = pw != nullptr ? pw->pw_dir : nullptr;
  }
  if (home == nullptr || home[0] != '/') return false;
  base = home;
  below = {".local", "state"};
  return true;
}

}  // namespace

Result<std::filesystem::path> ProcessLock::directory() {
  std::string no_runtime;
  if (const auto runtime = runtime_directory(no_runtime); !runtime.empty()) {
    if (auto problem = make_private_path(runtime, {"freshtoken"}, 1); !problem.empty()) {
      return Error(ErrorCode::storage, "cannot use the cross-process lock directory: " + problem);
    }
    return runtime / "freshtoken";
  }
  std::filesystem::path base;
  std::vector<std::string> below;
  if (!state_directory(base, below)) {
    return Error(ErrorCode::storage,
                 "no safe place for the cross-process lock: " + no_runtime +
                     ", and neither XDG_STATE_HOME nor a home directory is known");
  }
  below.push_back("freshtoken");
  below.push_back("locks");
  if (auto problem = make_private_path(base, below, 2); !problem.empty()) {
    return Error(ErrorCode::storage, "no safe place for the cross-process lock: " + no_runtime +
                                         ", and " + problem +
                                         " (set XDG_RUNTIME_DIR or XDG_STATE_HOME to a "
                                         "directory only this user can write)");
  }
  std::filesystem::path dir = base;
  for (const auto& part : below) dir /= part;
  return dir;
}

Result<ProcessLock::NativeFile> ProcessLock::open_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return storage_error("cannot open lock file " + path.string(), errno);
  return NativeFile{fd};
}

Result<bool> ProcessLock::try_lock(NativeFile file, const std::filesystem::path& path) {
  for (;;) {
    if (::flock(static_cast<int>(file), LOCK_EX | LOCK_NB) == 0) return true;
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return false;
    return storage_error("cannot lock " + path.string(), errno);
  }
}

void ProcessLock::close_file(NativeFile file) noexcept {
  ::flock(static_cast<int>(file), LOCK_UN);
  ::close(static_cast<int>(file));
}

}  // namespace freshtoken
