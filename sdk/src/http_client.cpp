#include "freshtoken/http_client.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "dpop.hpp"
#include "url.hpp"
#include "util/encoding.hpp"
#include "www_authenticate.hpp"

namespace freshtoken {

namespace {

// The Request get(), post(), ... send: only this client ever sees it.
Request own_request(std::string method, const std::string& url, Headers headers,
                    std::chrono::milliseconds timeout) {
  Request request(std::move(method), url);
  request.headers = std::move(headers);
  request.timeout = timeout;
  return request;
}

using detail::Url;

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The server's error code goes to the log: keep it only when it looks like one.
std::string loggable_error(const std::string& error) {
  const bool plain = error.size() <= 40 && std::all_of(error.begin(), error.end(), [](char c) {
                       return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.';
                     });
  return plain ? error : "unrecognised error";
}

// Whether a 401 says the token itself is bad: no challenge at all, or a challenge of the
// token's scheme (Bearer, or DPoP for a DPoP-bound token) whose error is invalid_token or
// absent. Sets `reason` for the log.
bool token_rejected(const Headers& headers, bool dpop, std::string& reason) {
  auto values = headers.get_all("WWW-Authenticate");
  if (values.empty()) {
    reason = "no challenge";
    return true;
  }
  std::string error;
  if (dpop) {
    auto challenge = detail::find_dpop_challenge(values);
    if (!challenge) {
      reason = "no DPoP challenge";
      return false;
    }
    error = std::move(challenge->error);
  } else {
    auto bearer = detail::find_bearer_challenge(values);
    if (!bearer) {
      reason = "no Bearer challenge";
      return false;
    }
    error = std::move(bearer->error);
  }
  if (error.empty()) {
    reason = "no error attribute";
    return true;
  }
  reason = loggable_error(error);
  return error == "invalid_token";
}

// RFC 9449 §9: a resource server's 401 asking for a proof with its nonce.
bool asks_for_dpop_nonce(const Response& response) {
  if (response.status != 401) return false;
  auto challenge = detail::find_dpop_challenge(response.headers.get_all("WWW-Authenticate"));
  return challenge && challenge->error == "use_dpop_nonce";
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// RFC 6750 §3.1, RFC 9449 §7.1: the API wants more scope than the token carries. The
// challenge of the token's scheme is read, or the other scheme's when the API sent none.
// The server's text is made printable, as for every OAuthError.
std::optional<OAuthError> insufficient_scope(const Headers& headers, bool dpop) {
  auto values = headers.get_all("WWW-Authenticate");
  if (values.empty()) return std::nullopt;
  OAuthError out;
  auto read_bearer = [&] {
    auto challenge = detail::find_bearer_challenge(values);
    if (!challenge) return false;
    out = OAuthError{std::move(challenge->error), std::move(challenge->error_description),
                     std::move(challenge->error_uri), std::move(challenge->scope)};
    return true;
  };
  auto read_dpop = [&] {
    auto challenge = detail::find_dpop_challenge(values);
    if (!challenge) return false;
    out = OAuthError{std::move(challenge->error), std::move(challenge->error_description),
                     std::move(challenge->error_uri), std::move(challenge->scope)};
    return true;
  };
  const bool found = dpop ? read_dpop() || read_bearer() : read_bearer() || read_dpop();
  if (!found || out.error != "insufficient_scope") return std::nullopt;
  out.description = util::printable(out.description, 500);
  out.uri = util::printable(out.uri, 500);
  out.scope = util::printable(out.scope, 1000);
  return out;
}

// One entry of HttpClientOptions::apis, normalised once so that matching a request's origin
// needs neither an allocation nor a copy.
struct ApiOrigin {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower case; an IPv6 literal keeps its brackets
  int port = 0;        // the effective port
  TokenTarget target;

  bool matches(const detail::UrlView& url) const {
    return url.port == port && iequals(url.host, host) && iequals(url.scheme, scheme);
  }
};

// The list, normalised; or the config error that names the first unusable entry (by index and
// without userinfo or query, which may hold credentials).
Result<std::vector<ApiOrigin>> normalise_apis(const std::vector<ProtectedApi>& apis) {
  std::vector<ApiOrigin> out;
  out.reserve(apis.size());
  for (std::size_t i = 0; i < apis.size(); ++i) {
    const std::string entry = "HttpClientOptions::apis[" + std::to_string(i) + "]";
    auto url = detail::parse_url(apis[i].origin);
    if (!url) return Error(ErrorCode::config, entry + ": " + url.error().message());
    const char* problem = !url->userinfo.empty()                   ? "userinfo"
                          : !url->path.empty() && url->path != "/" ? "a path"
                          : url->has_query                         ? "a query"
                          : url->has_fragment                      ? "a fragment"
                                                                   : nullptr;
    if (problem) {
      return Error(ErrorCode::config,
                   entry + " (" + url->redacted() + ") is not a bare origin: it has " + problem);
    }
    ApiOrigin api{std::move(url->scheme), std::move(url->host), url->port, apis[i].target};
    for (const auto& earlier : out) {
      if (earlier.scheme == api.scheme && earlier.host == api.host && earlier.port == api.port &&
          earlier.target != api.target) {
        return Error(ErrorCode::config,
                     entry + " (" + url->origin() + ") is listed again with another target");
      }
    }
    out.push_back(std::move(api));
  }
  return out;
}

}  // namespace

// -------------------------------------------------------------------------------------------
// The synchronous engine; shared with queued async tasks so that they never outlive it.

struct HttpClient::Impl {
  std::shared_ptr<Transport> transport;
  std::shared_ptr<TokenSource> tokens;
  HttpClientOptions options;
  // The resource servers' DPoP nonces; used only for DPoP-bound tokens.
  std::shared_ptr<detail::DpopNonces> dpop_nonces = std::make_shared<detail::DpopNonces>();
  // options.apis, normalised; empty when the list is.
  std::vector<ApiOrigin> apis{};
  // Set when options.apis is unusable: every request fails with it.
  std::optional<Error> config_error{};

