// The mock server's state (internal): authorization codes, refresh token families, access
// tokens, device grants, armed faults, counters and the clock offset, with the OAuth rules
// that change them (code redemption, rotation and reuse detection, device polling,
// revocation). No HTTP here: the endpoints parse requests, call this and render its answers,
// and tests can drive it directly.
// Thread safety: every method may be called from any thread; all state sits behind one mutex.
// Errors: a refused grant is an OAuthError in the Outcome; the control operations (arm_fault,
// approve_device, revoke_family, issue_tokens, ...) throw std::invalid_argument for unknown
// users, clients, codes, scopes or bad fault fields.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dpop.hpp"
#include "freshtoken/mock_server.hpp"

namespace freshtoken::mock::detail {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

// An RFC 6749 §5.2 error: the endpoint answers it as JSON with this HTTP status.
struct OAuthError {
  int status = 400;
  std::string error;
  std::string description;
};

// A value or the OAuthError that refused it.
template <class T>
class Outcome {
 public:
  Outcome(T value) : value_(std::move(value)) {}           // NOLINT(google-explicit-constructor)
  Outcome(OAuthError error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  explicit operator bool() const { return value_.has_value(); }
  const T& value() const { return *value_; }
  const OAuthError& error() const { return error_; }

 private:
  std::optional<T> value_;
  OAuthError error_;
};

// What /authorize grants once the user has signed in; becomes an authorization code.
struct CodeGrant {
  std::string client_id, redirect_uri, challenge, user, scope, nonce;
  std::string dpop_jkt = {};  // RFC 9449 §10: the key the code's redemption must prove; empty: any
  // RFC 8707 §2.1: the resources the authorization named; its token requests may only ask for
  // these. Empty: any known one.
  std::vector<std::string> resources = {};
};

// The protected APIs, by index into MockState's per-API tables.
enum class ApiId { api = 0, files = 1 };
inline constexpr int kApiCount = 2;

// Where an API lives: its resource indicator (the `aud` of its tokens, also its base URL), the
// origin a DPoP proof's htu names, and the path prefix of its routes.
struct ApiLocation {
  std::string resource, origin, path;
};

// Which server a DPoP nonce belongs to: each demands its own (RFC 9449 §8, §9).
enum class DpopServer { authorization, resource };

// The two codes of a started device authorization (RFC 8628 §3.2).
struct DeviceCodes {
  std::string device_code, user_code;
};

class MockState {
 public:
  explicit MockState(MockServerOptions options);

  const MockServerOptions& options() const { return options_; }
  void set_issuer(std::string issuer);
  std::string issuer() const;
  // Where access tokens are valid: "<issuer>/api".
  std::string api_audience() const;
  // The second API's origin, "<scheme>://<host>:<port>", set once it is bound.
  void set_files_origin(std::string origin);
  ApiLocation api_location(ApiId api) const;
  // The API whose resource indicator is `resource` exactly; nullopt for any other text.
  std::optional<ApiId> find_api(const std::string& resource) const;

  void set_clock_offset(std::chrono::seconds offset);
  void advance_clock(std::chrono::seconds by);
  std::chrono::seconds clock_offset() const;
  // The server's now: the real clock plus the offset.
  TimePoint now() const;

  // Counts a request to `endpoint` (`grant_type` for the token endpoint: any value, unknown
  // ones count as other) and takes the first fault armed for it.
  std::optional<Fault> begin_request(FaultEndpoint endpoint, const std::string& grant_type);
  // Counts a request to `api` refused with 401 or 403.
  void count_api_refusal(ApiId api, int status);
  // Counts a /token request asking for a token for `api`.
  void count_resource_token_request(ApiId api, bool refresh);
  // The counter the connection pool adds accepted connections to.
  std::atomic<long>& connection_counter() { return connections_; }
  MockServerStats stats() const;
  // Forgets tokens, codes, counters, faults and the clock offset.
  void reset();
  void arm_fault(const Fault& fault);

