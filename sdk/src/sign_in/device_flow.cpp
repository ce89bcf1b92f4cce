#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "freshtoken/sign_in.hpp"

namespace freshtoken {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A server's interval of 0 means "no minimum wait"; polling in a tight loop would still load
// it for nothing while the user types the code.
constexpr milliseconds kMinInterval = seconds(1);

bool is_transient(const Error& error) {
  if (error.code() == ErrorCode::network || error.code() == ErrorCode::timeout) return true;
  if (error.is_oauth("temporarily_unavailable")) return true;
  int status = error.http_status();
  return status == 408 || status == 429 || status >= 500;
}

Error with_oauth_of(Error error, const Error& from) {
  if (from.oauth()) error.with_oauth(*from.oauth());
  if (from.http_status() != 0) error.with_http_status(from.http_status());
  return error;
}

}  // namespace

Result<TokenSet> sign_in_with_device(const AuthorizationServer& server,
                                     const DeviceSignInOptions& options) {
  if (!options.on_code) {
    return Error(ErrorCode::config, "device sign-in needs an on_code callback to show the code");
  }
  auto metadata = server.metadata();
  if (!metadata) return metadata.error();
  if (metadata->device_authorization_endpoint.empty()) {
    return Error(ErrorCode::config, "the server metadata has no device_authorization_endpoint");
  }
  const CancelToken cancel = options.cancel;
  auto sleep = options.sleep;
  if (!sleep) {
    sleep = [cancel](milliseconds duration) {
      // Short steps so that cancel() takes effect promptly.
      auto until = std::chrono::steady_clock::now() + duration;
      while (!cancel.cancelled()) {
        auto left = until - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) return;
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(left, milliseconds(50)));
      }
    };
  }

  const auto& clock = server.clock();
  const auto called_at = clock->now();
  if (cancel.cancelled()) return Error(ErrorCode::cancelled, "device sign-in cancelled");
  auto started = server.start_device_authorization(options.scope, options.resources);
  // A new key for every sign-in: every poll proves it, and the tokens are bound to it.
  const auto dpop_key = server.new_dpop_key();
  if (!started) return started.error();
  const DeviceAuthorization& authorization = *started;
  options.on_code(authorization);

  // expires_in is required (RFC 8628 §3.2); without it, assume a generous 30 minutes.
  seconds lifetime =
      authorization.expires_in > seconds(0) ? authorization.expires_in : seconds(30 * 60);
  const auto code_expiry = clock->now() + lifetime;
  // The caller's timeout counts from the call, on the same clock as the code's expiry. Compared
  // in milliseconds: a huge timeout must not overflow the clock's finer duration.
  const bool caller_limit_first =
      options.timeout > milliseconds(0) &&
      options.timeout < std::chrono::duration_cast<milliseconds>(code_expiry - called_at);
  const auto deadline = caller_limit_first ? called_at + options.timeout : code_expiry;
  milliseconds interval = std::max(milliseconds(authorization.interval), kMinInterval);
  milliseconds next_wait = interval;

  auto code_expired = [] {
    return Error(ErrorCode::timeout, "the device code expired before the user approved it");
  };
  auto expired = [&options, caller_limit_first, &code_expired] {
    if (!caller_limit_first) return code_expired();
    return Error(ErrorCode::timeout, "the device sign-in timed out after " +
                                         std::to_string(options.timeout.count()) +
                                         " ms without the user's approval");
  };

  for (;;) {
    if (cancel.cancelled()) return Error(ErrorCode::cancelled, "device sign-in cancelled");
    // Never sleep past the code's life: a server's long Retry-After (or a large interval)
    // would otherwise keep the user waiting on a code that can no longer be approved.
    const auto left = std::chrono::ceil<milliseconds>(deadline - clock->now());
    if (left <= milliseconds(0)) return expired();
    sleep(std::min(next_wait, left));
    next_wait = interval;
    if (cancel.cancelled()) return Error(ErrorCode::cancelled, "device sign-in cancelled");
    if (clock->now() >= deadline) return expired();
    auto polled = server.poll_device_token(
        authorization.device_code, dpop_key,
        options.resources.empty() ? std::string() : options.resources.front());
    if (polled) {
      if (!polled->id_token.empty()) {
        IdTokenVerifier verifier(server, options.id_token_leeway);
        auto claims = verifier.verify(polled->id_token);
        if (!claims) return claims.error();
      }
      return polled;
    }
    const Error& error = polled.error();
    if (error.is_oauth("authorization_pending")) continue;
    if (error.is_oauth("slow_down")) {
      interval += seconds(5);  // RFC 8628 §3.5: for this and all later polls
      next_wait = interval;
      continue;
    }
    if (error.is_oauth("access_denied")) {
      return with_oauth_of(Error(ErrorCode::login_required, "the user denied the sign-in"), error);
    }
    if (error.is_oauth("expired_token")) {
      return with_oauth_of(code_expired(), error);
    }
    if (is_transient(error)) {
      // RFC 8628 §3.5: on connection trouble, poll less often.
      interval = std::min(interval * 2, std::max(interval, milliseconds(seconds(60))));
      next_wait = std::max(interval, error.retry_after().value_or(milliseconds(0)));
      continue;
    }
    return error;
  }
}

}  // namespace freshtoken