  // The target of a request to `url`'s origin; null when the list does not name it.
  const TokenTarget* target_of(const detail::UrlView& url) const {
    for (const auto& api : apis) {
      if (api.matches(url)) return &api.target;
    }
    return nullptr;
  }

  void log(LogLevel level, const std::string& message) const {
    if (!options.log) return;
    try {
      options.log(level, message);
    } catch (...) {
      // A throwing sink must not turn a response into a failure.
    }
  }

  struct Outcome {
    Result<Response> result;
    bool token_sent = false;     // our token went out on the exchange that produced `result`
    bool nonce_updated = false;  // `result` carried a new DPoP-Nonce for the token's proofs
  };

  // Every transport gets the same kind of request: the bearer in an Authorization field that
  // exists for one exchange only (see send_with_token). It goes into a request this client
  // owns: `own` is `request` itself when this client built it (get() and friends, async
  // tasks); a caller's request (send()) is copied, never modified.
  Result<Response> send(const Request& request, Request* own,
                        const std::atomic<bool>* stopping) const {
    // An exception from the application's own Transport or TokenSource is its error, not a
    // network failure; one that carries an SDK Error (Result::value()) keeps it. what() is not
    // quoted: it is the application's text, and may hold anything.
    try {
      return send_checked(request, own, stopping);
    } catch (const Exception& e) {
      return e.error();
    } catch (...) {
      return Error(ErrorCode::application,
                   "an exception escaped the application's transport or token source");
    }
  }

