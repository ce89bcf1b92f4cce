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
#include <list>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "util/crypto.hpp"

namespace freshtoken::detail {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kOnlyTheRedirect = "This address only receives a sign-in response.";

// Best effort, bounded by `patience`: a browser that does not read its answer must not hold
// us up.
void send_all(int fd, const std::string& data,
              std::chrono::milliseconds patience = std::chrono::seconds(2)) {
  auto deadline = SteadyClock::now() + patience;
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

// One accepted connection. Its buffer may hold an authorization code and the state: it is
// sized once, so that no reallocation leaves a copy behind, and zeroed when it closes.
struct Connection {
  Connection(int socket, SteadyClock::time_point read_deadline)
      : fd(socket), deadline(read_deadline) {
    received.reserve(kMaxRequestHeadBytes + 1);
  }
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
    util::wipe(received);
  }
  // Answers (without waiting long for a peer that does not read) and closes.
  void refuse(const std::string& page) {
    send_all(fd, page, std::chrono::milliseconds(100));
    close();
  }

  int fd = -1;
  std::string received;
  SteadyClock::time_point deadline;
};

}  // namespace

// One wait_for_code: the connections being served and the steps of the wait. A list, so that
// connections never move (a moved string could leave its bytes behind).
struct LoopbackListener::Wait {
  LoopbackListener& listener;
  const RedirectExpectation& expected;
  const SteadyClock::time_point deadline;
  const CancelToken& cancel;
  std::list<Connection> connections;
  std::vector<pollfd> fds;
  std::size_t unsolicited = 0;  // requests to the redirect path without this sign-in's state

  Result<Secret> run();
  std::optional<Error> stop_reason() const;
  Result<bool> poll_once();
  std::optional<Result<Secret>> serve_ready();
  std::optional<Result<Secret>> accept_new();
  std::optional<Result<Secret>> serve(Connection& c);
  std::optional<Result<Secret>> answer(Connection& c, RedirectOutcome outcome);
  void drop_closed() {
    connections.remove_if([](const Connection& c) { return c.fd < 0; });
  }
};

Result<Secret> LoopbackListener::Wait::run() {
  for (;;) {
    if (auto stop = stop_reason()) {
      listener.close_listener();
      return std::move(*stop);
    }
    auto ready = poll_once();
    if (!ready) {
      listener.close_listener();
      return ready.error();
    }
    if (!*ready) continue;
    if (auto done = serve_ready()) return std::move(*done);
    if (fds[0].revents != 0) {
      if (auto done = accept_new()) return std::move(*done);
    }
  }
}

// Cancellation, or the sign-in's deadline.
std::optional<Error> LoopbackListener::Wait::stop_reason() const {
  if (cancel.cancelled()) {
    return Error(ErrorCode::cancelled, "sign-in cancelled while waiting for the browser");
  }
  if (SteadyClock::now() < deadline) return std::nullopt;
  std::string message = "the browser did not return to the application in time";
  if (unsolicited > 0) {
    message += " (" + std::to_string(unsolicited) +
               " request(s) without this sign-in's state were refused)";
  }
  return Error(ErrorCode::timeout, std::move(message));
}

// Drops the connections past their read deadline, then waits for activity: true when some
// socket is ready, false to check the clock and the cancel token again (at least every 100 ms).
Result<bool> LoopbackListener::Wait::poll_once() {
  auto now = SteadyClock::now();
  auto wake = std::min(deadline, now + std::chrono::milliseconds(100));
  for (auto& c : connections) {
    if (c.deadline <= now)
      c.close();  // slow or silent: give up on it
    else
      wake = std::min(wake, c.deadline);
  }
  drop_closed();

  fds.clear();
  fds.push_back({listener.listen_fd_, POLLIN, 0});
  for (auto& c : connections) fds.push_back({c.fd, POLLIN, 0});
  auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
  int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(wait_ms, 1)));
  if (ready < 0 && errno != EINTR) {
    return Error(ErrorCode::network,
                 std::string("loopback listener: poll failed: ") + std::strerror(errno));
  }
  return ready > 0;
}

