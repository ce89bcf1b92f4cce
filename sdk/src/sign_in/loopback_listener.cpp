#include "sign_in/loopback_listener.hpp"

#include <algorithm>
#include <list>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "sign_in/loopback_socket.hpp"
#include "util/crypto.hpp"

namespace freshtoken::detail {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kOnlyTheRedirect = "This address only receives a sign-in response.";

// Best effort, bounded by `patience`: a browser that does not read its answer must not hold
// us up.
void send_all(net::Socket socket, const std::string& data,
              std::chrono::milliseconds patience = std::chrono::seconds(2)) {
  auto deadline = SteadyClock::now() + patience;
  std::size_t sent = 0;
  while (sent < data.size()) {
    auto n = net::send_some(socket, data.data() + sent, data.size() - sent);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n != net::kWouldBlock) return;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) return;
    std::vector<net::PollEntry> writable{{socket, true, false}};
    auto ready = net::wait_ready(writable, left);
    if (!ready || !*ready) return;
  }
  net::shutdown_sending(socket);
}

// One accepted connection. Its buffer may hold an authorization code and the state: it is
// sized once, so that no reallocation leaves a copy behind, and zeroed when it closes.
struct Connection {
  Connection(net::Socket accepted, SteadyClock::time_point read_deadline)
      : socket(accepted), deadline(read_deadline) {
    received.reserve(kMaxRequestHeadBytes + 1);
  }
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void close() {
    if (socket != net::kNoSocket) net::close_socket(socket);
    socket = net::kNoSocket;
    util::wipe(received);
  }
  // Answers (without waiting long for a peer that does not read) and closes.
  void refuse(const std::string& page) {
    send_all(socket, page, std::chrono::milliseconds(100));
    close();
  }

  net::Socket socket = net::kNoSocket;
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
  std::vector<net::PollEntry> polled;  // the listener, then each connection
  std::size_t unsolicited = 0;         // requests to the redirect path without this sign-in's state

  Result<Secret> run();
  std::optional<Error> stop_reason() const;
  Result<bool> poll_once();
  std::optional<Result<Secret>> serve_ready();
  std::optional<Result<Secret>> accept_new();
  std::optional<Result<Secret>> serve(Connection& c);
  std::optional<Result<Secret>> answer(Connection& c, RedirectOutcome outcome);
  void drop_closed() {
    connections.remove_if([](const Connection& c) { return c.socket == net::kNoSocket; });
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
    if (polled[0].ready) {
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

  polled.clear();
  polled.push_back({listener.listen_socket_, false, false});
  for (auto& c : connections) polled.push_back({c.socket, false, false});
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now);
  return net::wait_ready(polled, std::max(wait, std::chrono::milliseconds(1)));
}

// Reads from the connections found ready (polled[i + 1] belongs to the i-th).
std::optional<Result<Secret>> LoopbackListener::Wait::serve_ready() {
  std::size_t i = 1;
  for (auto& c : connections) {
    if (!polled[i++].ready) continue;
    if (auto done = serve(c)) return done;
  }
  drop_closed();
  return std::nullopt;
}

// Takes the waiting connections and reads each at once: a burst of connections accepted after
// the browser's must not push it out before its request is seen.
std::optional<Result<Secret>> LoopbackListener::Wait::accept_new() {
  for (;;) {
    net::Socket accepted = net::accept_connection(listener.listen_socket_);
    if (accepted == net::kNoSocket) return std::nullopt;
    if (connections.size() >= listener.options_.max_connections) connections.pop_front();
    connections.emplace_back(accepted, SteadyClock::now() + listener.options_.read_timeout);
    if (auto done = serve(connections.back())) return done;
    if (connections.back().socket == net::kNoSocket) connections.pop_back();
  }
}

// Reads what the connection has sent; a result when its request ends the sign-in.
std::optional<Result<Secret>> LoopbackListener::Wait::serve(Connection& c) {
  char buffer[2048];
  std::size_t room = kMaxRequestHeadBytes + 1 - std::min(c.received.size(), kMaxRequestHeadBytes);
  auto n = net::receive_some(c.socket, buffer, std::min(room, sizeof(buffer)));
  if (n == net::kWouldBlock) return std::nullopt;
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
      send_all(c.socket, http_page(400, "Sign-in failed", outcome.reason));
      c.close();
      return Result<Secret>(std::move(*outcome.error));
    case RedirectOutcome::Kind::accepted:
      listener.close_listener();
      listener.held_socket_ = c.socket;
      c.socket = net::kNoSocket;
      c.close();
      return Result<Secret>(std::move(outcome.code));
  }
  return std::nullopt;
}

Result<std::unique_ptr<LoopbackListener>> LoopbackListener::open(Options options) {
  std::uint16_t port = 0;
  auto socket = net::listen_on_loopback(port);
  if (!socket) return socket.error();
  return std::unique_ptr<LoopbackListener>(new LoopbackListener(*socket, port, options));
}

LoopbackListener::LoopbackListener(net::Socket socket, std::uint16_t port, Options options)
    : listen_socket_(socket), port_(port), options_(options) {}

LoopbackListener::~LoopbackListener() {
  finish(false, "The application stopped before sign-in completed.");
  close_listener();
}

std::string LoopbackListener::redirect_uri(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void LoopbackListener::close_listener() {
  if (listen_socket_ != net::kNoSocket) net::close_socket(listen_socket_);
  listen_socket_ = net::kNoSocket;
}

void LoopbackListener::finish(bool success, const std::string& reason) {
  if (held_socket_ == net::kNoSocket) return;
  std::string page =
      success ? http_page(200, "Sign-in finished",
                          "You are signed in. You can close this window and return to the "
                          "application.")
              : http_page(400, "Sign-in failed",
                          reason.empty() ? std::string("Sign-in did not complete.") : reason);
  send_all(held_socket_, page);
  net::close_socket(held_socket_);
  held_socket_ = net::kNoSocket;
}

Result<Secret> LoopbackListener::wait_for_code(const RedirectExpectation& expected,
                                               std::chrono::milliseconds timeout,
                                               const CancelToken& cancel) {
  if (listen_socket_ == net::kNoSocket) {
    return Error(ErrorCode::config, "loopback listener: already used for a sign-in");
  }
  Wait wait{*this, expected, SteadyClock::now() + timeout, cancel, {}, {}, 0};
  return wait.run();
}

}  // namespace freshtoken::detail