  Result<Response> send_checked(const Request& request, Request* own,
                                const std::atomic<bool>* stopping) const {
    if (config_error) return *config_error;
    if (!transport) return Error(ErrorCode::config, "HttpClient has no transport");
    auto url = detail::parse_url_view(request.url);
    if (!url) return url.error();
    // A caller-supplied Authorization header means the caller manages authentication.
    bool manage = tokens && !request.headers.contains("Authorization");
    // With a list, only the origins it names get a token, each its own target's.
    const TokenTarget* target = nullptr;
    if (manage && !apis.empty()) {
      target = target_of(*url);
      manage = target != nullptr;
    }
    auto fetch = [&] { return target ? tokens->token_for(*target) : tokens->access_token(); };
    if (manage && !url->https && !detail::is_loopback_host(url->host)) {
      return Error(ErrorCode::config, "refusing to send a bearer token over plain http to " +
                                          url->to_url().redacted() +
                                          " (only loopback hosts may use http)");
    }
    std::optional<AccessToken> token;
    if (manage) {
      auto t = fetch();
      if (!t) return t.error();
      token = std::move(*t);
    }
    bool nonce_retried = false;
    std::optional<Request> copy;
    if (manage && !own) own = &copy.emplace(request);
    const Request& first = own ? *own : request;
    for (int attempt = 1;; ++attempt) {
      Outcome outcome = follow(first, own, *url, token ? &*token : nullptr, attempt, stopping);
      if (!outcome.result || !outcome.token_sent) return std::move(outcome.result);
      const int status = outcome.result->status;
      if (status != 401 && status != 403) return std::move(outcome.result);
      if (auto oauth = insufficient_scope(outcome.result->headers, token->dpop_key != nullptr)) {
        // Not a bad token: the API wants a sign-in that grants more. The scope is the API's
        // word, not a secret; the token is never named.
        const std::string origin = url->to_url().origin();
        log(LogLevel::info, request.method + " " + origin + " -> " + std::to_string(status) +
                                " insufficient_scope");
        std::string message =
            origin + " needs scope \"" + util::printable(oauth->scope) + "\" (insufficient_scope)";
        return Error(ErrorCode::insufficient_scope, std::move(message))
            .with_oauth(std::move(*oauth))
            .with_http_status(status);
      }
      if (status != 401) return std::move(outcome.result);
      const std::string where = request.method + " " + url->to_url().redacted();
      if (token->dpop_key && !nonce_retried && outcome.nonce_updated &&
          asks_for_dpop_nonce(*outcome.result)) {
        // Not a rejection of the token: the same token goes again, with a proof that carries
        // the nonce the server just sent.
        nonce_retried = true;
        --attempt;
        log(LogLevel::info, where + " -> 401 use_dpop_nonce; retrying once with the nonce");
        continue;
      }
      std::string reason;
      if (!token_rejected(outcome.result->headers, token->dpop_key != nullptr, reason)) {
        return std::move(outcome.result);
      }
      if (attempt > 1) {
        // A freshly obtained token rejected again: refreshing once more would not help.
        log(LogLevel::warning, where + " -> 401 again with token " + token->token.fingerprint() +
                                   " (" + reason + "); returning it");
        return std::move(outcome.result);
      }
      tokens->invalidate(token->token);
      if (!request.body_replayable()) {
        log(LogLevel::info, where + " -> 401: token " + token->token.fingerprint() + " rejected (" +
                                reason + "); streamed body, not retried");
        return std::move(outcome.result);
      }
      log(LogLevel::info, where + " -> 401: token " + token->token.fingerprint() + " rejected (" +
                              reason + "); retrying once with a fresh token");
      auto fresh = fetch();
      if (!fresh) return fresh.error();
      token = std::move(*fresh);
    }
  }

  // Sends `writable` (owned by this client) with the token in an Authorization field that
  // exists only for the exchange: it is removed, and so wiped (Headers::remove), however the
  // exchange ends. A DPoP-bound token goes as `Authorization: DPoP <token>` with a new proof
  // for this exchange's method and URL (RFC 9449 §7.1).
  Result<Response> send_with_token(Request* writable, const AccessToken& token) const {
    const std::string_view value = token.token.reveal();
    std::string authorization;
    if (token.dpop_key) {
      auto proof =
          detail::dpop_proof(*token.dpop_key, writable->method, writable->url, &token.token,
                             dpop_nonces->get(writable->url), std::chrono::system_clock::now());
      if (!proof) return proof.error();
      writable->headers.set("DPoP", std::move(*proof));
      authorization.reserve(5 + value.size());
      authorization.append("DPoP ").append(value);
    } else {
      authorization.reserve(7 + value.size());
      authorization.append("Bearer ").append(value);
    }
    writable->headers.add("Authorization", std::move(authorization));
    struct Remove {
      Headers& headers;
      bool dpop;
      ~Remove() {
        headers.remove("Authorization");
        if (dpop) headers.remove("DPoP");
      }
    } remove{writable->headers, token.dpop_key != nullptr};
    return transport->send(*writable);
  }