// Reads from the connections poll() found ready (fds[i + 1] belongs to the i-th).
std::optional<Result<Secret>> LoopbackListener::Wait::serve_ready() {
  std::size_t i = 1;
  for (auto& c : connections) {
    if (fds[i++].revents == 0) continue;
    if (auto done = serve(c)) return done;
  }
  drop_closed();
  return std::nullopt;
}

// Takes the waiting connections and reads each at once: a burst of connections accepted after
// the browser's must not push it out before its request is seen.
std::optional<Result<Secret>> LoopbackListener::Wait::accept_new() {
  for (;;) {
    int fd = ::accept4(listener.listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return std::nullopt;  // EAGAIN, or a connection that died on the way
    if (connections.size() >= listener.options_.max_connections) connections.pop_front();
    connections.emplace_back(fd, SteadyClock::now() + listener.options_.read_timeout);
    if (auto done = serve(connections.back())) return done;
    if (connections.back().fd < 0) connections.pop_back();
  }
}

// Reads what the connection has sent; a result when its request ends the sign-in.
std::optional<Result<Secret>> LoopbackListener::Wait::serve(Connection& c) {
  char buffer[2048];
  std::size_t room = kMaxRequestHeadBytes + 1 - std::min(c.received.size(), kMaxRequestHeadBytes);
  ssize_t n = ::recv(c.fd, buffer, std::min(room, sizeof(buffer)), 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return std::nullopt;
  if (n <= 0) {
    c.close();
    return std::nullopt;
  }
  c.received.append(buffer, static_cast<std::size_t>(n));
  util::wipe(buffer, static_cast<std::size_t>(n));

  std::string_view line;
  switch (find_request_head(c.received, &line)) {
    case HeadStatus::incomplete:
      return std::nullopt;
    case HeadStatus::too_large:
      c.refuse(http_page(431, "Request too large", "The request was too large."));
      return std::nullopt;
    case HeadStatus::complete:
      break;
  }
  return answer(c, evaluate_redirect(line, expected));
}

// Answers a whole request: an error page for one that is not the redirect (and the wait goes
// on), or the end of the sign-in.
std::optional<Result<Secret>> LoopbackListener::Wait::answer(Connection& c,
                                                             RedirectOutcome outcome) {
  switch (outcome.kind) {
    case RedirectOutcome::Kind::bad_request:
      c.refuse(http_page(400, "Bad request", kOnlyTheRedirect));
      return std::nullopt;
    case RedirectOutcome::Kind::not_found:
      c.refuse(http_page(404, "Not found", kOnlyTheRedirect));
      return std::nullopt;
    case RedirectOutcome::Kind::method_not_allowed:
      c.refuse(http_page(405, "Method not allowed", kOnlyTheRedirect));
      return std::nullopt;
    case RedirectOutcome::Kind::unsolicited:
      ++unsolicited;
      c.refuse(http_page(400, "Not this sign-in",
                         "This response does not belong to the sign-in in progress. If you "
                         "started a sign-in, finish it in the window it opened."));
      return std::nullopt;
    case RedirectOutcome::Kind::failed:
      listener.close_listener();
      send_all(c.fd, http_page(400, "Sign-in failed", outcome.reason));
      c.close();
      return Result<Secret>(std::move(*outcome.error));
    case RedirectOutcome::Kind::accepted:
      listener.close_listener();
      listener.held_fd_ = c.fd;
      c.fd = -1;
      c.close();
      return Result<Secret>(std::move(outcome.code));
  }
  return std::nullopt;
}

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
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, SOMAXCONN) != 0 ||
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
  Wait wait{*this, expected, SteadyClock::now() + timeout, cancel, {}, {}, 0};
  return wait.run();
}

}  // namespace freshtoken::detail
