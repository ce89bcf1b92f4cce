/// @file
/// AuthorizationServer: everything the SDK says to an OAuth 2.0 authorization server —
/// discovery (RFC 8414 / OpenID Connect Discovery, with the issuer check), the token endpoint
/// grants (authorization_code with PKCE, refresh_token, client_credentials, device_code),
/// device authorization (RFC 8628) and revocation (RFC 7009).
///
/// Token endpoint answers are parsed into a TokenSet (RFC 6749 §5.1) or an Error:
/// - ErrorCode::token_endpoint with oauth() set for an RFC 6749 §5.2 error body (any 4xx/5xx),
///   e.g. invalid_grant, or a 503 {"error":"temporarily_unavailable"};
/// - ErrorCode::token_endpoint without oauth() for 408, 429 and 5xx with any other body (an
///   HTML error page); these are the transient ones: back off and retry;
/// - invalid_response for anything that is neither (HTML pages, truncated or mistyped JSON, a
///   200 without access_token, an unknown token_type, a 400 without an OAuth body, a 3xx);
///   its message names what was wrong and never quotes the body;
/// - config, before anything is sent, for a missing endpoint or one that is plain http to a
///   non-loopback host (only 127.0.0.1, ::1 and localhost may use http);
/// - network/tls/timeout/cancelled, as the Transport said, when the exchange did not complete.
/// Every answer's Error carries http_status(), and retry_after() when a valid Retry-After
/// (delta-seconds or HTTP-date, read against the injected clock, at most a day) came with it.
///
/// Expiry: expires_at = clock->now() at receipt + expires_in (a JSON number or numeric string).
/// No expires_in → expires_at empty; expires_in <= 0 → already expired; above ten years →
/// ten years. token_type must be "bearer" in any case and is stored as "Bearer"; to a request
/// with a DPoP proof "dpop" is accepted too, stored as "DPoP".
///
/// Discovery, eager or lazy: discover() fetches the metadata before it returns; for_issuer()
/// fetches nothing until an operation needs the metadata (a grant, device authorization,
/// revocation, metadata()), so that a program whose stored access token is still valid makes
/// no request to the authorization server at all. Either way the same checks apply (the
/// issuer, every endpoint) before any metadata is used.
///
/// Thread safety: all methods are const and may be called from many threads at once.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "freshtoken/clock.hpp"
#include "freshtoken/dpop.hpp"
#include "freshtoken/error.hpp"
#include "freshtoken/export.hpp"
#include "freshtoken/secret.hpp"
#include "freshtoken/token_set.hpp"
#include "freshtoken/transport.hpp"