  // One attempt: the request and the redirects it leads to. `original` comes back as it was;
  // a redirect works on a copy. The hop's URL is owned (copied, normalised) only once a log
  // line or a redirect needs it: most exchanges need neither.
  // `own` is `original` when this client owns it, else null.
  Outcome follow(const Request& original, Request* own, const detail::UrlView& original_url,
                 const AccessToken* token, int attempt, const std::atomic<bool>* stopping) const {
    const Request* hop = &original;
    Request* writable = own;
    std::optional<Request> redirected;
    std::optional<Url> url;
    bool credentials = true;  // still on the original origin
    for (int redirects = 0;; ++redirects) {
      if (original.cancel.cancelled() || (stopping && stopping->load())) {
        return {Error(ErrorCode::cancelled, "request cancelled"), false};
      }
      const bool token_sent = token && credentials;
      auto result = token_sent ? send_with_token(writable, *token) : transport->send(*hop);
      if (options.log) {  // built only for a sink: this is the per-request hot path
        if (!url) url = original_url.to_url();
        std::string line = hop->method + " " + url->redacted();
        line += result ? " -> " + std::to_string(result->status)
                       : " failed: " + std::string(freshtoken::to_string(result.error().code()));
        line += " (attempt " + std::to_string(attempt);
        if (redirects) line += ", redirect " + std::to_string(redirects);
        line += ")";
        log(result ? LogLevel::debug : LogLevel::warning, line);
      }
      if (!result) return {std::move(result), token_sent};
      const bool nonce_updated =
          token_sent && token->dpop_key && dpop_nonces->update(writable->url, *result);
      const int status = result->status;
      if (!is_redirect(status) || options.max_redirects <= 0)
        return {std::move(result), token_sent, nonce_updated};
      if (!url) url = original_url.to_url();
      auto location = result->headers.get("Location");
      std::optional<Url> target =
          location ? detail::resolve_reference(*url, *location) : std::nullopt;
      if (!target) return {std::move(result), token_sent};
      if (redirects >= options.max_redirects) {
        return {Error(ErrorCode::invalid_response, "too many redirects (more than " +
                                                       std::to_string(options.max_redirects) +
                                                       ") from " + original_url.to_url().redacted())
                    .with_http_status(status),
                false};
      }
      if (url->scheme == "https" && target->scheme == "http") {
        return {Error(ErrorCode::tls, "refusing a redirect from https to plain http (" +
                                          url->redacted() + " -> " + target->redacted() + ")")
                    .with_http_status(status),
                false};
      }
      const bool to_get = (status == 303 && hop->method != "HEAD") ||
                          ((status == 301 || status == 302) && hop->method == "POST");
      if (!to_get && !hop->body_replayable()) return {std::move(result), token_sent};
      Request& next = redirected ? *redirected : redirected.emplace(original);
      hop = writable = &next;
      if (!detail::same_origin(*url, *target)) {
        if (options.cross_origin_redirects == CrossOriginRedirects::stop) {
          return {std::move(result), token_sent};
        }
        credentials = false;
        for (const char* name : {"Authorization", "Proxy-Authorization", "Cookie", "Cookie2"}) {
          next.headers.remove(name);
        }
        for (const auto& name : options.sensitive_headers) next.headers.remove(name);
      }
      if (to_get) {
        next.method = "GET";
        next.body.clear();
        next.body_stream = nullptr;
        for (const char* name :
             {"Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding"}) {
          next.headers.remove(name);
        }
      }
      if (options.log)
        log(LogLevel::debug, "following " + std::to_string(status) + " to " + target->redacted() +
                                 (credentials ? "" : " without credentials"));
      url = std::move(*target);
      next.url = url->serialize();
    }
  }
};

// -------------------------------------------------------------------------------------------
// The async worker pool. Workers hold the Pool, tasks hold the Impl, so a worker never touches
// the HttpClient object itself: a callback may destroy the client from a worker thread.

struct HttpClient::Pool {
  using Task = std::function<void(bool cancelled, const std::atomic<bool>& stopping)>;

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Task> queue;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};

  static void run(const std::shared_ptr<Pool>& pool) {
    for (;;) {
      Task task;
      {
        std::unique_lock<std::mutex> lock(pool->mutex);
        pool->wake.wait(lock, [&] { return pool->stopping.load() || !pool->queue.empty(); });
        if (pool->queue.empty()) return;
        task = std::move(pool->queue.front());
        pool->queue.pop_front();
      }
      task(pool->stopping.load(), pool->stopping);
    }
  }
};

HttpClient::HttpClient(std::shared_ptr<Transport> transport, std::shared_ptr<TokenSource> tokens,
                       HttpClientOptions options)
    : impl_(std::make_shared<Impl>(
          Impl{std::move(transport), std::move(tokens), std::move(options)})),
      pool_(std::make_shared<Pool>()) {
  auto apis = normalise_apis(impl_->options.apis);
  if (apis) {
    impl_->apis = std::move(*apis);
  } else {
    impl_->config_error = apis.error();
  }
}

HttpClient::~HttpClient() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(pool_->mutex);
    pool_->stopping = true;
    threads.swap(pool_->threads);
  }
  pool_->wake.notify_all();
  for (auto& thread : threads) {
    if (thread.get_id() == std::this_thread::get_id()) {
      thread.detach();  // we are a callback on this worker; it exits on its own
    } else {
      thread.join();
    }
  }
  for (;;) {
    Pool::Task task;
    {
      std::lock_guard<std::mutex> lock(pool_->mutex);
      if (pool_->queue.empty()) break;
      task = std::move(pool_->queue.front());
      pool_->queue.pop_front();
    }
    task(true, pool_->stopping);
  }
}

