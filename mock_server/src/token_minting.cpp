// MockState's token minting: signed access and ID tokens, refresh token families, and the
// token answer that carries them.
#include <iterator>

#include "registry.hpp"
#include "signing_key.hpp"
#include "state.hpp"

namespace freshtoken::mock::detail {

using json = nlohmann::json;

std::string MockState::mint_access_token_locked(const std::string& client_id,
                                                const std::string& user, const std::string& scope,
                                                const std::string& family_id,
                                                std::chrono::seconds ttl, const std::string& jkt,
                                                const std::string& resource) {
  // `iat`/`exp` are whole seconds and a token is refused once exp <= floor(now): the issue
  // time is rounded UP so that every token lives at least the advertised expires_in.
  const auto now_time = now_locked();
  auto now = epoch_seconds(now_time);
  if (now_time.time_since_epoch() > std::chrono::seconds(now)) ++now;
  const std::int64_t exp = now + ttl.count();
  const std::string jti = random_token(16);
  json claims = {{"iss", issuer_},
                 {"sub", user.empty() ? client_id : user},
                 {"aud", audience_locked(resource)},
                 {"exp", exp},
                 {"iat", now},
                 {"jti", jti},
                 {"client_id", client_id},
                 {"scope", scope}};
  if (!jkt.empty()) claims["cnf"] = {{"jkt", jkt}};  // RFC 9449 §6.1
  if (access_tokens_.size() > 100000) {
    for (auto it = access_tokens_.begin(); it != access_tokens_.end();) {
      it = it->second.exp < now ? access_tokens_.erase(it) : std::next(it);
    }
  }
  access_tokens_[jti] = AccessRecord{family_id, user, client_id, exp, false};
  return SigningKey::instance().sign_jwt({{"typ", "at+jwt"}}, claims);
}

std::string MockState::mint_id_token_locked(const std::string& client_id, const std::string& user,
                                            const std::string& scope, const std::string& nonce) {
  const auto now = epoch_seconds(now_locked());
  json claims = {{"iss", issuer_},   {"sub", user},
                 {"aud", client_id}, {"exp", now + options_.access_token_ttl.count()},
                 {"iat", now},       {"auth_time", now}};
  if (!nonce.empty()) claims["nonce"] = nonce;
  if (has_scope(scope, "profile")) {
    claims["name"] = display_name(user);
    claims["preferred_username"] = user;
  }
  return SigningKey::instance().sign_jwt({{"typ", "JWT"}}, claims);
}

std::string MockState::new_family_locked(const std::string& client_id, const std::string& user,
                                         const std::string& scope, const std::string& jkt,
                                         std::string* family_id,
                                         std::vector<std::string> resources) {
  const auto now = now_locked();
  *family_id = random_token(12);
  const std::string token = random_token(32);
  families_[*family_id] =
      Family{client_id, user, scope, now, now, false, token, jkt, std::move(resources)};
  refresh_tokens_[token_hash(token)] = RefreshRecord{*family_id, true, {}};
  return token;
}

std::string MockState::sign_in_locked(const std::string& client_id, const std::string& user,
                                      const std::string& scope, const std::string& jkt,
                                      std::string* family_id, std::vector<std::string> resources) {
  if (options_.require_offline_access && !has_scope(scope, "offline_access")) {
    *family_id = random_token(12);
    return {};
  }
  // RFC 9449 §5: a confidential client's refresh tokens are bound by its authentication; a
  // public client's only by the DPoP key.
  const ClientInfo* client = find_client(client_id);
  const bool bind = client != nullptr && !client->confidential();
  return new_family_locked(client_id, user, scope, bind ? jkt : std::string(), family_id,
                           std::move(resources));
}

IssuedTokens MockState::token_response_locked(const std::string& client_id, const std::string& user,
                                              const std::string& scope, const std::string& nonce,
                                              const std::string& family_id,
                                              const std::string& refresh_token,
                                              std::optional<std::chrono::seconds> access_ttl,
                                              const std::string& jkt, const std::string& resource) {
  IssuedTokens answer;
  answer.expires_in = access_ttl.value_or(options_.access_token_ttl);
  answer.access_token =
      mint_access_token_locked(client_id, user, scope, family_id, answer.expires_in, jkt, resource);
  if (!jkt.empty()) answer.token_type = "DPoP";
  answer.scope = scope;
  answer.refresh_token = refresh_token;
  if (!user.empty() && has_scope(scope, "openid")) {
    answer.id_token = mint_id_token_locked(client_id, user, scope, nonce);
  }
  return answer;
}

}  // namespace freshtoken::mock::detail
