/// @file
/// The bundled mock authorization server: a strict OAuth 2.0 / OpenID Connect server (discovery,
/// JWKS, authorization code with PKCE, refresh with rotation and reuse detection, client
/// credentials, device authorization, revocation, introspection, userinfo, optional DPoP per
/// RFC 9449) plus two protected APIs with different audiences (RFC 8707 resource indicators):
/// /api/ on the issuer's port and /files/ on a port of its own, and a control API under /mock/. Run
/// it in-process from a test fixture, script it through the C++ methods below (or the same
/// operations over HTTP), and inspect its counters.
///
/// Thread safety: every method may be called from any thread while the server is serving; all
/// state sits behind one mutex. start()/stop() must not race each other.
/// Errors: start() throws std::runtime_error when it cannot bind or load the TLS files; control
/// methods throw std::invalid_argument for unknown users, clients, codes or scopes and for
/// faults with impossible fields.
/// start() ignores SIGPIPE process-wide unless the process already handles it (a client that
/// hangs up must not kill the process).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "freshtoken/mock_server/export.hpp"
#include "freshtoken/token_set.hpp"

namespace freshtoken::mock {

/// Whether the server takes DPoP proofs (RFC 9449) at the token endpoint and on its resources.
enum class DpopMode {
  off,      ///< DPoP headers are ignored; every token is a Bearer token (the default)
  allowed,  ///< a request with a valid proof gets a DPoP-bound token, one without a Bearer token
  required  ///< every token request needs a valid proof; only DPoP-bound tokens are issued
};

/// How a MockServer behaves; the same settings as the freshtoken-mock-server flags.
struct MockServerOptions {
  /// Address to listen on.
  std::string host = "127.0.0.1";
  int port = 0;  ///< 0 = any free port
  /// Port of the second protected API (/files/, its own origin on the same host); 0 = any free
  /// port.
  int files_port = 0;
  /// The issuer URL to announce, for a server that clients reach through a proxy or relay
  /// (every endpoint is under it); empty: the address it listens on.
  std::string issuer;
  /// Access token lifetime (expires_in).
  std::chrono::seconds access_token_ttl{3600};
  std::chrono::seconds refresh_token_ttl{30 * 24 * 3600};  ///< absolute, from the sign-in
  std::chrono::seconds refresh_idle_ttl{14 * 24 * 3600};   ///< sliding, each refresh extends it
  /// A new refresh token on each refresh; false omits it from the answer.
  bool rotation = true;
  /// How long a rotated-out refresh token is still accepted (then answered with the
  /// family's current one); after it, presenting it revokes the family.
  std::chrono::seconds reuse_grace{0};
  /// PEM certificate and private key files; both set = HTTPS.
  std::string tls_cert_file, tls_key_file;  ///< both set = HTTPS
  /// Sign-ins at /authorize redirect at once as `alice`; device codes are approved as `alice`
  /// the moment they are issued.
  bool auto_approve = false;
  /// Polling interval handed out by /device_authorization.
  std::chrono::seconds device_interval{5};
  std::chrono::seconds device_code_ttl{600};  ///< device_code / user_code lifetime
  /// How long an authorization code may be redeemed.
  std::chrono::seconds authorization_code_ttl{60};
  int threads = 96;  ///< connection threads; each keep-alive connection holds one
  /// Like providers that require it, a sign-in (authorization code, device code,
  /// issue_tokens) gets a refresh token only when OpenID Connect's `offline_access` scope was
  /// granted; false: every sign-in gets one. `offline_access` is a known scope either way.
  bool require_offline_access = false;
  /// DPoP (RFC 9449) for every client not in dpop_clients; not `off`: discovery advertises
  /// `dpop_signing_alg_values_supported: ["ES256"]`.
  DpopMode dpop = DpopMode::off;
  /// Per-client DPoP mode, by client_id, overriding `dpop` for that client's token requests.
  std::map<std::string, DpopMode> dpop_clients;
  /// The token endpoint and the protected resources each demand a nonce of their own in DPoP
  /// proofs (answering use_dpop_nonce with a DPoP-Nonce header) and rotate it.
  bool dpop_nonce = false;
};

/// The endpoint a Fault applies to; named in JSON as written here.
enum class FaultEndpoint {
  token,                 ///< POST /token
  api,                   ///< everything under /api/
  files,                 ///< everything under /files/ (the second API's own port)
  authorize,             ///< /authorize
  device_authorization,  ///< POST /device_authorization
  device,                ///< the /device verification page
  revoke,                ///< POST /revoke
  introspect,            ///< POST /introspect
  userinfo,              ///< /userinfo
  discovery,             ///< both discovery documents under /.well-known/
  jwks                   ///< GET /jwks
};

/// What a Fault does; named in JSON as written here.
enum class FaultKind {
  status,             ///< answer `status` (+ body, + Retry-After when set) instead of handling
  delay,              ///< sleep delay_ms, then handle
  drop,               ///< close the connection without answering
  truncate,           ///< handle, then send only half of the body
  not_json,           ///< answer 200 with an HTML page
  commit_then_drop,   ///< handle fully (state committed), then close without answering
  commit_then_delay,  ///< handle fully (state committed), then wait delay_ms before answering
};

/// An armed fault; the same fields as POST /mock/faults.
struct Fault {
  FaultEndpoint endpoint = FaultEndpoint::token;  ///< where it applies
  FaultKind kind = FaultKind::status;             ///< what it does
  /// For `status`: the HTTP status to answer.
  int status = 503;
  /// For `status`: a Retry-After value to send, e.g. "2"; empty sends none.
  std::string retry_after;
  /// For `status`: the body to answer with.
  std::string body;
  /// For `delay`: how long to wait before handling; for `commit_then_delay`, before answering.
  int delay_ms = 0;
  int times = 1;  ///< how many requests it applies to
};

/// Requests to the token endpoint, by grant_type (GET /mock/stats lists those above zero).
struct TokenRequestCounts {
  long authorization_code = 0;  ///< grant_type=authorization_code
  long refresh_token = 0;       ///< grant_type=refresh_token
  long client_credentials = 0;  ///< grant_type=client_credentials
  long device_code = 0;         ///< urn:ietf:params:oauth:grant-type:device_code
  long other = 0;               ///< a missing or unknown grant_type
};

/// Requests per endpoint, whatever their outcome (GET /mock/stats "endpoint_requests", every
/// field always listed): a test sees from them whether a client spoke to the authorization
/// server at all, e.g. that a launch with a valid stored token went straight to the API.
struct EndpointRequestCounts {
  long discovery = 0;             ///< both documents under /.well-known/
  long jwks = 0;                  ///< GET /jwks
  long authorize = 0;             ///< GET and POST /authorize
  long token = 0;                 ///< POST /token, any grant
  long device_authorization = 0;  ///< POST /device_authorization
  long revoke = 0;                ///< POST /revoke
  long introspect = 0;            ///< POST /introspect
  long userinfo = 0;              ///< /userinfo
  long api = 0;                   ///< everything under /api/
  long files = 0;                 ///< everything under /files/
};

/// Requests that concern one protected API (GET /mock/stats "resources", keyed by its resource
/// indicator; every API always listed).
struct ResourceCounts {
  /// POST /token requests (any grant, any outcome) asking for a token for this API: naming it as
  /// `resource`, or for /api naming no resource at all.
  long token_requests = 0;
  long refresh_requests = 0;  ///< of those, refresh_token grants
  long api_requests = 0;      ///< requests to the API itself
  long api_401 = 0;           ///< of those, refused for a missing or bad token (wrong aud too)
  long api_403 = 0;           ///< of those, refused for a missing scope
};

/// DPoP proofs refused, by reason (GET /mock/stats lists them under "dpop_rejections").
struct DpopRejectionCounts {
  long missing = 0;       ///< no DPoP header where one was required
  long malformed = 0;     ///< more than one DPoP header, not a JWS, or a claim missing
  long typ = 0;           ///< typ is not dpop+jwt
  long alg = 0;           ///< alg is not ES256 (none, symmetric and RS256 included)
  long jwk = 0;           ///< jwk is not a public P-256 key (e.g. holds "d")
  long signature = 0;     ///< the signature does not verify with the jwk
  long htm = 0;           ///< htm is not the request's method
  long htu = 0;           ///< htu is not the request's URI
  long iat = 0;           ///< iat outside 60 s in the past .. 5 s in the future
  long jti_replay = 0;    ///< jti seen before
  long ath = 0;           ///< ath missing or not the hash of the access token
  long nonce = 0;         ///< nonce missing or not a current one (use_dpop_nonce)
  long key_mismatch = 0;  ///< the proof's key is not the one the token or code is bound to
};

/// The server's counters; the same fields as GET /mock/stats (see docs/mock-server.md).
/// Requests answered by a fault are counted too.
struct MockServerStats {
  TokenRequestCounts token_requests;     ///< every request to /token, by grant_type
  long refreshes = 0;                    ///< refresh grants that succeeded
  long refresh_grace_reuses = 0;         ///< rotated-out tokens accepted within reuse_grace
  long refresh_reuse_detected = 0;       ///< rotated-out tokens that revoked their family
  long families_revoked = 0;             ///< by reuse, code replay, /revoke or the control API
  long active_families = 0;              ///< refresh token families not revoked
  long api_requests = 0;                 ///< requests under /api/
  long api_401 = 0;                      ///< of those, refused for a missing or bad token
  long api_403 = 0;                      ///< of those, refused for a missing scope
  long authorize_requests = 0;           ///< GET and POST /authorize
  long device_authorizations = 0;        ///< POST /device_authorization
  long revocations = 0;                  ///< POST /revoke
  long introspections = 0;               ///< POST /introspect
  long userinfo_requests = 0;            ///< /userinfo
  long faults_triggered = 0;             ///< requests a fault applied to
  long faults_armed = 0;                 ///< faults still waiting for requests
  long connections = 0;                  ///< TCP connections accepted
  DpopRejectionCounts dpop_rejections;   ///< DPoP proofs refused, by reason
  std::chrono::seconds clock_offset{0};  ///< the server clock's offset from the real clock
  /// Requests per endpoint.
  EndpointRequestCounts endpoint_requests;
  /// Per protected API, keyed by its resource indicator (see MockServer::resources()).
  std::map<std::string, ResourceCounts> resources;
};

/// A protected API the server serves (GET /mock/resources): its RFC 8707 resource indicator,
/// which is also the `aud` of the tokens it accepts, and the URL its endpoints sit under (the
/// same text: `GET <base_url>/me`, `<base_url>/echo`).
struct ResourceApi {
  std::string resource;  ///< "http://127.0.0.1:43121/api", "http://127.0.0.1:43122/files"
  std::string base_url;  ///< equal to resource
};

/// A successful token answer: the fields of the token endpoint's JSON.
struct IssuedTokens {
  std::string access_token;            ///< a signed JWT (RFC 9068)
  std::string token_type = "Bearer";   ///< "DPoP" for a DPoP-bound access token
  std::chrono::seconds expires_in{0};  ///< the access token's lifetime
  std::string scope;                   ///< the granted scope
  std::string refresh_token;           ///< empty when none was issued
  std::string id_token;                ///< empty when none was issued (no `openid` scope)
};

/// The mock authorization server; see mock_server.hpp and docs/mock-server.md.
class FRESHTOKEN_MOCK_SERVER_API MockServer {
 public:
  /// A server with these options; start() makes it serve.
  explicit MockServer(MockServerOptions options = {});
  ~MockServer();  ///< stops if running
  MockServer(const MockServer&) = delete;
  MockServer& operator=(const MockServer&) = delete;