Result<Response> HttpClient::send(const Request& request) {
  return impl_->send(request, nullptr, nullptr);
}

Result<Response> HttpClient::get(const std::string& url, Headers headers,
                                 std::chrono::milliseconds timeout) {
  Request request = own_request("GET", url, std::move(headers), timeout);
  return impl_->send(request, &request, nullptr);
}

namespace {
Request with_body(Request request, std::string body, std::string content_type) {
  if (!content_type.empty() && !request.headers.contains("Content-Type")) {
    request.headers.set("Content-Type", std::move(content_type));
  }
  request.body = std::move(body);
  return request;
}
}  // namespace

Result<Response> HttpClient::post(const std::string& url, std::string body,
                                  std::string content_type, Headers headers,
                                  std::chrono::milliseconds timeout) {
  Request request = with_body(own_request("POST", url, std::move(headers), timeout),
                              std::move(body), std::move(content_type));
  return impl_->send(request, &request, nullptr);
}

Result<Response> HttpClient::put(const std::string& url, std::string body, std::string content_type,
                                 Headers headers, std::chrono::milliseconds timeout) {
  Request request = with_body(own_request("PUT", url, std::move(headers), timeout), std::move(body),
                              std::move(content_type));
  return impl_->send(request, &request, nullptr);
}

Result<Response> HttpClient::patch(const std::string& url, std::string body,
                                   std::string content_type, Headers headers,
                                   std::chrono::milliseconds timeout) {
  Request request = with_body(own_request("PATCH", url, std::move(headers), timeout),
                              std::move(body), std::move(content_type));
  return impl_->send(request, &request, nullptr);
}

Result<Response> HttpClient::del(const std::string& url, Headers headers,
                                 std::chrono::milliseconds timeout) {
  Request request = own_request("DELETE", url, std::move(headers), timeout);
  return impl_->send(request, &request, nullptr);
}

std::future<Result<Response>> HttpClient::send_async(Request request) {
  auto promise = std::make_shared<std::promise<Result<Response>>>();
  auto future = promise->get_future();
  send_async(std::move(request),
             [promise](Result<Response> result) { promise->set_value(std::move(result)); });
  return future;
}

void HttpClient::send_async(Request request, std::function<void(Result<Response>)> on_done) {
  auto impl = impl_;
  Pool::Task task = [impl, request = std::move(request), on_done = std::move(on_done)](
                        bool cancelled, const std::atomic<bool>& stopping) mutable {
    Result<Response> result = cancelled ? Result<Response>(Error(ErrorCode::cancelled,
                                                                 "HttpClient destroyed before the "
                                                                 "request was sent"))
                                        : impl->send(request, &request, &stopping);
    if (!on_done) return;
    try {
      on_done(std::move(result));
    } catch (...) {
      impl->log(LogLevel::error, "an async completion callback threw; ignored");
    }
  };
  {
    std::lock_guard<std::mutex> lock(pool_->mutex);
    if (!pool_->stopping) {
      if (pool_->threads.empty()) {
        const std::size_t count = std::max<std::size_t>(1, impl_->options.async_threads);
        try {
          for (std::size_t i = 0; i < count; ++i) {
            pool_->threads.emplace_back(&Pool::run, pool_);
          }
        } catch (const std::system_error&) {
          // Fewer threads than asked for still work; none at all is handled below.
        }
      }
      if (!pool_->threads.empty()) {
        pool_->queue.push_back(std::move(task));
        task = nullptr;
      }
    }
  }
  if (task) {
    task(true, pool_->stopping);
  } else {
    pool_->wake.notify_one();
  }
}

}  // namespace freshtoken
