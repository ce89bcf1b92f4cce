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

/// Options of make_curl_transport().
struct TransportOptions {
  /// Extra CA bundle (PEM) to trust, e.g. a test CA; empty means the system's.
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
  /// The proxy for requests to other hosts than loopback ones. Unset: libcurl's environment
  /// variables (http_proxy, https_proxy, ALL_PROXY and NO_PROXY, also in upper case except
  /// HTTP_PROXY). Empty: no proxy. Otherwise the proxy's URL, e.g. "http://proxy.example:3128".
  /// Requests to a loopback host (localhost, 127.0.0.0/8, ::1) never go through a proxy.
  std::optional<std::string> proxy;
  /// Where the transport reports what the application should know (e.g. verify_tls off);
  /// may be empty.
  LogSink log;
};

/// The libcurl transport: keeps connections alive and shares them, with TLS sessions and
/// DNS, across threads.
FRESHTOKEN_API std::shared_ptr<Transport> make_curl_transport(TransportOptions options = {});

}  // namespace freshtoken
