/// @file
/// HttpClient: the wrapper applications call protected APIs through. It attaches
/// `Authorization: Bearer <token>` from a TokenSource (a Session) to each attempt, retries once
/// after a 401 that says the token is bad, follows redirects itself with the credential rules
/// below, and offers asynchronous sends so that a GUI thread never blocks on a refresh.
///
/// Rules:
/// - The caller's Request is never modified.
/// - A request that already carries its own `Authorization` header is not managed: it is sent
///   as is, no token is fetched and a 401 is returned without a retry.
/// - Which token: with HttpClientOptions::apis empty (the default) every request gets the
///   source's default token (TokenSource::access_token()). With a list, a request whose origin
///   (scheme, host, port) is listed gets TokenSource::token_for(that entry's target), and a
///   request to any other origin is not managed: it is sent without a token and its 401 is
///   returned without a retry. The origin is compared case-insensitively with the default port
///   (80 / 443) left out, so `https://API.example:443` and `https://api.example` are one origin;
///   an IPv6 literal must be written as the list writes it.
/// - A bearer token is never sent over plain http:// except to a loopback host (localhost,
///   127.0.0.0/8, ::1): such a send fails with ErrorCode::config before anything is sent.
/// - A 401 with no WWW-Authenticate, or with a Bearer challenge whose error is "invalid_token"
///   or absent, invalidates exactly the token that was sent and resends once with the token the
///   source hands out next (which may be one another thread already obtained). A second 401 is
///   returned. Other 401 challenges are returned untouched. The token invalidated and the one
///   fetched for the retry are those of the request's target. A streamed body
///   (Request::body_stream) is never resent: the token is invalidated and the 401 returned.
/// - A 403 (or 401) whose Bearer or DPoP challenge says error="insufficient_scope", answering
///   a request that carried our token, is returned as ErrorCode::insufficient_scope (not a
///   Response) with oauth() = the challenge's error, error_description, error_uri and scope
///   (what the API wants; a sign-in that asks for it is the cure) and http_status() the status.
///   Nothing is invalidated or resent. A request that carried no token of ours (its own
///   Authorization, an unlisted origin, after a cross-origin redirect) gets the Response.
/// - Redirects (301, 302, 303, 307, 308) are followed up to max_redirects; more is an
///   ErrorCode::invalid_response error. 303, and 301/302 after a POST, become a GET without a
///   body (RFC 9110 §15.4). Same origin (scheme, host, port) keeps the credentials. Another
///   origin never sees Authorization, Proxy-Authorization, Cookie or the extra
///   `sensitive_headers`: they are dropped (and no token is attached for the rest of the
///   chain, even when the new origin is listed in HttpClientOptions::apis: a token is only ever
///   sent to the origin the request was made to) or, with CrossOriginRedirects::stop, the 3xx
///   response is returned to the caller.
///   https -> http redirects fail with ErrorCode::tls. A 307/308 of a streamed body, a 3xx
///   without a usable Location (missing, or not http/https) and max_redirects = 0 return the
///   3xx response.
/// - DPoP (RFC 9449): a token the source hands out with a key (TokenSource::access_token() or
///   token_for(), a Session with DPoP-bound tokens) goes as `Authorization: DPoP <token>` with a
///   `DPoP` proof made for that exchange (method, URL without query and fragment, `ath`, the
///   origin's latest nonce): a new one for every attempt and every same-origin redirect hop;
///   another origin gets neither. A 401 with a DPoP challenge whose error is "use_dpop_nonce" and a
///   `DPoP-Nonce` header is resent once with the same token and the nonce (no invalidate(), not
///   counted as the 401 retry); a DPoP challenge with invalid_token or no error is treated like the
///   Bearer one above. Nonces are remembered per origin from every response that carries one.
/// - Request::timeout applies to each exchange; Request::cancel is checked before each one.
/// - The log sink gets one debug line per exchange ("GET https://host/path -> 200 (attempt
///   1)") and an info line per 401 retry with the token's fingerprint; never a query string,
///   userinfo, header or body.
///
/// Errors: whatever the transport returns (network, tls, timeout, cancelled), whatever the
/// TokenSource returns (e.g. login_required), config for a malformed or non-http(s) URL, a
/// refused plain-http send or a bad HttpClientOptions::apis (every request then fails), tls for
/// an https -> http redirect, invalid_response for a redirect loop, insufficient_scope as
/// above. Other HTTP 4xx/5xx statuses are Responses, not Errors.
///
/// Thread safety: all methods may be called from many threads at once. Async completions run
/// on the client's worker threads; a callback may call back into the client (but must not
/// block on another async result: it would hold a worker) and may drop the last reference to it.
/// The destructor lets exchanges already on the wire finish, completes queued work with
/// ErrorCode::cancelled without sending it, and joins the workers.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "freshtoken/error.hpp"
#include "freshtoken/export.hpp"
#include "freshtoken/http.hpp"
#include "freshtoken/logging.hpp"
#include "freshtoken/token_source.hpp"
#include "freshtoken/transport.hpp"