namespace freshtoken {

namespace detail {
class DpopNonces;
}  // namespace detail

/// How the client authenticates at the token, device and revocation endpoints (RFC 6749
/// §2.3.1): none puts client_id in the body; client_secret_basic sends
/// `Authorization: Basic base64(form_encode(id) ":" form_encode(secret))`; client_secret_post
/// puts client_id and client_secret in the body. The two secret methods need a secret (config).
/// @see ClientConfig::auth
enum class ClientAuth { none, client_secret_basic, client_secret_post };

/// The OAuth client the application is registered as.
struct ClientConfig {
  /// The client_id registered at the authorization server.
  std::string client_id;
  Secret client_secret;  ///< empty for public clients
  /// How the client authenticates; `none` for a public (native) client, which relies on PKCE.
  ClientAuth auth = ClientAuth::none;
  /// DPoP (RFC 9449, see dpop.hpp): off (the default), when the server advertises ES256, or
  /// always. It decides whether sign-ins and client_credentials make a key, and what a Bearer
  /// answer to a DPoP request is (a fallback, or in required mode invalid_response).
  DpopMode dpop = DpopMode::off;
};

/// The parts of RFC 8414 metadata that the SDK uses. Empty strings mean "not offered".
struct ServerMetadata {
  /// The issuer identifier; discovery checks that it is exactly the URL asked for.
  std::string issuer;
  /// Where the browser sign-in starts.
  std::string authorization_endpoint;
  /// Where every grant is redeemed; always present after discovery.
  std::string token_endpoint;
  /// RFC 8628 device authorization; needed by sign_in_with_device().
  std::string device_authorization_endpoint;
  /// RFC 7009 revocation; used by Session::sign_out() when present.
  std::string revocation_endpoint;
  /// RFC 7662 introspection (not used by the SDK itself).
  std::string introspection_endpoint;
  /// OpenID Connect UserInfo endpoint.
  std::string userinfo_endpoint;
  /// The server's signing keys (JWK Set), for ID token verification.
  std::string jwks_uri;
  /// PKCE methods; the browser flow refuses a server that lists some but not S256.
  std::vector<std::string> code_challenge_methods_supported;
  /// Grant types the server says it supports (informational).
  std::vector<std::string> grant_types_supported;
  bool authorization_response_iss_parameter_supported = false;  ///< RFC 9207
  /// RFC 9449 §5.1: the JWS algorithms the server accepts in DPoP proofs (ES256 is the SDK's).
  std::vector<std::string> dpop_signing_alg_values_supported;
};

/// RFC 8628 §3.2.
/// What the device authorization endpoint answered:
struct DeviceAuthorization {
  /// The code the client polls with; never shown to the user.
  Secret device_code;
  /// The code the user enters at verification_uri.
  std::string user_code;
  /// Where the user goes to enter user_code.
  std::string verification_uri;
  std::string verification_uri_complete;  ///< may be empty
  /// How long device_code and user_code stay valid.
  std::chrono::seconds expires_in{0};
  /// The minimum wait between two polls, as the server said: 5 s when it did not say (RFC 8628
  /// §3.2), 0 when it asked for no wait (sign_in_with_device still waits 1 s between polls).
  std::chrono::seconds interval{5};
};

/// Speaks to one OAuth 2.0 authorization server on behalf of one client: discovery, the
/// token endpoint grants, device authorization and revocation. Errors and expiry rules are
/// described in authorization_server.hpp. Thread safety: all methods are const and may be
/// called from many threads at once; copies share the metadata and its discovery.
class FRESHTOKEN_API AuthorizationServer {
 public:
  /// For a server whose metadata is already known (no discovery). Each endpoint is checked
  /// when it is used (https, or http to a loopback host), as discovery would have.
  AuthorizationServer(std::shared_ptr<Transport> transport, ServerMetadata metadata,
                      ClientConfig client, std::shared_ptr<Clock> clock = system_clock());

  /// For `issuer`, discovered when first needed: nothing is sent here. The first operation
  /// that needs the metadata discovers it exactly as discover() does (the same documents, the
  /// same checks) through the per-process discovery cache that discover_cached() uses; calls
  /// that need it meanwhile wait for that one discovery and share its outcome. A failed
  /// discovery is returned by the operation that needed it and not remembered: the next
  /// operation tries again. Errors here: config for an issuer that discover() would refuse
  /// without a request (not https or http to loopback, a query or fragment), or no transport.
  static Result<std::shared_ptr<AuthorizationServer>> for_issuer(
      std::shared_ptr<Transport> transport, const std::string& issuer, ClientConfig client,
      std::shared_ptr<Clock> clock = system_clock());

  /// Fetches {issuer}/.well-known/openid-configuration, falling back (on a 4xx other than 408
  /// and 429, or a body that is not a metadata document) to RFC 8414's
  /// /.well-known/oauth-authorization-server{issuer path}. Errors: config for an issuer that
  /// is not https (or http to loopback) or has a query; invalid_response when the document's
  /// issuer is not exactly `issuer` (the message names both) or token_endpoint is missing;
  /// config when an endpoint is plain http off loopback.
  static Result<std::shared_ptr<AuthorizationServer>> discover(
      std::shared_ptr<Transport> transport, const std::string& issuer, ClientConfig client,
      std::shared_ptr<Clock> clock = system_clock());

  /// The given or discovered metadata; for a server made by for_issuer() the first call
  /// discovers it (and may fail with discover()'s errors, retried by the next call).
  Result<ServerMetadata> metadata() const;
  /// True once the metadata is known (given, or discovered): metadata() sends nothing.
  bool has_metadata() const;
  /// The client it speaks for.
  const ClientConfig& client() const { return client_; }
  /// The clock token expiry is computed with.
  const std::shared_ptr<Clock>& clock() const { return clock_; }
  /// The transport it speaks through (sign-in reuses it for the JWKS).
  const std::shared_ptr<Transport>& transport() const { return transport_; }

