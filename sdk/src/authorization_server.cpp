#include "freshtoken/authorization_server.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include "discovery_cache.hpp"
#include "dpop.hpp"
#include "oauth_parsing.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken {

namespace {

constexpr std::string_view kDeviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code";

using util::wipe;

void wipe(util::FormFields& fields) {
  for (auto& [name, value] : fields) wipe(value);
}

// The fields of a request, built without the copies a FormFields initializer list makes (and
// never wipes) of a code or token; room for the client's credentials too.
util::FormFields form_fields(
    std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
  util::FormFields fields;
  fields.reserve(list.size() + 3);
  for (const auto& [name, value] : list) fields.emplace_back(name, value);
  return fields;
}

bool is_success(int status) { return status >= 200 && status <= 299; }

Request form_post(const std::string& url, util::FormFields& fields) {
  Request request;
  request.method = "POST";
  request.url = url;
  request.headers.set("Content-Type", "application/x-www-form-urlencoded");
  request.headers.set("Accept", "application/json");
  request.body = util::form_encode(fields);
  request.max_response_bytes = detail::kMaxServerResponseBytes;
  wipe(fields);
  return request;
}

// RFC 6749 §2.3.1: Basic credentials are the form-encoded id and secret. Every string is sized
// before it is filled (a reallocation would leave a copy of the secret behind) and wiped.
std::string basic_credentials(const ClientConfig& client) {
  std::string id = util::form_encode(client.client_id);
  std::string secret = util::form_encode(client.client_secret.reveal());
  std::string joined;
  joined.reserve(id.size() + 1 + secret.size());
  joined.append(id).append(":").append(secret);
  wipe(secret);
  std::string credentials = util::base64_encode(joined);
  wipe(joined);
  std::string header;
  header.reserve(6 + credentials.size());
  header.append("Basic ").append(credentials);
  wipe(credentials);
  return header;
}

// Adds the client's credentials to a request's form fields; the Basic header, if any, is
// returned for the caller to set after the body is built.
Result<std::string> add_client_auth(const ClientConfig& client, util::FormFields& fields) {
  switch (client.auth) {
    case ClientAuth::none:
      if (!client.client_id.empty()) fields.emplace_back("client_id", client.client_id);
      return std::string();
    case ClientAuth::client_secret_basic:
      if (client.client_secret.empty()) {
        return Error(ErrorCode::config, "client_secret_basic needs a client secret");
      }
      return basic_credentials(client);
    case ClientAuth::client_secret_post:
      if (client.client_secret.empty()) {
        return Error(ErrorCode::config, "client_secret_post needs a client secret");
      }
      fields.emplace_back("client_id", client.client_id);
      fields.emplace_back("client_secret", std::string(client.client_secret.reveal()));
      return std::string();
  }
  return Error(ErrorCode::config, "unknown client authentication method");
}

// What a request needs for a DPoP proof; `key` null: no proof. A proof's iat is read from the
// system clock, not the injected one: the server compares it with its own wall clock.
struct DpopContext {
  const DpopKey* key = nullptr;
  detail::DpopNonces* nonces = nullptr;
};

// RFC 9449 §8: the authorization server asks for a nonce.
bool asks_for_dpop_nonce(const Response& response) {
  if (response.status != 400) return false;
  auto oauth = detail::parse_oauth_error(response.body);
  return oauth && oauth->error == "use_dpop_nonce";
}

// Sends a form POST with client authentication to `url` (already checked), wiping every copy
// of the secrets it made. With a DPoP key, each send gets a new proof, and a use_dpop_nonce
// answer that brought a nonce is resent once with it.
Result<Response> send_form(Transport& transport, const ClientConfig& client, const std::string& url,
                           util::FormFields fields, const DpopContext& dpop = {}) {
  auto basic = add_client_auth(client, fields);
  if (!basic) {
    wipe(fields);
    return basic.error();
  }
  Request request = form_post(url, fields);
  if (!basic->empty()) request.headers.set("Authorization", *basic);
  wipe(*basic);
  Result<Response> response = Error(ErrorCode::config, "no request was sent");
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (dpop.key) {
      auto proof = detail::dpop_proof(*dpop.key, request.method, url, nullptr,
                                      dpop.nonces->get(url), std::chrono::system_clock::now());
      if (!proof) {
        response = proof.error();
        break;
      }
      request.headers.set("DPoP", std::move(*proof));
    }
    response = transport.send(request);
    if (!response || !dpop.key) break;
    const bool nonce = dpop.nonces->update(url, *response);
    if (attempt > 0 || !nonce || !asks_for_dpop_nonce(*response)) break;
  }
  wipe(request.body);
  request.headers.remove("Authorization");  // wipes the copy of the Basic credentials
  return response;
}

