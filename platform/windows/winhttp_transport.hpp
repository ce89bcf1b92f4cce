// WinHttpTransport: the WinHTTP implementation of Transport on Windows (private to the SDK; the
// public entry points are make_winhttp_transport() and make_transport()).
//
// Connection reuse: one WinHTTP session per transport, and one connection handle per
// (host, port) shared by every thread; WinHTTP keeps the sockets of a session alive and hands
// an idle one to the next request for the same server, whichever thread sends it.
//
// Each exchange runs in WinHTTP's asynchronous mode, and send() waits for its steps while it
// looks at the Request's CancelToken and the exchange's deadline every few milliseconds: a
// synchronous WinHTTP call cannot be interrupted (closing its handle from another thread races
// with the call, and Wine does not abort a blocked read that way). A cancelled or late exchange
// closes its request handle on the sending thread and returns at once; what WinHTTP still holds
// for it is freed when WinHTTP reports the handle closed.
//
// Thread safety: send() may be called from many threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

#include "freshtoken/transport.hpp"

namespace freshtoken::detail {

class WinHttpTransport final : public Transport {
 public:
  explicit WinHttpTransport(TransportOptions options);
  ~WinHttpTransport() override;
  WinHttpTransport(const WinHttpTransport&) = delete;
  WinHttpTransport& operator=(const WinHttpTransport&) = delete;

  Result<Response> send(const Request& request) override;

  // How many exchanges reached the network (completed or not).
  std::uint64_t exchanges() const { return exchanges_.load(); }

 private:
  // The connection handle (HINTERNET) for a server, made on first use and kept for the
  // transport's life; loopback servers get theirs from the session that never uses a proxy.
  Result<void*> connection_for(const std::wstring& host, int port, bool loopback);

  const TransportOptions options_;
  std::optional<Error> init_error_;
  // "User-Agent: ..." as a request header line, empty for none.
  std::wstring user_agent_line_;
  // HINTERNETs (winhttp.h stays out of this header): the session for every host but loopback
  // ones, with the proxy the options ask for, and the one for loopback hosts, without a proxy
  // (a loopback host is where a token may travel over plain http, which a proxy would see).
  void* session_ = nullptr;
  void* direct_session_ = nullptr;
  std::mutex connections_mutex_;
  // (loopback, host, port) -> HINTERNET
  std::map<std::tuple<bool, std::wstring, int>, void*> connections_;
  std::atomic<std::uint64_t> exchanges_{0};
};

}  // namespace freshtoken::detail