  /// Whether this client uses DPoP with this server: ClientConfig::dpop is required, or it is
  /// when_supported and the metadata lists ES256 in dpop_signing_alg_values_supported.
  bool uses_dpop() const;
  /// A new DPoP key when uses_dpop(), else null. The sign-in flows make theirs with it.
  std::shared_ptr<const DpopKey> new_dpop_key() const;

  /// The `dpop_key` parameters below: non-null sends a DPoP proof made with it (RFC 9449 §5),
  /// and the tokens that come back are bound to it (TokenSet::dpop_key, token_type "DPoP").
  /// A server that answers a DPoP request with token_type Bearer: in DpopMode::required an
  /// invalid_response error; otherwise Bearer tokens (dpop_key null). A 400 use_dpop_nonce
  /// with a DPoP-Nonce header is answered by one resend with a proof carrying that nonce (the
  /// server did not accept the first request, so the grant is not spent twice); the latest
  /// nonce of each server is remembered for the next request.

  /// grant_type=refresh_token. `scope` empty asks for the originally granted scope.
  /// An empty refresh_token is login_required, without a request. `dpop_key` is the key the
  /// refresh token is bound to (null for a Bearer one). `resource` (RFC 8707), when not empty,
  /// asks for a token for that API; a server that does not know it answers invalid_target
  /// (ErrorCode::token_endpoint with oauth()->error "invalid_target").
  Result<TokenSet> refresh(const Secret& refresh_token, const std::string& scope = {},
                           std::shared_ptr<const DpopKey> dpop_key = nullptr,
                           const std::string& resource = {}) const;
  /// grant_type=client_credentials. A public client (ClientAuth::none) is a config error.
  /// With uses_dpop(), a new key is made for the tokens.
  Result<TokenSet> client_credentials(const std::string& scope = {}) const;
  /// grant_type=authorization_code with the PKCE verifier; `dpop_key` is the one whose
  /// thumbprint went out as dpop_jkt on the authorization request (or null).
  /// `resource`, when not empty, is sent as the RFC 8707 `resource` parameter.
  Result<TokenSet> exchange_code(const Secret& code, const std::string& redirect_uri,
                                 const Secret& code_verifier,
                                 std::shared_ptr<const DpopKey> dpop_key = nullptr,
                                 const std::string& resource = {}) const;
  /// RFC 8628 §3.1: POSTs client_id (+ scope, + one RFC 8707 `resource` parameter per entry of
  /// `resources`). verification_url is accepted for verification_uri; a missing or negative
  /// interval means 5 s, 0 is kept.
  Result<DeviceAuthorization> start_device_authorization(
      const std::string& scope = {}, const std::vector<std::string>& resources = {}) const;
  /// One poll of RFC 8628 §3.4. authorization_pending, slow_down, access_denied and
  /// expired_token come back as ErrorCode::token_endpoint with oauth() set. `resource`, when
  /// not empty, is sent as the RFC 8707 `resource` parameter.
  Result<TokenSet> poll_device_token(const Secret& device_code,
                                     std::shared_ptr<const DpopKey> dpop_key = nullptr,
                                     const std::string& resource = {}) const;
  /// RFC 7009. `token_type_hint` is "refresh_token" or "access_token" (empty: not sent).
  /// Any 2xx is success; no revocation_endpoint is a config error. `dpop_key`: the key the
  /// token is bound to, which signs a proof for the request (or null).
  Result<void> revoke(const Secret& token, std::string_view token_type_hint,
                      std::shared_ptr<const DpopKey> dpop_key = nullptr) const;

 private:
  struct Metadata;  // the metadata once known, and the single flight that discovers it
  AuthorizationServer(std::shared_ptr<Transport> transport, std::shared_ptr<Metadata> metadata,
                      ClientConfig client, std::shared_ptr<Clock> clock);
  // The metadata, discovering it first when needed; the pointer stays valid for the life of
  // this object.
  Result<const ServerMetadata*> resolve() const;

  std::shared_ptr<Transport> transport_;
  std::shared_ptr<Metadata> metadata_;
  ClientConfig client_;
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<detail::DpopNonces> dpop_nonces_;
};

}  // namespace freshtoken
