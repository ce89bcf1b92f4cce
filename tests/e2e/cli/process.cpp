#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "spawn_process.hpp"

namespace freshtoken::e2e {
namespace {

using Steady = std::chrono::steady_clock;

int remaining_ms(Steady::time_point until) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Steady::now());
  return left.count() < 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 100));
}

}  // namespace

Child::Child(const std::vector<std::string>& argv, const SpawnOptions& options) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  pid_ = testing::spawn_process(
      argv, options.env, {in[0], out[1], options.capture_stderr ? err[1] : testing::kDevNull});
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  in_ = in[1];
  out_ = out[0];
  err_ = err[0];
  if (!options.capture_stderr) {
    ::close(err_);
    err_ = -1;
  }
  if (pid_ < 0) {
    for (int fd : {in_, out_, err_}) {
      if (fd >= 0) ::close(fd);
    }
    throw std::runtime_error("cannot start " + argv.at(0));
  }
}

Child::~Child() {
  stop();
  for (int fd : {in_, out_, err_}) {
    if (fd >= 0) ::close(fd);
  }
}

int Child::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    const auto until = Steady::now() + std::chrono::seconds(5);
    while (::waitpid(pid_, &status_, WNOHANG) == 0) {
      if (Steady::now() > until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

bool Child::pump(Steady::time_point until) {
  pollfd fds[2];
  int n = 0;
  for (int fd : {out_, err_}) {
    if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
  }
  if (n == 0) return false;
  if (::poll(fds, static_cast<nfds_t>(n), remaining_ms(until)) <= 0) return true;
  for (int i = 0; i < n; ++i) {
    if (fds[i].revents == 0) continue;
    char buffer[4096];
    const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
    const bool is_out = fds[i].fd == out_;
    if (got > 0) {
      (is_out ? out_text_ : err_text_).append(buffer, static_cast<std::size_t>(got));
    } else {
      ::close(fds[i].fd);
      (is_out ? out_ : err_) = -1;
    }
  }
  return true;
}

std::string Child::read_until(int stream, std::string_view marker,
                              std::chrono::milliseconds deadline) {
  const auto until = Steady::now() + deadline;
  const std::string& text = stream == 1 ? out_text_ : err_text_;
  while (text.find(marker) == std::string::npos) {
    if (Steady::now() >= until || !pump(until)) return {};
    if ((stream == 1 ? out_ : err_) < 0 && text.find(marker) == std::string::npos) return {};
  }
  return text;
}

Output Child::finish(const std::string& input, std::chrono::milliseconds deadline) {
  if (in_ >= 0) {
    // The inputs here are small; a child that does not read stdin must not block us.
    if (!input.empty()) {
      const int flags = ::fcntl(in_, F_GETFL);
      ::fcntl(in_, F_SETFL, flags | O_NONBLOCK);
      [[maybe_unused]] ssize_t written = ::write(in_, input.data(), input.size());
    }
    ::close(in_);
    in_ = -1;
  }
  const auto until = Steady::now() + deadline;
  while ((out_ >= 0 || err_ >= 0) && Steady::now() < until) pump(until);
  Output result;
  if (out_ >= 0 || err_ >= 0) {
    ::kill(pid_, SIGKILL);  // the deadline passed
  }
  ::waitpid(pid_, &status_, 0);
  pid_ = -1;
  result.exit_code = WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  result.out = out_text_;
  result.err = err_text_;
  return result;
}

Output run(const std::vector<std::string>& argv, const SpawnOptions& options,
           const std::string& input) {
  Child child(argv, options);
  return child.finish(input);
}

}  // namespace freshtoken::e2e