Result<void> require_endpoint(std::string_view name, const std::string& url) {
  if (url.empty()) {
    return Error(ErrorCode::config, "the server metadata has no " + std::string(name));
  }
  return detail::check_endpoint_url(name, url);
}

// Sends a token request and parses the answer (RFC 6749 §5.1 / §5.2), with a DPoP proof made
// with `key` when it is non-null.
Result<TokenSet> token_request(Transport& transport, const ServerMetadata& metadata,
                               const ClientConfig& client, const Clock& clock,
                               util::FormFields fields, std::string_view context,
                               std::shared_ptr<const DpopKey> key, detail::DpopNonces& nonces) {
  if (auto ok = require_endpoint("token_endpoint", metadata.token_endpoint); !ok) {
    wipe(fields);
    return ok.error();
  }
  auto response = send_form(transport, client, metadata.token_endpoint, std::move(fields),
                            DpopContext{key.get(), &nonces});
  if (!response) return response.error();
  const auto received_at = clock.now();
  if (!is_success(response->status)) {
    return detail::error_from_response(*response, received_at, context);
  }
  auto tokens = detail::parse_token_response(response->body, received_at, key != nullptr);
  wipe(response->body);
  if (!tokens || !key) return tokens;
  if (tokens->token_type == "DPoP") {
    tokens->dpop_key = std::move(key);
  } else if (client.dpop == DpopMode::required) {
    return Error(ErrorCode::invalid_response,
                 std::string(context) +
                     ": the server issued a Bearer token to a DPoP request (DPoP is required)");
  }
  return tokens;
}

Result<Response> get_json(Transport& transport, const std::string& url) {
  Request request;
  request.method = "GET";
  request.url = url;
  request.headers.set("Accept", "application/json");
  request.max_response_bytes = detail::kMaxServerResponseBytes;
  return transport.send(request);
}

Result<void> check_issuer(const std::string& issuer) {
  auto parsed = detail::parse_url(issuer);
  if (!parsed || parsed->has_query || parsed->has_fragment) {
    return Error(ErrorCode::config,
                 "discovery: the issuer must be an absolute URL without query or fragment");
  }
  return detail::check_endpoint_url("the issuer", issuer);
}

// Fetches and checks the metadata of `issuer` (already checked by check_issuer).
Result<ServerMetadata> fetch_metadata(Transport& transport, const std::string& issuer,
                                      const Clock& clock) {
  // OpenID Connect Discovery first, RFC 8414 second: a server that is not an OpenID
  // provider answers the first with 404 (or a non-JSON page).
  const std::string urls[] = {detail::openid_configuration_url(issuer),
                              detail::oauth_metadata_url(issuer)};
  std::optional<Error> last;
  for (std::size_t i = 0; i < 2; ++i) {
    const bool is_last = i == 1;
    auto response = get_json(transport, urls[i]);
    if (!response) return response.error();
    if (!is_success(response->status)) {
      const int status = response->status;
      const bool try_next = status >= 400 && status < 500 && status != 408 && status != 429;
      Error error = detail::error_from_response(*response, clock.now(), "discovery");
      if (try_next && !is_last) {
        last = std::move(error);
        continue;
      }
      return error;
    }
    auto metadata = detail::parse_discovery_document(response->body);
    if (!metadata) {
      if (!is_last) continue;
      return metadata.error();
    }
    if (auto ok = detail::validate_metadata(*metadata, issuer); !ok) return ok.error();
    return metadata;
  }
  return last ? std::move(*last) : Error(ErrorCode::invalid_response, "discovery failed");
}

}  // namespace

// Set once and never changed: `known` is read without the lock once published. A server made
// by for_issuer() starts with an issuer and no metadata.
struct AuthorizationServer::Metadata {
  struct Flight {
    bool done = false;
    std::optional<Error> error;
  };

  std::string issuer;
  std::atomic<const ServerMetadata*> known{nullptr};

  std::mutex mutex;
  std::condition_variable flight_done;
  std::unique_ptr<const ServerMetadata> owned;  // under mutex until published
  std::shared_ptr<Flight> flight;               // under mutex: the discovery under way

  void publish_locked(ServerMetadata metadata) {
    owned = std::make_unique<const ServerMetadata>(std::move(metadata));
    known.store(owned.get(), std::memory_order_release);
  }
};

