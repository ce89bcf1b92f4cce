#include "sign_in/loopback_listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "util/crypto.hpp"

namespace freshtoken::detail {

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Connection {
  int fd = -1;
  std::string received;
  SteadyClock::time_point deadline;
};

void close_connection(Connection& c) {
  if (c.fd >= 0) ::close(c.fd);
  c.fd = -1;
  // The buffer may hold an authorization code.
  util::wipe(c.received);
}

// Best effort, bounded: a browser that does not read its answer must not hold us up.
void send_all(int fd, const std::string& data) {
  auto deadline = SteadyClock::now() + std::chrono::seconds(2);
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) return;
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
      continue;
    }
    return;
  }
  ::shutdown(fd, SHUT_WR);
}

void answer_and_close(Connection& c, const std::string& response) {
  send_all(c.fd, response);
  close_connection(c);
}

struct Connections {
  std::vector<Connection> list;
  ~Connections() {
    for (auto& c : list) close_connection(c);
  }
  void drop_closed() {
    list.erase(
        std::remove_if(list.begin(), list.end(), [](const Connection& c) { return c.fd < 0; }),
        list.end());
  }
};

}  // namespace

Result<std::unique_ptr<LoopbackListener>> LoopbackListener::open(Options options) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error(ErrorCode::network,
                 std::string("loopback listener: socket() failed: ") + std::strerror(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;  // the kernel picks a free port
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    int saved = errno;
    ::close(fd);
    return Error(
        ErrorCode::network,
        std::string("loopback listener: cannot listen on 127.0.0.1: ") + std::strerror(saved));
  }
  return std::unique_ptr<LoopbackListener>(new LoopbackListener(fd, ntohs(addr.sin_port), options));
}

LoopbackListener::LoopbackListener(int fd, std::uint16_t port, Options options)
    : listen_fd_(fd), port_(port), options_(options) {}

LoopbackListener::~LoopbackListener() {
  finish(false, "The application stopped before sign-in completed.");
  close_listener();
}

std::string LoopbackListener::redirect_uri(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void LoopbackListener::close_listener() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void LoopbackListener::finish(bool success, const std::string& reason) {
  if (held_fd_ < 0) return;
  std::string page =
      success ? http_page(200, "Sign-in finished",
                          "You are signed in. You can close this window and return to the "
                          "application.")
              : http_page(400, "Sign-in failed",
                          reason.empty() ? std::string("Sign-in did not complete.") : reason);
  send_all(held_fd_, page);
  ::close(held_fd_);
  held_fd_ = -1;
}

Result<Secret> LoopbackListener::wait_for_code(const RedirectExpectation& expected,
                                               std::chrono::milliseconds timeout,
                                               const CancelToken& cancel) {
  if (listen_fd_ < 0) {
    return Error(ErrorCode::config, "loopback listener: already used for a sign-in");
  }
  const auto deadline = SteadyClock::now() + timeout;
  Connections connections;
  std::vector<pollfd> fds;

  for (;;) {
    if (cancel.cancelled()) {
      close_listener();
      return Error(ErrorCode::cancelled, "sign-in cancelled while waiting for the browser");
    }
    auto now = SteadyClock::now();
    if (now >= deadline) {
      close_listener();
      return Error(ErrorCode::timeout, "the browser did not return to the application in time");
    }
    auto wake = std::min(deadline, now + std::chrono::milliseconds(100));
    for (auto& c : connections.list) {
      if (c.deadline <= now)
        close_connection(c);  // slow or silent: give up on it
      else
        wake = std::min(wake, c.deadline);
    }
    connections.drop_closed();

    fds.clear();
    fds.push_back({listen_fd_, POLLIN, 0});
    for (auto& c : connections.list) fds.push_back({c.fd, POLLIN, 0});
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
    int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(wait_ms, 1)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      close_listener();
      return Error(ErrorCode::network,
                   std::string("loopback listener: poll failed: ") + std::strerror(errno));
    }
    if (ready == 0) continue;

    // Existing connections first (fds[i + 1] belongs to connections.list[i]).
    for (std::size_t i = 0; i < connections.list.size(); ++i) {
      auto& c = connections.list[i];
      if (fds[i + 1].revents == 0) continue;
      char buffer[2048];
      std::size_t room =
          kMaxRequestHeadBytes + 1 - std::min(c.received.size(), kMaxRequestHeadBytes);
      ssize_t n = ::recv(c.fd, buffer, std::min(room, sizeof(buffer)), 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      if (n <= 0) {
        close_connection(c);
        continue;
      }
      c.received.append(buffer, static_cast<std::size_t>(n));
      util::wipe(buffer, static_cast<std::size_t>(n));

      std::string_view line;
      switch (find_request_head(c.received, &line)) {
        case HeadStatus::incomplete:
          continue;
        case HeadStatus::too_large:
          answer_and_close(c, http_page(431, "Request too large", "The request was too large."));
          continue;
        case HeadStatus::complete:
          break;
      }
      RedirectOutcome outcome = evaluate_redirect(line, expected);
      switch (outcome.kind) {
        case RedirectOutcome::Kind::bad_request:
          answer_and_close(
              c, http_page(400, "Bad request", "This address only receives a sign-in response."));
          continue;
        case RedirectOutcome::Kind::not_found:
          answer_and_close(
              c, http_page(404, "Not found", "This address only receives a sign-in response."));
          continue;
        case RedirectOutcome::Kind::method_not_allowed:
          answer_and_close(c, http_page(405, "Method not allowed",
                                        "This address only receives a sign-in response."));
          continue;
        case RedirectOutcome::Kind::failed:
          close_listener();
          answer_and_close(c, http_page(400, "Sign-in failed", outcome.reason));
          return std::move(*outcome.error);
        case RedirectOutcome::Kind::accepted:
          close_listener();
          held_fd_ = c.fd;
          c.fd = -1;
          close_connection(c);
          return std::move(outcome.code);
      }
    }
    connections.drop_closed();

    if (fds[0].revents != 0) {
      for (;;) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;  // EAGAIN, or a connection that died on the way: keep waiting
        if (connections.list.size() >= options_.max_connections) {
          close_connection(connections.list.front());
          connections.list.erase(connections.list.begin());
        }
        connections.list.push_back(
            Connection{fd, std::string(), SteadyClock::now() + options_.read_timeout});
      }
    }
  }
}

}  // namespace freshtoken::detail
