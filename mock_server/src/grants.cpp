// MockState's grants: authorization code redemption (with PKCE and replay revocation),
// refresh (with rotation, the reuse grace window and reuse detection), client credentials,
// and the device authorization grant's start and polling.
#include <algorithm>
#include <cctype>

#include "registry.hpp"
#include "state.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken::mock::detail {
namespace {

OAuthError invalid_grant(const std::string& description) {
  return {400, "invalid_grant", description};
}

// RFC 7636 §4.1 syntax, and S256 of it equal to the challenge.
bool verifier_matches(const std::string& verifier, const std::string& challenge) {
  bool ok = verifier.size() >= 43 && verifier.size() <= 128;
  for (char c : verifier) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
                c == '~');
  }
  return ok && equal_secret(util::base64url_encode(util::sha256(verifier)), challenge);
}

// `requested` when it is within `granted`; refresh may narrow the scope, never widen it.
Outcome<std::string> narrowed_scope(const std::string& granted_scope,
                                    const std::string& requested) {
  const auto granted = split_scope(granted_scope);
  const auto wanted = split_scope(requested);
  if (wanted.empty()) return OAuthError{400, "invalid_scope", "The scope is empty"};
  for (const auto& s : wanted) {
    if (std::find(granted.begin(), granted.end(), s) == granted.end()) {
      return OAuthError{400, "invalid_scope",
                        "The scope exceeds what was originally granted: " + s};
    }
  }
  return join_scope(wanted);
}

// RFC 8707 §2.2: a token request of a grant whose authorization named resources may only ask
// for one of those; none asked for is always fine.
bool target_allowed(const std::vector<std::string>& authorized, const std::string& resource) {
  return resource.empty() || authorized.empty() ||
         std::find(authorized.begin(), authorized.end(), resource) != authorized.end();
}

OAuthError invalid_target() {
  return {400, "invalid_target", "The resource was not named when this grant was authorized"};
}

// RFC 8628 §6.1: nine characters from an alphabet without vowels, XXXX-XXXX.
std::string new_user_code() {
  static const std::string alphabet = "BCDFGHJKLMNPQRSTVWXZ";
  std::string user_code;
  while (user_code.size() < 9) {
    for (unsigned char byte : util::random_bytes(16)) {
      if (byte >= 240 || user_code.size() >= 9) continue;
      if (user_code.size() == 4) user_code += '-';
      user_code += alphabet[byte % alphabet.size()];
    }
  }
  return user_code;
}

}  // namespace

// ---------------------------------------------------------------- authorization code

std::string MockState::issue_code(CodeGrant grant) {
  std::string code = random_token(32);
  std::lock_guard<std::mutex> lock(mutex_);
  codes_[code] =
      AuthCode{std::move(grant), "", now_locked() + options_.authorization_code_ttl, false};
  return code;
}

Outcome<IssuedTokens> MockState::redeem_code(const std::string& client_id, const std::string& code,
                                             const std::string& redirect_uri,
                                             const std::string& verifier, const std::string& jkt,
                                             const std::string& resource) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = codes_.find(code);
  if (it == codes_.end()) return invalid_grant("The authorization code is unknown");
  AuthCode& issued = it->second;
  const CodeGrant& grant = issued.grant;
  if (issued.used) {
    // RFC 6749 §4.1.2: a replayed code revokes what it produced.
    if (!issued.family_id.empty()) revoke_family_locked(issued.family_id);
    return invalid_grant("The authorization code was already used");
  }
  if (now_locked() >= issued.expires) return invalid_grant("The authorization code expired");
  if (grant.client_id != client_id) return invalid_grant("The code was issued to another client");
  if (grant.redirect_uri != redirect_uri) {
    return invalid_grant("redirect_uri does not match the request");
  }
  if (!verifier_matches(verifier, grant.challenge)) {
    return invalid_grant("code_verifier does not match the challenge");
  }
  if (!grant.dpop_jkt.empty() && !equal_secret(grant.dpop_jkt, jkt)) {
    // RFC 9449 §10.1: the code may only be redeemed with the key named at /authorize. The
    // code stays unused: the holder of the key can still redeem it.
    ++*dpop_counter(stats_.dpop_rejections,
                    jkt.empty() ? DpopReject::missing : DpopReject::key_mismatch);
    return invalid_grant("The code is bound to another DPoP key (dpop_jkt)");
  }
  // The code stays unused: it can still be redeemed for a resource it names.
  if (!target_allowed(grant.resources, resource)) return invalid_target();
  issued.used = true;
  std::string family_id;
  const std::string refresh =
      sign_in_locked(client_id, grant.user, grant.scope, jkt, &family_id, grant.resources);
  issued.family_id = family_id;
  return token_response_locked(client_id, grant.user, grant.scope, grant.nonce, family_id, refresh,
                               std::nullopt, jkt, resource);
}

// ---------------------------------------------------------------- refresh

