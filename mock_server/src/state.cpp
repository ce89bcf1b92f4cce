#include "state.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <vector>

#include "registry.hpp"
#include "signing_key.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken::mock::detail {
namespace {

using json = nlohmann::json;

std::string string_claim(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void count_grant(TokenRequestCounts& counts, const std::string& grant) {
  if (grant == kGrantCode) {
    ++counts.authorization_code;
  } else if (grant == kGrantRefresh) {
    ++counts.refresh_token;
  } else if (grant == kGrantClientCredentials) {
    ++counts.client_credentials;
  } else if (grant == kGrantDevice) {
    ++counts.device_code;
  } else {
    ++counts.other;
  }
}

}  // namespace

std::string random_token(std::size_t bytes) {
  return util::base64url_encode(util::random_bytes(bytes));
}

std::string token_hash(const std::string& token) { return util::hex(util::sha256(token)); }

std::int64_t epoch_seconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

MockState::MockState(MockServerOptions options) : options_(std::move(options)) {}

void MockState::set_issuer(std::string issuer) {
  std::lock_guard<std::mutex> lock(mutex_);
  issuer_ = std::move(issuer);
}

std::string MockState::issuer() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return issuer_;
}

std::string MockState::api_audience() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return api_audience_locked();
}

void MockState::set_files_origin(std::string origin) {
  std::lock_guard<std::mutex> lock(mutex_);
  files_origin_ = std::move(origin);
}

ApiLocation MockState::api_location(ApiId api) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (api == ApiId::files) return {files_audience_locked(), files_origin_, "/files"};
  return {api_audience_locked(), issuer_, "/api"};
}

std::optional<ApiId> MockState::find_api(const std::string& resource) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (resource == api_audience_locked()) return ApiId::api;
  if (!files_origin_.empty() && resource == files_audience_locked()) return ApiId::files;
  return std::nullopt;
}

void MockState::set_clock_offset(std::chrono::seconds offset) {
  std::lock_guard<std::mutex> lock(mutex_);
  clock_offset_ = offset;
}

void MockState::advance_clock(std::chrono::seconds by) {
  std::lock_guard<std::mutex> lock(mutex_);
  clock_offset_ += by;
}

std::chrono::seconds MockState::clock_offset() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return clock_offset_;
}

TimePoint MockState::now() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return now_locked();
}

// ---------------------------------------------------------------- counters and faults

std::optional<Fault> MockState::begin_request(FaultEndpoint endpoint,
                                              const std::string& grant_type) {
  std::lock_guard<std::mutex> lock(mutex_);
  EndpointRequestCounts& per_endpoint = stats_.endpoint_requests;
  switch (endpoint) {
    case FaultEndpoint::token:
      count_grant(stats_.token_requests, grant_type);
      ++per_endpoint.token;
      break;
    case FaultEndpoint::api:
      ++stats_.api_requests;
      ++per_endpoint.api;
      ++resource_counts_[static_cast<int>(ApiId::api)].api_requests;
      break;
    case FaultEndpoint::files:
      ++per_endpoint.files;
      ++resource_counts_[static_cast<int>(ApiId::files)].api_requests;
      break;
    case FaultEndpoint::authorize:
      ++stats_.authorize_requests;
      ++per_endpoint.authorize;
      break;
    case FaultEndpoint::device_authorization:
      ++stats_.device_authorizations;
      ++per_endpoint.device_authorization;
      break;
    case FaultEndpoint::revoke:
      ++stats_.revocations;
      ++per_endpoint.revoke;
      break;
    case FaultEndpoint::introspect:
      ++stats_.introspections;
      ++per_endpoint.introspect;
      break;
    case FaultEndpoint::userinfo:
      ++stats_.userinfo_requests;
      ++per_endpoint.userinfo;
      break;
    case FaultEndpoint::discovery:
      ++per_endpoint.discovery;
      break;
    case FaultEndpoint::jwks:
      ++per_endpoint.jwks;
      break;
    case FaultEndpoint::device:
      break;
  }
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->endpoint != endpoint) continue;
    Fault fault = *it;
    if (--it->times <= 0) faults_.erase(it);
    ++stats_.faults_triggered;
    return fault;
  }
  return std::nullopt;
}

void MockState::count_api_refusal(ApiId api, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ResourceCounts& counts = resource_counts_[static_cast<int>(api)];
  ++(status == 403 ? counts.api_403 : counts.api_401);
  if (api == ApiId::api) ++(status == 403 ? stats_.api_403 : stats_.api_401);
}

void MockState::count_resource_token_request(ApiId api, bool refresh) {
  std::lock_guard<std::mutex> lock(mutex_);
  ResourceCounts& counts = resource_counts_[static_cast<int>(api)];
  ++counts.token_requests;
  if (refresh) ++counts.refresh_requests;
}