  void start();  ///< binds and serves in background threads; throws std::runtime_error on failure
  void stop();   ///< closes open connections too; idempotent
  std::string issuer() const;  ///< "http://127.0.0.1:43121" (https:// with TLS)
  /// The port it listens on (the chosen one when options.port was 0).
  int port() const;
  /// The protected APIs, /api first, then /files (GET /mock/resources); empty until started.
  std::vector<ResourceApi> resources() const;
  /// The second API's base URL, "<scheme>://<host>:<files port>/files"; empty until started.
  std::string files_url() const;

  MockServerStats stats() const;  ///< the counters GET /mock/stats shows
  void reset();                   ///< forgets tokens, codes, counters, faults and the clock offset
  /// Arms a fault (POST /mock/faults).
  void arm_fault(const Fault& fault);
  /// Revokes every access token issued so far: the next API call gets 401 invalid_token.
  void revoke_access_tokens();
  /// Revokes the refresh token family of `refresh_token`, and its access tokens.
  void revoke_family(const std::string& refresh_token);
  /// Revokes everything issued to `user`.
  void revoke_user(const std::string& user);
  /// Approves a pending device code as `user` (POST /mock/device/approve).
  void approve_device(const std::string& user_code, const std::string& user = "alice");
  /// Denies a pending device code: the next poll gets access_denied.
  void deny_device(const std::string& user_code);
  void set_clock_offset(std::chrono::seconds offset);  ///< absolute offset from the real clock
  void advance_clock(std::chrono::seconds by);         ///< adds to the current offset
  /// The server clock's current offset from the real clock.
  std::chrono::seconds clock_offset() const;
  std::string jwks() const;  ///< the JSON text GET /jwks answers