namespace freshtoken {

/// What HttpClient does with a redirect to another origin.
enum class CrossOriginRedirects {
  follow_without_credentials,  ///< drop credential headers, then follow
  stop,                        ///< return the 3xx response to the caller
};

/// One API an HttpClient sends tokens to: its origin and the token it takes.
struct ProtectedApi {
  /// "scheme://host[:port]", http or https, nothing after the authority but an optional "/"
  /// (no path, query, fragment or userinfo), e.g. "https://files.example.com".
  std::string origin;
  /// The token requests to that origin carry (TokenSource::token_for); {} is the default one.
  TokenTarget target;
};

/// Options of an HttpClient.
struct HttpClientOptions {
  /// Which origins get which token. Empty: every request gets the default token. Otherwise a
  /// request to a listed origin gets its entry's token and one to any other origin none. An
  /// entry that is not a bare http(s) origin, or an origin listed twice with different
  /// targets, makes every request fail with ErrorCode::config.
  std::vector<ProtectedApi> apis;
  /// Redirects followed per request; 0 returns every 3xx to the caller.
  int max_redirects = 5;
  /// Follow cross-origin redirects without credentials, or stop.
  CrossOriginRedirects cross_origin_redirects = CrossOriginRedirects::follow_without_credentials;
  /// Extra header names (e.g. "X-Api-Key") treated like Authorization on redirects.
  std::vector<std::string> sensitive_headers;
  /// Worker threads for send_async, started on first use (at least one).
  std::size_t async_threads = 2;
  /// One debug line per exchange and an info line per 401 retry; may be empty.
  LogSink log;
};

/// Sends requests with a fresh bearer token, retries once after a 401 invalid_token and
/// follows redirects safely; the rules, errors and thread safety are in http_client.hpp.
class FRESHTOKEN_API HttpClient {
 public:
  /// `tokens` may be null: the client then sends requests without a token.
  HttpClient(std::shared_ptr<Transport> transport, std::shared_ptr<TokenSource> tokens,
             HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends `request` with the token attached, following the rules of http_client.hpp. The
  /// request is read while the call lasts and never modified: when a token is attached, or on a
  /// redirect, a copy is sent.
  Result<Response> send(const Request& request);

  /// send() of a GET. `timeout` is the request's Request::timeout (for each exchange, the 401
  /// retry and each redirect included); zero means the transport's default.
  Result<Response> get(const std::string& url, Headers headers = {},
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  /// send() of a POST of `body` with that Content-Type; `timeout` as for get().
  Result<Response> post(const std::string& url, std::string body,
                        std::string content_type = "application/json", Headers headers = {},
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  /// send() of a PUT of `body` with that Content-Type; `timeout` as for get().
  Result<Response> put(const std::string& url, std::string body,
                       std::string content_type = "application/json", Headers headers = {},
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  /// send() of a PATCH of `body` with that Content-Type; `timeout` as for get().
  Result<Response> patch(const std::string& url, std::string body,
                         std::string content_type = "application/json", Headers headers = {},
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  /// send() of a DELETE; `timeout` as for get().
  Result<Response> del(const std::string& url, Headers headers = {},
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  /// Runs send() on a worker thread. Once destruction has begun, completes at once with
  /// ErrorCode::cancelled (the callback then runs on the calling thread).
  std::future<Result<Response>> send_async(Request request);
  /// Runs send() on a worker thread and passes the result to `on_done` there.
  void send_async(Request request, std::function<void(Result<Response>)> on_done);

 private:
  struct Impl;
  struct Pool;
  std::shared_ptr<Impl> impl_;
  std::shared_ptr<Pool> pool_;
};

}  // namespace freshtoken