MockServerStats MockState::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  MockServerStats stats = stats_;
  stats.active_families = 0;
  for (const auto& [id, family] : families_) stats.active_families += family.revoked ? 0 : 1;
  stats.faults_armed = static_cast<long>(faults_.size());
  stats.connections = connections_.load();
  stats.clock_offset = clock_offset_;
  if (!issuer_.empty()) stats.resources[api_audience_locked()] = resource_counts_[0];
  if (!files_origin_.empty()) stats.resources[files_audience_locked()] = resource_counts_[1];
  return stats;
}

void MockState::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  families_.clear();
  refresh_tokens_.clear();
  access_tokens_.clear();
  codes_.clear();
  devices_.clear();
  faults_.clear();
  dpop_nonces_[0] = dpop_nonces_[1] = DpopNonces{};
  dpop_jtis_.clear();
  stats_ = MockServerStats{};
  for (auto& counts : resource_counts_) counts = ResourceCounts{};
  connections_ = 0;
  clock_offset_ = std::chrono::seconds{0};
}

// ---------------------------------------------------------------- DPoP

namespace {
// A nonce is current for this long, then accepted as the previous one for as long again.
constexpr std::chrono::seconds kDpopNonceRotation{30};
}  // namespace

void MockState::count_dpop_rejection(DpopReject reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (long* counter = dpop_counter(stats_.dpop_rejections, reason)) ++*counter;
}

bool MockState::remember_dpop_jti(const std::string& jkt, const std::string& jti, TimePoint iat) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = Clock::now();  // the clock proofs' iat is checked against
  // Only proofs inside the iat window get here, so an entry older than the window can go:
  // a replay of it would be refused for its iat.
  if (dpop_jtis_.size() >= 1024) {
    for (auto it = dpop_jtis_.begin(); it != dpop_jtis_.end();) {
      it = it->second < now ? dpop_jtis_.erase(it) : std::next(it);
    }
  }
  return dpop_jtis_.emplace(jkt + " " + jti, iat + kDpopMaxAge + kDpopMaxSkew).second;
}

MockState::DpopNonces& MockState::dpop_nonces_locked(DpopServer server) {
  DpopNonces& nonces = dpop_nonces_[server == DpopServer::authorization ? 0 : 1];
  const auto now = now_locked();
  const auto age = now - nonces.rotated;
  if (nonces.current.empty() || age >= kDpopNonceRotation || age < std::chrono::seconds(0)) {
    nonces.previous = age < 2 * kDpopNonceRotation ? nonces.current : std::string();
    nonces.current = random_token(16);
    nonces.rotated = now;
  }
  return nonces;
}

std::string MockState::dpop_nonce(DpopServer server) {
  std::lock_guard<std::mutex> lock(mutex_);
  return dpop_nonces_locked(server).current;
}

bool MockState::dpop_nonce_valid(DpopServer server, const std::string& nonce) {
  std::lock_guard<std::mutex> lock(mutex_);
  const DpopNonces& nonces = dpop_nonces_locked(server);
  return !nonce.empty() && (nonce == nonces.current || nonce == nonces.previous);
}

void MockState::arm_fault(const Fault& fault) {
  if (fault.times < 1) throw std::invalid_argument("fault times must be at least 1");
  if (fault.kind == FaultKind::status && (fault.status < 100 || fault.status > 599)) {
    throw std::invalid_argument("fault status must be an HTTP status");
  }
  if (fault.delay_ms < 0 || fault.delay_ms > 600000) {
    throw std::invalid_argument("fault delay_ms must be within 0..600000");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  faults_.push_back(fault);
}

std::string MockState::find_device_code_locked(const std::string& user_code) const {
  std::string wanted;
  for (char c : user_code) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      wanted += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  for (const auto& [hash, grant] : devices_) {
    std::string code;
    for (char c : grant.user_code) {
      if (c != '-') code += c;
    }
    if (!wanted.empty() && code == wanted) return hash;
  }
  return {};
}

void MockState::approve_device(const std::string& user_code, const std::string& user) {
  if (!known_user(user)) throw std::invalid_argument("unknown user: " + user);
  std::lock_guard<std::mutex> lock(mutex_);
  const auto hash = find_device_code_locked(user_code);
  if (hash.empty()) throw std::invalid_argument("unknown user_code");
  auto& grant = devices_.at(hash);
  if (grant.status != DeviceStatus::pending) throw std::invalid_argument("user_code already used");
  grant.status = DeviceStatus::approved;
  grant.user = user;
}

void MockState::deny_device(const std::string& user_code) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto hash = find_device_code_locked(user_code);
  if (hash.empty()) throw std::invalid_argument("unknown user_code");
  auto& grant = devices_.at(hash);
  if (grant.status != DeviceStatus::pending) throw std::invalid_argument("user_code already used");
  grant.status = DeviceStatus::denied;
}

// ---------------------------------------------------------------- revocation and validation