Outcome<IssuedTokens> MockState::refresh(const std::string& client_id,
                                         const std::string& refresh_token,
                                         const std::optional<std::string>& scope,
                                         const std::string& jkt, const std::string& resource) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto record_it = refresh_tokens_.find(token_hash(refresh_token));
  if (record_it == refresh_tokens_.end()) return invalid_grant("The refresh token is unknown");
  RefreshRecord& record = record_it->second;
  const std::string family_id = record.family_id;
  Family& family = families_.at(family_id);
  const auto now = now_locked();
  if (family.client_id != client_id) {
    return invalid_grant("The refresh token was issued to another client");
  }
  if (!family.jkt.empty() && !equal_secret(family.jkt, jkt)) {
    // RFC 9449 §5: before any other rule, so that a copy presented without the key neither
    // rotates the family nor counts as a reuse that would revoke it.
    ++*dpop_counter(stats_.dpop_rejections,
                    jkt.empty() ? DpopReject::missing : DpopReject::key_mismatch);
    return invalid_grant("The refresh token is bound to another DPoP key");
  }
  if (family.revoked) return invalid_grant("The refresh token was revoked");
  if (now >= family.created + options_.refresh_token_ttl) {
    return invalid_grant("The refresh token expired (absolute lifetime)");
  }
  if (now >= family.last_used + options_.refresh_idle_ttl) {
    return invalid_grant("The refresh token expired (idle lifetime)");
  }
  bool grace = false;
  if (!record.current) {
    if (now - record.superseded_at <= options_.reuse_grace && options_.reuse_grace.count() > 0) {
      grace = true;
    } else {
      // RFC 9700 §4.14.2: a rotated-out token came back; someone holds a copy.
      ++stats_.refresh_reuse_detected;
      revoke_family_locked(family_id);
      return invalid_grant("The refresh token was already used");
    }
  }
  std::string granted = family.scope;
  if (scope) {
    const auto narrowed = narrowed_scope(family.scope, *scope);
    if (!narrowed) return narrowed.error();
    granted = narrowed.value();
  }
  if (!target_allowed(family.resources, resource)) return invalid_target();
  if (family.jkt.empty() && !jkt.empty()) {
    // RFC 9449 §5: a public client's refresh tokens issued to a DPoP request are bound to its
    // key, so a family signed in with Bearer tokens is bound at its first DPoP refresh.
    const ClientInfo* client = find_client(client_id);
    if (client != nullptr && !client->confidential()) family.jkt = jkt;
  }
  return rotate_locked(record, family, granted, grace, jkt, resource);
}

Outcome<IssuedTokens> MockState::rotate_locked(RefreshRecord& record, Family& family,
                                               const std::string& scope, bool grace,
                                               const std::string& jkt,
                                               const std::string& resource) {
  const auto now = now_locked();
  const std::string family_id = record.family_id;
  family.last_used = now;
  ++stats_.refreshes;
  std::string refresh;  // none in the answer: the client keeps the one it has
  if (grace) {
    ++stats_.refresh_grace_reuses;
    refresh = family.current_token;
  } else if (options_.rotation) {
    record.current = false;
    record.superseded_at = now;
    refresh = random_token(32);
    family.current_token = refresh;
    refresh_tokens_[token_hash(refresh)] = RefreshRecord{family_id, true, {}};
  }
  return token_response_locked(family.client_id, family.user, scope, "", family_id, refresh,
                               std::nullopt, jkt, resource);
}

IssuedTokens MockState::client_credentials(const std::string& client_id, const std::string& scope,
                                           const std::string& jkt, const std::string& resource) {
  std::lock_guard<std::mutex> lock(mutex_);
  return token_response_locked(client_id, "", scope, "", "", "", std::nullopt, jkt, resource);
}

// ---------------------------------------------------------------- device

DeviceCodes MockState::start_device(const std::string& client_id, const std::string& scope,
                                    std::vector<std::string> resources) {
  DeviceCodes codes{random_token(32), new_user_code()};
  std::lock_guard<std::mutex> lock(mutex_);
  DeviceGrant grant;
  grant.client_id = client_id;
  grant.scope = scope;
  grant.resources = std::move(resources);
  grant.user_code = codes.user_code;
  grant.expires = now_locked() + options_.device_code_ttl;
  grant.interval = options_.device_interval;
  if (options_.auto_approve) {
    grant.status = DeviceStatus::approved;
    grant.user = "alice";
  }
  devices_[token_hash(codes.device_code)] = grant;
  return codes;
}

Outcome<IssuedTokens> MockState::poll_device(const std::string& client_id,
                                             const std::string& device_code, const std::string& jkt,
                                             const std::string& resource) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = devices_.find(token_hash(device_code));
  if (it == devices_.end()) return invalid_grant("The device_code is unknown");
  DeviceGrant& grant = it->second;
  if (grant.client_id != client_id) {
    return invalid_grant("The device_code was issued to another client");
  }
  const auto now = now_locked();
  if (now >= grant.expires) return OAuthError{400, "expired_token", "The device_code expired"};
  const bool too_fast = grant.last_poll && now - *grant.last_poll < grant.interval;
  grant.last_poll = now;
  if (too_fast) {
    grant.interval += std::chrono::seconds(5);  // RFC 8628 §3.5
    return OAuthError{
        400, "slow_down",
        "Polling too fast; interval is now " + std::to_string(grant.interval.count()) + " s"};
  }
  if (grant.status == DeviceStatus::pending) {
    return OAuthError{400, "authorization_pending", "The user has not finished yet"};
  }
  if (grant.status == DeviceStatus::denied) {
    devices_.erase(it);
    return OAuthError{400, "access_denied", "The user denied the request"};
  }
  // Before the device code is spent: it can still be redeemed for a resource it names.
  if (!target_allowed(grant.resources, resource)) return invalid_target();
  const std::string user = grant.user;
  const std::string scope = grant.scope;
  std::vector<std::string> resources = std::move(grant.resources);
  devices_.erase(it);
  std::string family_id;
  const std::string refresh =
      sign_in_locked(client_id, user, scope, jkt, &family_id, std::move(resources));
  return token_response_locked(client_id, user, scope, "", family_id, refresh, std::nullopt, jkt,
                               resource);
}

}  // namespace freshtoken::mock::detail
