#include <mutex>
#include <optional>
#include <utility>

#include "freshtoken/sign_in.hpp"
#include "oauth_parsing.hpp"
#include "sign_in/jwt.hpp"

namespace freshtoken {

struct IdTokenVerifier::State {
  std::shared_ptr<Transport> transport;
  std::string jwks_uri;
  std::string issuer;
  std::string client_id;
  std::shared_ptr<Clock> clock;
  std::chrono::seconds leeway;
  // Set when the server's metadata could not be discovered: what verify() returns.
  std::optional<Error> unavailable;

  std::mutex mutex;
  bool fetched = false;           // guarded by mutex
  std::vector<detail::Jwk> keys;  // guarded by mutex

  // Requires mutex held. The JWKS is small and fetched rarely: holding the lock keeps
  // concurrent verifiers from fetching it twice.
  Result<void> fetch_locked() {
    if (jwks_uri.empty()) {
      return Error(ErrorCode::config, "the server publishes no jwks_uri: cannot verify ID tokens");
    }
    // Discovery checks this too, but metadata may also be built by hand: keys fetched over
    // plain http from a remote host could be anyone's.
    if (auto ok = detail::check_endpoint_url("jwks_uri", jwks_uri); !ok) return ok.error();
    if (!transport) return Error(ErrorCode::config, "no transport to fetch the JWKS with");
    Request request;
    request.url = jwks_uri;
    request.headers.set("Accept", "application/json");
    request.max_response_bytes = detail::kMaxServerResponseBytes;
    auto response = transport->send(request);
    if (!response) {
      Error error(response.error().code(), "fetching the JWKS: " + response.error().message());
      return error;
    }
    if (response->status != 200) {
      return Error(ErrorCode::invalid_response,
                   "the JWKS endpoint answered HTTP " + std::to_string(response->status))
          .with_http_status(response->status);
    }
    auto parsed = detail::parse_jwks(response->body);
    if (!parsed) return parsed.error();
    keys = std::move(*parsed);
    fetched = true;
    return {};
  }
};

IdTokenVerifier::IdTokenVerifier(std::shared_ptr<Transport> transport, std::string jwks_uri,
                                 std::string issuer, std::string client_id,
                                 std::shared_ptr<Clock> clock, std::chrono::seconds leeway)
    : state_(std::make_shared<State>()) {
  state_->transport = std::move(transport);
  state_->jwks_uri = std::move(jwks_uri);
  state_->issuer = std::move(issuer);
  state_->client_id = std::move(client_id);
  state_->clock = clock ? std::move(clock) : system_clock();
  state_->leeway = leeway;
}

IdTokenVerifier::IdTokenVerifier(const AuthorizationServer& server, std::chrono::seconds leeway)
    : IdTokenVerifier(server.transport(), std::string(), std::string(), server.client().client_id,
                      server.clock(), leeway) {
  auto metadata = server.metadata();
  if (!metadata) {
    state_->unavailable = metadata.error();
    return;
  }
  state_->jwks_uri = std::move(metadata->jwks_uri);
  state_->issuer = std::move(metadata->issuer);
}

Result<IdTokenClaims> IdTokenVerifier::verify(const Secret& id_token,
                                              const std::optional<Secret>& expected_nonce) const {
  if (state_->unavailable) return *state_->unavailable;
  auto jws = detail::parse_jws(id_token.reveal());
  if (!jws) return jws.error();

  detail::Jwk key;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    bool fresh = false;
    if (!state_->fetched) {
      if (auto fetched = state_->fetch_locked(); !fetched) return fetched.error();
      fresh = true;
    }
    const detail::Jwk* found = detail::select_jwk(state_->keys, *jws);
    if (!found && !fresh) {
      // Maybe the server rotated its keys since we fetched them: look once more.
      if (auto fetched = state_->fetch_locked(); !fetched) return fetched.error();
      found = detail::select_jwk(state_->keys, *jws);
    }
    if (!found) {
      return Error(ErrorCode::invalid_response,
                   jws->kid.empty() ? "the ID token has no kid and the JWKS has no single key for "
                                      "its alg"
                                    : "no key in the JWKS matches the ID token's kid");
    }
    key = *found;
  }
  if (auto verified = detail::verify_jws_signature(*jws, key); !verified) return verified.error();

  detail::IdTokenExpectations expected;
  expected.issuer = state_->issuer;
  expected.client_id = state_->client_id;
  expected.nonce = expected_nonce ? &*expected_nonce : nullptr;
  expected.now = state_->clock->now();
  expected.leeway = state_->leeway;
  return detail::check_id_token_claims(*jws, expected);
}

}  // namespace freshtoken