void MockState::revoke_token(const std::string& client_id, const std::string& token) {
  const auto claims = SigningKey::instance().verify_jwt(token);
  std::lock_guard<std::mutex> lock(mutex_);
  const auto refresh = refresh_tokens_.find(token_hash(token));
  if (refresh != refresh_tokens_.end()) {
    const auto family = families_.find(refresh->second.family_id);
    if (family != families_.end() && family->second.client_id == client_id) {
      revoke_family_locked(refresh->second.family_id);
    }
  } else if (claims) {
    const auto access = access_tokens_.find(string_claim(claims->claims, "jti"));
    if (access != access_tokens_.end() && access->second.client_id == client_id) {
      access->second.revoked = true;
    }
  }
}

std::optional<json> MockState::valid_access_claims(const std::string& token,
                                                   const std::string* audience) const {
  const auto jwt = SigningKey::instance().verify_jwt(token);
  if (!jwt || string_claim(jwt->header, "typ") != "at+jwt") return std::nullopt;
  const json& claims = jwt->claims;
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string aud = string_claim(claims, "aud");
  const bool audience_ok = audience != nullptr
                               ? aud == *audience
                               : aud == api_audience_locked() ||
                                     (!files_origin_.empty() && aud == files_audience_locked());
  if (string_claim(claims, "iss") != issuer_ || !audience_ok) return std::nullopt;
  const auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number_integer() ||
      exp->get<std::int64_t>() <= epoch_seconds(now_locked())) {
    return std::nullopt;
  }
  const auto record = access_tokens_.find(string_claim(claims, "jti"));
  if (record == access_tokens_.end() || record->second.revoked) return std::nullopt;
  return claims;
}

std::optional<json> MockState::introspect_refresh_token(const std::string& token) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto refresh = refresh_tokens_.find(token_hash(token));
  if (refresh == refresh_tokens_.end()) return std::nullopt;
  const Family& family = families_.at(refresh->second.family_id);
  const auto now = now_locked();
  const auto absolute_end = family.created + options_.refresh_token_ttl;
  const auto idle_end = family.last_used + options_.refresh_idle_ttl;
  if (!refresh->second.current || family.revoked || now >= absolute_end || now >= idle_end) {
    return std::nullopt;
  }
  return json{{"active", true},
              {"token_type", "refresh_token"},
              {"client_id", family.client_id},
              {"sub", family.user},
              {"username", family.user},
              {"scope", family.scope},
              {"iss", issuer_},
              {"exp", epoch_seconds(std::min(absolute_end, idle_end))}};
}

void MockState::revoke_family_locked(const std::string& family_id) {
  auto it = families_.find(family_id);
  if (it != families_.end() && !it->second.revoked) {
    it->second.revoked = true;
    ++stats_.families_revoked;
  }
  // Also when there is no family: a sign-in without a refresh token still names its tokens.
  for (auto& [jti, record] : access_tokens_) {
    if (record.family_id == family_id) record.revoked = true;
  }
}

void MockState::revoke_access_tokens() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [jti, record] : access_tokens_) record.revoked = true;
}

void MockState::revoke_family(const std::string& refresh_token) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = refresh_tokens_.find(token_hash(refresh_token));
  if (it == refresh_tokens_.end()) throw std::invalid_argument("unknown refresh token");
  revoke_family_locked(it->second.family_id);
}

void MockState::revoke_user(const std::string& user) {
  if (!known_user(user)) throw std::invalid_argument("unknown user: " + user);
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> ids;
  for (const auto& [id, family] : families_) {
    if (family.user == user) ids.push_back(id);
  }
  for (const auto& id : ids) revoke_family_locked(id);
  for (auto& [jti, record] : access_tokens_) {
    if (record.user == user) record.revoked = true;
  }
}

IssuedTokens MockState::issue_tokens(const std::string& user, const std::string& client_id,
                                     const std::string& scope,
                                     std::optional<std::chrono::seconds> access_ttl) {
  // Up to ten years: far enough for any test, and no overflow in exp = now + ttl.
  if (access_ttl && (access_ttl->count() <= 0 || access_ttl->count() > 10LL * 365 * 24 * 3600)) {
    throw std::invalid_argument("access_token_ttl_s must be between 1 s and ten years");
  }
  const ClientInfo* client = find_client(client_id);
  if (client == nullptr || client->grants.count(kGrantCode) == 0) {
    throw std::invalid_argument("unknown or non-interactive client: " + client_id);
  }
  if (!known_user(user)) throw std::invalid_argument("unknown user: " + user);
  const auto items = split_scope(scope);
  for (const auto& s : items) {
    if (client->scopes.count(s) == 0) throw std::invalid_argument("unknown scope: " + s);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  std::string family_id;
  const std::string refresh = sign_in_locked(client_id, user, join_scope(items), "", &family_id);
  return token_response_locked(client_id, user, join_scope(items), "", family_id, refresh,
                               access_ttl);
}

}  // namespace freshtoken::mock::detail