  // DPoP: counts a refused proof; remembers a proof's jti, false when it was seen before
  // within the iat window; the current nonce of `server` (rotated as it ages) and whether
  // `nonce` is still accepted by it.
  void count_dpop_rejection(DpopReject reason);
  bool remember_dpop_jti(const std::string& jkt, const std::string& jti, TimePoint iat);
  std::string dpop_nonce(DpopServer server);
  bool dpop_nonce_valid(DpopServer server, const std::string& nonce);

  // In the grants below, `jkt` is the thumbprint of the key of the request's valid DPoP proof
  // (empty: none): the access token is bound to it (cnf.jkt, token_type DPoP), and so is a new
  // refresh token family of a public client. A family bound to a key refreshes only with a
  // proof of that key; without one, or with another, it is invalid_grant and nothing changes.

  // Authorization code grant: a new code for `grant`, and its redemption.
  std::string issue_code(CodeGrant grant);
  // `resource` (RFC 8707), already known to be one of the APIs' (empty: none), is the access
  // token's `aud` (none: /api's); a grant whose authorization named resources may only ask for
  // one of those (invalid_target, nothing changed).
  Outcome<IssuedTokens> redeem_code(const std::string& client_id, const std::string& code,
                                    const std::string& redirect_uri, const std::string& verifier,
                                    const std::string& jkt = {}, const std::string& resource = {});
  // Refresh grant; `scope` may narrow what the family was granted, never widen it.
  Outcome<IssuedTokens> refresh(const std::string& client_id, const std::string& refresh_token,
                                const std::optional<std::string>& scope,
                                const std::string& jkt = {}, const std::string& resource = {});
  // Client credentials grant for an already validated scope.
  IssuedTokens client_credentials(const std::string& client_id, const std::string& scope,
                                  const std::string& jkt = {}, const std::string& resource = {});

  // Device authorization grant; `resources` as CodeGrant's.
  DeviceCodes start_device(const std::string& client_id, const std::string& scope,
                           std::vector<std::string> resources = {});
  Outcome<IssuedTokens> poll_device(const std::string& client_id, const std::string& device_code,
                                    const std::string& jkt = {}, const std::string& resource = {});
  void approve_device(const std::string& user_code, const std::string& user);
  void deny_device(const std::string& user_code);

  // RFC 7009: revokes `token` when `client_id` holds it; unknown tokens are ignored.
  void revoke_token(const std::string& client_id, const std::string& token);
  // The claims of a signed, unexpired, unrevoked access token of this server whose `aud` is
  // `audience` (nullptr: any of the APIs').
  std::optional<nlohmann::json> valid_access_claims(const std::string& token,
                                                    const std::string* audience = nullptr) const;
  // The RFC 7662 answer for an active refresh token; nullopt when it is not one.
  std::optional<nlohmann::json> introspect_refresh_token(const std::string& token) const;

  void revoke_access_tokens();
  void revoke_family(const std::string& refresh_token);
  void revoke_user(const std::string& user);
  IssuedTokens issue_tokens(const std::string& user, const std::string& client_id,
                            const std::string& scope,
                            std::optional<std::chrono::seconds> access_ttl);

 private:
  struct Family {
    std::string client_id, user, scope;
    TimePoint created, last_used;
    bool revoked = false;
    std::string current_token;           // plain text, for the grace-window answer
    std::string jkt;                     // the DPoP key the family is bound to; empty: none
    std::vector<std::string> resources;  // what its authorization named (CodeGrant::resources)
  };
  struct RefreshRecord {
    std::string family_id;
    bool current = true;
    TimePoint superseded_at;
  };
  struct AccessRecord {
    std::string family_id, user, client_id;
    std::int64_t exp = 0;
    bool revoked = false;
  };
  struct AuthCode {
    CodeGrant grant;
    std::string family_id;
    TimePoint expires;
    bool used = false;
  };
  enum class DeviceStatus { pending, approved, denied };
  struct DeviceGrant {
    std::string client_id, scope, user_code, user;
    std::vector<std::string> resources;  // as CodeGrant::resources
    TimePoint expires;
    std::chrono::seconds interval{5};
    std::optional<TimePoint> last_poll;
    DeviceStatus status = DeviceStatus::pending;
  };