AuthorizationServer::AuthorizationServer(std::shared_ptr<Transport> transport,
                                         ServerMetadata metadata, ClientConfig client,
                                         std::shared_ptr<Clock> clock)
    : transport_(std::move(transport)),
      metadata_(std::make_shared<Metadata>()),
      client_(std::move(client)),
      clock_(clock ? std::move(clock) : system_clock()),
      dpop_nonces_(std::make_shared<detail::DpopNonces>()) {
  metadata_->issuer = metadata.issuer;
  metadata_->publish_locked(std::move(metadata));  // nobody else can see it yet
}

AuthorizationServer::AuthorizationServer(std::shared_ptr<Transport> transport,
                                         std::shared_ptr<Metadata> metadata, ClientConfig client,
                                         std::shared_ptr<Clock> clock)
    : transport_(std::move(transport)),
      metadata_(std::move(metadata)),
      client_(std::move(client)),
      clock_(clock ? std::move(clock) : system_clock()),
      dpop_nonces_(std::make_shared<detail::DpopNonces>()) {}

Result<std::shared_ptr<AuthorizationServer>> AuthorizationServer::for_issuer(
    std::shared_ptr<Transport> transport, const std::string& issuer, ClientConfig client,
    std::shared_ptr<Clock> clock) {
  if (!transport) return Error(ErrorCode::config, "discovery: no transport");
  if (auto ok = check_issuer(issuer); !ok) return ok.error();
  auto metadata = std::make_shared<Metadata>();
  metadata->issuer = issuer;
  return std::shared_ptr<AuthorizationServer>(new AuthorizationServer(
      std::move(transport), std::move(metadata), std::move(client), std::move(clock)));
}

Result<std::shared_ptr<AuthorizationServer>> AuthorizationServer::discover(
    std::shared_ptr<Transport> transport, const std::string& issuer, ClientConfig client,
    std::shared_ptr<Clock> clock) {
  if (!transport) return Error(ErrorCode::config, "discovery: no transport");
  if (auto ok = check_issuer(issuer); !ok) return ok.error();
  if (!clock) clock = system_clock();
  auto metadata = fetch_metadata(*transport, issuer, *clock);
  if (!metadata) return metadata.error();
  return std::make_shared<AuthorizationServer>(std::move(transport), std::move(*metadata),
                                               std::move(client), std::move(clock));
}

Result<const ServerMetadata*> AuthorizationServer::resolve() const {
  Metadata& state = *metadata_;
  if (const ServerMetadata* known = state.known.load(std::memory_order_acquire)) return known;
  std::unique_lock<std::mutex> lock(state.mutex);
  if (const ServerMetadata* known = state.known.load(std::memory_order_acquire)) return known;
  if (state.flight) {
    const auto flight = state.flight;
    state.flight_done.wait(lock, [&] { return flight->done; });
    if (flight->error) return *flight->error;
    return state.known.load(std::memory_order_acquire);
  }
  const auto flight = std::make_shared<Metadata::Flight>();
  state.flight = flight;
  lock.unlock();

  // Not under the lock: discovery is network I/O.
  Result<ServerMetadata> metadata = Error(ErrorCode::invalid_response, "discovery failed");
  if (auto cached = detail::cached_metadata(state.issuer)) {
    metadata = std::move(*cached);
  } else {
    metadata = fetch_metadata(*transport_, state.issuer, *clock_);
    if (metadata) detail::cache_metadata(state.issuer, *metadata);
  }

  lock.lock();
  if (metadata) {
    state.publish_locked(std::move(*metadata));
  } else {
    flight->error = metadata.error();
  }
  flight->done = true;
  state.flight.reset();
  lock.unlock();
  state.flight_done.notify_all();
  if (flight->error) return *flight->error;
  return state.known.load(std::memory_order_acquire);
}

Result<ServerMetadata> AuthorizationServer::metadata() const {
  auto metadata = resolve();
  if (!metadata) return metadata.error();
  return **metadata;
}

bool AuthorizationServer::has_metadata() const {
  return metadata_->known.load(std::memory_order_acquire) != nullptr;
}

// when_supported needs the metadata: the server says in it whether it takes DPoP proofs.
bool AuthorizationServer::uses_dpop() const {
  switch (client_.dpop) {
    case DpopMode::off:
      return false;
    case DpopMode::required:
      return true;
    case DpopMode::when_supported: {
      auto metadata = resolve();
      if (!metadata) return false;
      const auto& algs = (*metadata)->dpop_signing_alg_values_supported;
      return std::find(algs.begin(), algs.end(), "ES256") != algs.end();
    }
  }
  return false;
}

std::shared_ptr<const DpopKey> AuthorizationServer::new_dpop_key() const {
  return uses_dpop() ? DpopKey::generate() : nullptr;
}