  /// Test convenience: tokens as if `user` had just completed an authorization_code sign-in for
  /// `client_id` (what the token endpoint would answer; id_token when scope has openid, no
  /// refresh_token under require_offline_access without `offline_access` in scope). Not
  /// counted in token_requests. `access_token_ttl` gives this access token another lifetime
  /// than the server's (tokens refreshed from it get the server's again); from 1 s to ten years.
  IssuedTokens issue_tokens(const std::string& user = "alice",
                            const std::string& client_id = "freshtoken-demo",
                            const std::string& scope = "openid profile api",
                            std::optional<std::chrono::seconds> access_token_ttl = std::nullopt);

  /// Test convenience: issue_tokens() as the TokenSet the SDK's sign-in flows return, ready for
  /// Session::sign_in: issued_at is `received_at` (the system clock's now when empty, as a
  /// Session on the default clock would record it; pass a ManualClock's now() for a Session on
  /// that clock) and expires_at is issued_at plus the server's access_token_ttl, so the Session
  /// refreshes ahead of the expiry like after a real sign-in. Throws like issue_tokens().
  freshtoken::TokenSet sign_in(
      const std::string& user = "alice", const std::string& client_id = "freshtoken-demo",
      const std::string& scope = "openid profile api",
      std::optional<std::chrono::system_clock::time_point> received_at = std::nullopt);

  class FRESHTOKEN_MOCK_SERVER_NO_EXPORT Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace freshtoken::mock