  TimePoint now_locked() const { return Clock::now() + clock_offset_; }
  std::string api_audience_locked() const { return issuer_ + "/api"; }
  std::string files_audience_locked() const { return files_origin_ + "/files"; }
  // The `aud` of a token asked for with `resource` (empty: none).
  std::string audience_locked(const std::string& resource) const {
    return resource.empty() ? api_audience_locked() : resource;
  }
  void revoke_family_locked(const std::string& family_id);
  std::string find_device_code_locked(const std::string& user_code) const;
  Outcome<IssuedTokens> rotate_locked(RefreshRecord& record, Family& family,
                                      const std::string& scope, bool grace, const std::string& jkt,
                                      const std::string& resource);

  // Token minting (token_minting.cpp), mutex held.
  std::string mint_access_token_locked(const std::string& client_id, const std::string& user,
                                       const std::string& scope, const std::string& family_id,
                                       std::chrono::seconds ttl, const std::string& jkt,
                                       const std::string& resource);
  std::string mint_id_token_locked(const std::string& client_id, const std::string& user,
                                   const std::string& scope, const std::string& nonce);
  std::string new_family_locked(const std::string& client_id, const std::string& user,
                                const std::string& scope, const std::string& jkt,
                                std::string* family_id, std::vector<std::string> resources);
  // What a sign-in grants: a new refresh token family, or under require_offline_access
  // without `offline_access` no refresh token ("") and a family id naming the access tokens
  // for revocation only.
  // `jkt` binds the family when the client is public.
  std::string sign_in_locked(const std::string& client_id, const std::string& user,
                             const std::string& scope, const std::string& jkt,
                             std::string* family_id, std::vector<std::string> resources = {});
  // The access token lives `access_ttl`, by default the server's access_token_ttl; bound to
  // `jkt` when not empty; for `resource` (empty: /api).
  IssuedTokens token_response_locked(const std::string& client_id, const std::string& user,
                                     const std::string& scope, const std::string& nonce,
                                     const std::string& family_id, const std::string& refresh_token,
                                     std::optional<std::chrono::seconds> access_ttl = std::nullopt,
                                     const std::string& jkt = {}, const std::string& resource = {});

  struct DpopNonces {
    std::string current, previous;
    TimePoint rotated;
  };
  DpopNonces& dpop_nonces_locked(DpopServer server);

  const MockServerOptions options_;
  mutable std::mutex mutex_;
  std::string issuer_;
  std::string files_origin_;
  std::chrono::seconds clock_offset_{0};
  std::map<std::string, Family> families_;
  std::unordered_map<std::string, RefreshRecord> refresh_tokens_;  // by token hash
  std::unordered_map<std::string, AccessRecord> access_tokens_;    // by jti
  std::map<std::string, AuthCode> codes_;
  std::map<std::string, DeviceGrant> devices_;  // by device_code hash
  std::deque<Fault> faults_;
  DpopNonces dpop_nonces_[2];
  std::unordered_map<std::string, TimePoint> dpop_jtis_;  // "<jkt> <jti>" to when it may go
  MockServerStats stats_;
  ResourceCounts resource_counts_[kApiCount];
  std::atomic<long> connections_{0};
};

// Random bytes as base64url: codes, token ids and opaque tokens.
std::string random_token(std::size_t bytes = 32);
// How refresh tokens and device codes are looked up (never kept in plain text as keys).
std::string token_hash(const std::string& token);
std::int64_t epoch_seconds(TimePoint t);

}  // namespace freshtoken::mock::detail
