/// @file
/// Signing a user in from a desktop application: the flows native apps are meant to use.
///
/// - sign_in_with_browser: authorization code with PKCE (RFC 7636, S256), `state` and, when
///   `openid` is requested, `nonce`, through the system browser and a loopback redirect listener
///   on 127.0.0.1 with an ephemeral port (RFC 8252 §7.3). The listener accepts exactly the one
///   expected redirect (checking `state`, and `iss` per RFC 9207) and answers the browser with a
///   small page that says whether sign-in finished. A request without this sign-in's `state`
///   (any local process can send one) or to another path gets an error page and does not end
///   the sign-in: it goes on waiting for the browser until the timeout.
/// - sign_in_with_device: the device authorization grant (RFC 8628) for machines without a
///   browser; the user code and URL are handed to a callback.
/// - IdTokenVerifier: OpenID Connect Core §3.1.3.7 validation of an ID token (RS256 / ES256
///   against the JWKS, `iss`, `aud`, `azp`, `exp`/`iat`/`nbf` with leeway, `nonce`). Both flows run
///   it on any ID token they receive.
/// - discover_cached: AuthorizationServer::discover with the metadata kept for the life of the
///   process.
///
/// Errors (all as freshtoken::Error, never an exception):
/// - timeout: the browser redirect did not arrive in time (the message counts the requests
///   refused for want of this sign-in's `state`); the device code expired (locally,
///   or the server said expired_token — then oauth() is set) or DeviceSignInOptions::timeout
///   passed.
/// - cancelled: the CancelToken was cancelled.
/// - login_required: the user or server refused (access_denied and the other authorization
///   endpoint errors about the user; oauth() is set).
/// - config: the server reported a client misconfiguration (invalid_request, invalid_scope,
///   unauthorized_client, ... with oauth() set), the metadata lacks a needed endpoint, the
///   options are impossible, or the browser could not be started.
/// - invalid_response: the redirect with this sign-in's `state` failed its `iss` check, repeated
///   a parameter or had no code, or the ID token failed validation (the message names the
///   failed check, never the token).
/// - anything AuthorizationServer returns for the token exchange or polling, and discovery's
///   errors when the server was made by AuthorizationServer::for_issuer() and had not
///   discovered its metadata yet (both flows need it before they start).
///
/// Thread safety: the functions may be called from many threads at once; each call is one
/// independent sign-in. IdTokenVerifier::verify may be called concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "freshtoken/authorization_server.hpp"
#include "freshtoken/clock.hpp"
#include "freshtoken/error.hpp"
#include "freshtoken/export.hpp"
#include "freshtoken/http.hpp"
#include "freshtoken/secret.hpp"
#include "freshtoken/token_set.hpp"
#include "freshtoken/transport.hpp"

