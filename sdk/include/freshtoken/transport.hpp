/// @file
/// Transport: the one seam under everything — send a Request, get a Response.
///
/// An HTTP status of 4xx or 5xx is a Response, not an Error; Errors are for exchanges that
/// did not complete (network, tls, timeout, cancelled). A Transport never follows redirects:
/// redirects are the HttpClient's business, because only it knows which credentials a
/// request carries.
///
/// Thread safety: send() may be called from many threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "freshtoken/error.hpp"
#include "freshtoken/export.hpp"
#include "freshtoken/http.hpp"
#include "freshtoken/logging.hpp"
#include "freshtoken/version.hpp"

namespace freshtoken {

/// Sends one HTTP request; see transport.hpp for what is an Error and what is a Response.
class FRESHTOKEN_API Transport {
 public:
  virtual ~Transport() = default;
  /// One exchange, without following redirects. Errors: network, tls, timeout, cancelled,
  /// config (a malformed URL or an unsupported scheme).
  virtual Result<Response> send(const Request& request) = 0;
};

/// Options of make_transport() (and of make_curl_transport() / make_winhttp_transport()).
struct TransportOptions {
  /// Extra CA bundle (PEM) to trust, e.g. a test CA; empty means the system's.
  /// libcurl only: the WinHTTP transport verifies against the Windows certificate store, and
  /// refuses a ca_file (every send() fails with ErrorCode::config) rather than ignore it; put
  /// a private CA in the store instead (certutil -addstore Root ca.pem, or Group Policy).
  std::string ca_file;
  /// Turning this off is for local experiments only; the SDK logs a warning when it is off.
  bool verify_tls = true;
  /// How long establishing a connection (TCP and TLS) may take.
  std::chrono::milliseconds connect_timeout{10'000};
  /// Total time per exchange when the Request does not set its own.
  std::chrono::milliseconds timeout{30'000};
  /// The User-Agent header; empty sends none.
  std::string user_agent = "freshtoken/" FRESHTOKEN_VERSION_STRING;
  /// The largest response body any exchange accepts, in bytes. A longer body, announced or
  /// streamed, ends the exchange with ErrorCode::invalid_response ("response body exceeds N
  /// bytes") as soon as it is known: memory stays bounded whatever a server sends. Raise it
  /// for an API that returns larger documents; a Request can only set a smaller limit
  /// (Request::max_response_bytes). Response headers have a fixed limit of 256 KiB.
  std::size_t max_response_bytes = std::size_t{64} * 1024 * 1024;
  /// The proxy for requests to other hosts than loopback ones. Unset: the system's setting;
  /// for libcurl that is its environment variables (http_proxy, https_proxy, ALL_PROXY and
  /// NO_PROXY, also in upper case except HTTP_PROXY), for WinHTTP the automatic proxy
  /// (Windows 8.1 and later: WPAD, PAC scripts and the user's proxy settings), else the
  /// user's static proxy from the Internet settings, else netsh winhttp's. Empty: no proxy.
  /// Otherwise the proxy's URL, e.g. "http://proxy.example:3128". Requests to a loopback host
  /// (localhost, 127.0.0.0/8, ::1) never go through a proxy.
  std::optional<std::string> proxy;
  /// Where the transport reports what the application should know (e.g. verify_tls off);
  /// may be empty.
  LogSink log;
};

/// The platform's own transport: libcurl (make_curl_transport) on Linux, WinHTTP
/// (make_winhttp_transport) on Windows. Both keep connections alive across threads, and pass
/// the same contract tests (tests/integration/transport).
FRESHTOKEN_API std::shared_ptr<Transport> make_transport(TransportOptions options = {});

#if defined(_WIN32)
/// The WinHTTP transport: one WinHTTP session whose pooled connections every thread reuses;
/// TLS through Schannel and the Windows certificate store; the system proxy settings.
FRESHTOKEN_API std::shared_ptr<Transport> make_winhttp_transport(TransportOptions options = {});
#else
/// The libcurl transport: keeps connections alive and shares them, with TLS sessions and
/// DNS, across threads.
FRESHTOKEN_API std::shared_ptr<Transport> make_curl_transport(TransportOptions options = {});
#endif

}  // namespace freshtoken
