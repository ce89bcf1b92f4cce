// LoopbackListener (internal): the one-shot HTTP listener that receives the authorization
// redirect on http://127.0.0.1:<ephemeral port>/callback (RFC 8252 §7.3, §8.3).
//
// Non-blocking sockets and poll() (sign_in/loopback_socket.hpp): several connections are served at
// once so that a silent or slow connection cannot wedge it, each with its own read deadline and a
// head-size limit, and a new connection is read as soon as it is accepted so that a flood of others
// cannot push it out before its request is seen. Anyone on the machine can connect, so only the
// redirect that carries the sign-in's state ends the wait (accepted, or refused by the server); any
// other request gets an error page (404, 400) and it keeps waiting until its deadline. Once
// the redirect arrived the listening socket is closed, so later requests are refused by the
// kernel.
//
// Thread safety: one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "freshtoken/error.hpp"
#include "freshtoken/http.hpp"
#include "freshtoken/secret.hpp"
#include "sign_in/loopback_request.hpp"
#include "sign_in/loopback_socket.hpp"

namespace freshtoken::detail {

class LoopbackListener {
 public:
  struct Options {
    // How long one connection may take to send its request head.
    std::chrono::milliseconds read_timeout{std::chrono::seconds(10)};
    // Connections served at once; a new one beyond this closes the oldest.
    std::size_t max_connections = 32;
  };

  // Binds 127.0.0.1 on a port the kernel picks. Errors: network.
  static Result<std::unique_ptr<LoopbackListener>> open(Options options);
  static Result<std::unique_ptr<LoopbackListener>> open() { return open(Options{}); }
  ~LoopbackListener();
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port><path>"
  std::string redirect_uri(const std::string& path = "/callback") const;

  // Waits for the redirect with the expected state. On success the browser's connection is
  // held open until finish(); on failure the browser has already been told why. Requests
  // without the state (or to another path) are answered with an error page and do not end
  // the wait. Errors: timeout (its message counts the requests refused), cancelled, network
  // (the listener broke), and evaluate_redirect's failures.
  Result<Secret> wait_for_code(const RedirectExpectation& expected,
                               std::chrono::milliseconds timeout, const CancelToken& cancel);

  // Answers the held browser connection: sign-in finished, or failed with `reason` (shown to
  // the user; must not contain a secret). Does nothing when no connection is held.
  void finish(bool success, const std::string& reason = {});

 private:
  struct Wait;  // one wait_for_code's connections and steps

  LoopbackListener(net::Socket socket, std::uint16_t port, Options options);
  void close_listener();

  net::Socket listen_socket_ = net::kNoSocket;
  std::uint16_t port_ = 0;
  Options options_;
  net::Socket held_socket_ = net::kNoSocket;
};

}  // namespace freshtoken::detail