namespace freshtoken {

// ---- Browser sign-in ------------------------------------------------------------------------

/// Options of sign_in_with_browser().
struct BrowserSignInOptions {
  /// The scope asked for, e.g. "openid profile api"; with `openid` a nonce is sent too.
  std::string scope;
  /// RFC 8707 resource indicators of the APIs the sign-in is for, each sent as a `resource`
  /// parameter of the authorization request; the code's token request asks for the first one
  /// (if any). A Session then gets the others' tokens by refreshing (Session::token(target)).
  std::vector<std::string> resources;
  /// Shows the authorization URL to the user. Empty means open_system_browser.
  std::function<Result<void>(const std::string& url)> open_browser;
  /// How long to wait for the browser to come back to the loopback listener.
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  /// Cancelling it ends the wait with ErrorCode::cancelled.
  CancelToken cancel;
  /// Additional authorization request parameters (prompt, login_hint, ...). The ones the flow
  /// sets itself (response_type, client_id, redirect_uri, scope, state, nonce, code_challenge,
  /// code_challenge_method, dpop_jkt) are refused with ErrorCode::config.
  std::vector<std::pair<std::string, std::string>> extra_params;
  /// Allowed clock skew for the ID token's exp/iat/nbf.
  std::chrono::seconds id_token_leeway{60};
};

/// Runs the whole authorization code flow and returns the tokens. When the server returns an ID
/// token it is verified (signature against metadata().jwks_uri, iss, aud, exp/iat/nbf, nonce)
/// before the tokens are returned.
FRESHTOKEN_API Result<TokenSet> sign_in_with_browser(const AuthorizationServer& server,
                                                     const BrowserSignInOptions& options);

/// Opens `url` (http or https only) with $BROWSER when it is set, else the desktop's own way
/// (xdg-open on Linux, ShellExecuteW on Windows). $BROWSER follows the common convention: a
/// list of commands separated by `:` (`;` on Windows), tried in order until one starts; each
/// a program and its arguments separated by spaces (double quotes keep a stretch together),
/// with `%s` replaced by the URL (`%%` by `%`), or else the URL appended as the last
/// argument. Started directly, no shell (on Linux with stdin and stdout on /dev/null); this
/// returns once one started and does not wait for it. Example: BROWSER="curl -sL -o /dev/null
/// %s" follows a mock server's --auto-approve redirect without a browser.
/// Errors: config when the URL is not http(s) or no candidate can be started (the message
/// names the programs tried, never their arguments).
FRESHTOKEN_API Result<void> open_system_browser(const std::string& url);

// ---- Device sign-in (RFC 8628) ---------------------------------------------------------------

/// Options of sign_in_with_device().
struct DeviceSignInOptions {
  /// The scope asked for.
  std::string scope;
  /// RFC 8707 resource indicators of the APIs the sign-in is for, each sent as a `resource`
  /// parameter of the device authorization request; the device_code token requests ask for the
  /// first one (if any).
  std::vector<std::string> resources;
  /// Shows verification_uri (or verification_uri_complete) and user_code to the user. Required.
  std::function<void(const DeviceAuthorization&)> on_code;
  /// How long to wait for the user's approval, counted from the call on the server's clock();
  /// when it passes, the sign-in ends with ErrorCode::timeout. Zero (the default) waits until
  /// the device code expires (its expires_in, usually 5 to 30 minutes). Checked between polls:
  /// a poll already on the wire ends at the transport's timeout.
  std::chrono::milliseconds timeout{0};
  /// Cancelling it stops the polling with ErrorCode::cancelled.
  CancelToken cancel;
  /// Waits between polls. Empty means: sleep, waking early when `cancel` is cancelled. Tests
  /// inject one that advances a ManualClock instead.
  std::function<void(std::chrono::milliseconds)> sleep;
  /// Allowed clock skew for the ID token's exp/iat/nbf.
  std::chrono::seconds id_token_leeway{60};
};

/// Starts device authorization, reports the code through on_code, then polls the token endpoint
/// at the server's `interval` (authorization_pending: keep polling; slow_down: interval += 5 s;
/// network errors, 429 and 5xx: back off, doubling the interval). An `interval` of 0 ("no
/// minimum") is polled once a second; a missing one every 5 s (RFC 8628 §3.2). Stops with
/// login_required on access_denied, timeout on expired_token, when expires_in passes on the
/// server's clock() or when options.timeout passes; no wait (the interval, a server's
/// Retry-After) runs past either.
FRESHTOKEN_API Result<TokenSet> sign_in_with_device(const AuthorizationServer& server,
                                                    const DeviceSignInOptions& options);

// ---- ID tokens -------------------------------------------------------------------------------

/// The verified claims of an ID token.
struct IdTokenClaims {
  /// Times are on the system clock.
  using time_point = std::chrono::system_clock::time_point;
  /// iss
  std::string issuer;
  /// sub: the user, as the issuer identifies them.
  std::string subject;
  /// aud (a single string becomes one element).
  std::vector<std::string> audience;
  std::string authorized_party;  ///< azp; empty when absent
  /// exp
  time_point expires_at{};
  /// iat
  time_point issued_at{};
  std::string json;  ///< the whole payload, for other claims (name, email, ...)
};

/// Verifies ID tokens of one issuer for one client. Keys come from the JWKS at `jwks_uri`,
/// fetched on first use and cached; a token whose `kid` is not in the cache makes it fetch the
/// JWKS once more (key rotation). Only RS256 (RSA >= 2048 bits) and ES256 (P-256) are accepted;
/// `none`, HS* and everything else are refused.
///
/// Errors: invalid_response naming the failed check; config when `jwks_uri` is empty or is
/// not https (http is allowed to a loopback host only); the transport's error when the JWKS
/// could not be fetched. Thread safety: verify() may be called from many threads at once.
class FRESHTOKEN_API IdTokenVerifier {
 public:
  /// For tokens of `issuer` addressed to `client_id`, with keys from `jwks_uri`.
  IdTokenVerifier(std::shared_ptr<Transport> transport, std::string jwks_uri, std::string issuer,
                  std::string client_id, std::shared_ptr<Clock> clock = system_clock(),
                  std::chrono::seconds leeway = std::chrono::seconds(60));
  /// For `server`'s issuer, jwks_uri, client_id, clock and transport; discovers the server's
  /// metadata first if nothing has yet (its error, if any, is what verify() then returns).
  explicit IdTokenVerifier(const AuthorizationServer& server,
                           std::chrono::seconds leeway = std::chrono::seconds(60));

  /// `expected_nonce` set: the token must carry exactly that nonce.
  Result<IdTokenClaims> verify(const Secret& id_token,
                               const std::optional<Secret>& expected_nonce = std::nullopt) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// ---- Discovery cache -------------------------------------------------------------------------

/// AuthorizationServer::discover, with the discovered metadata kept per issuer for the life of
/// the process (failures are not cached). Each call returns a new AuthorizationServer bound to
/// `transport`, `client` and `clock`. AuthorizationServer::for_issuer() shares this cache and
/// is the lazy alternative: it sends nothing until the metadata is needed.
FRESHTOKEN_API Result<std::shared_ptr<AuthorizationServer>> discover_cached(
    std::shared_ptr<Transport> transport, const std::string& issuer, ClientConfig client,
    std::shared_ptr<Clock> clock = system_clock());
/// Forgets every cached discovery document (tests; a configuration change).
FRESHTOKEN_API void clear_discovery_cache();

}  // namespace freshtoken