Result<TokenSet> AuthorizationServer::refresh(const Secret& refresh_token, const std::string& scope,
                                              std::shared_ptr<const DpopKey> dpop_key,
                                              const std::string& resource) const {
  if (refresh_token.empty()) return Error(ErrorCode::login_required, "no refresh token");
  auto metadata = resolve();
  if (!metadata) return metadata.error();
  util::FormFields fields =
      form_fields({{"grant_type", "refresh_token"}, {"refresh_token", refresh_token.reveal()}});
  if (!scope.empty()) fields.emplace_back("scope", scope);
  if (!resource.empty()) fields.emplace_back("resource", resource);
  return token_request(*transport_, **metadata, client_, *clock_, std::move(fields),
                       "refresh_token grant", std::move(dpop_key), *dpop_nonces_);
}

Result<TokenSet> AuthorizationServer::client_credentials(const std::string& scope) const {
  if (client_.auth == ClientAuth::none) {
    return Error(ErrorCode::config, "client_credentials needs a confidential client");
  }
  auto metadata = resolve();
  if (!metadata) return metadata.error();
  util::FormFields fields{{"grant_type", "client_credentials"}};
  if (!scope.empty()) fields.emplace_back("scope", scope);
  return token_request(*transport_, **metadata, client_, *clock_, std::move(fields),
                       "client_credentials grant", new_dpop_key(), *dpop_nonces_);
}

Result<TokenSet> AuthorizationServer::exchange_code(const Secret& code,
                                                    const std::string& redirect_uri,
                                                    const Secret& code_verifier,
                                                    std::shared_ptr<const DpopKey> dpop_key,
                                                    const std::string& resource) const {
  auto metadata = resolve();
  if (!metadata) return metadata.error();
  util::FormFields fields = form_fields({{"grant_type", "authorization_code"},
                                         {"code", code.reveal()},
                                         {"redirect_uri", redirect_uri},
                                         {"code_verifier", code_verifier.reveal()}});
  if (!resource.empty()) fields.emplace_back("resource", resource);
  return token_request(*transport_, **metadata, client_, *clock_, std::move(fields),
                       "authorization_code grant", std::move(dpop_key), *dpop_nonces_);
}

Result<DeviceAuthorization> AuthorizationServer::start_device_authorization(
    const std::string& scope, const std::vector<std::string>& resources) const {
  auto metadata = resolve();
  if (!metadata) return metadata.error();
  if (auto ok = require_endpoint("device_authorization_endpoint",
                                 (*metadata)->device_authorization_endpoint);
      !ok) {
    return ok.error();
  }
  util::FormFields fields;
  if (!scope.empty()) fields.emplace_back("scope", scope);
  for (const auto& resource : resources) fields.emplace_back("resource", resource);
  auto response = send_form(*transport_, client_, (*metadata)->device_authorization_endpoint,
                            std::move(fields));
  if (!response) return response.error();
  if (!is_success(response->status)) {
    return detail::error_from_response(*response, clock_->now(), "device authorization");
  }
  auto result = detail::parse_device_authorization(response->body);
  wipe(response->body);
  return result;
}

Result<TokenSet> AuthorizationServer::poll_device_token(const Secret& device_code,
                                                        std::shared_ptr<const DpopKey> dpop_key,
                                                        const std::string& resource) const {
  auto metadata = resolve();
  if (!metadata) return metadata.error();
  util::FormFields fields =
      form_fields({{"grant_type", kDeviceCodeGrant}, {"device_code", device_code.reveal()}});
  if (!resource.empty()) fields.emplace_back("resource", resource);
  return token_request(*transport_, **metadata, client_, *clock_, std::move(fields),
                       "device_code grant", std::move(dpop_key), *dpop_nonces_);
}

Result<void> AuthorizationServer::revoke(const Secret& token, std::string_view token_type_hint,
                                         std::shared_ptr<const DpopKey> dpop_key) const {
  auto metadata = resolve();
  if (!metadata) return metadata.error();
  const std::string& endpoint = (*metadata)->revocation_endpoint;
  if (auto ok = require_endpoint("revocation_endpoint", endpoint); !ok) {
    return ok.error();
  }
  util::FormFields fields = form_fields({{"token", token.reveal()}});
  if (!token_type_hint.empty()) fields.emplace_back("token_type_hint", token_type_hint);
  auto response = send_form(*transport_, client_, endpoint, std::move(fields),
                            DpopContext{dpop_key.get(), dpop_nonces_.get()});
  if (!response) return response.error();
  // RFC 7009 §2.2: 200 whether or not the token was valid.
  if (is_success(response->status)) return {};
  return detail::error_from_response(*response, clock_->now(), "revocation");
}

}  // namespace freshtoken
