// Shared pieces of the micro-benchmarks: a Transport that answers at once from memory, and a
// signed-in Session whose token stays valid for the whole run (nothing reaches a network).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "freshtoken/authorization_server.hpp"
#include "freshtoken/platform/secret_stores.hpp"
#include "freshtoken/session.hpp"
#include "freshtoken/transport.hpp"

namespace freshtoken::bench {

// Answers every request with the same small 200, shaped like GET /api/me's answer. Building
// the Response is part of any transport's cost, so it is included.
class NoopTransport final : public Transport {
 public:
  Result<Response> send(const Request&) override {
    Response response;
    response.status = 200;
    response.headers.add("Content-Type", "application/json");
    response.headers.add("Content-Length", "62");
    response.body = R"({"client_id":"freshtoken-demo","scope":"openid profile api","sub":"alice"})";
    return response;
  }
};

// A Session signed in with a JWT-sized access token valid for a day.
inline std::shared_ptr<Session> make_signed_in_session(std::shared_ptr<Transport> transport) {
  ServerMetadata metadata;
  metadata.issuer = "http://127.0.0.1:9";
  metadata.token_endpoint = "http://127.0.0.1:9/token";
  ClientConfig client;
  client.client_id = "freshtoken-demo";
  SessionOptions options;
  options.server = std::make_shared<AuthorizationServer>(std::move(transport), metadata, client);
  options.store = make_memory_store();
  options.account = "micro|freshtoken-demo|alice";
  auto session = Session::create(std::move(options)).value();
  TokenSet tokens;
  tokens.access_token = Secret(std::string(700, 'a'));
  tokens.refresh_token = Secret(std::string(43, 'r'));
  tokens.issued_at = std::chrono::system_clock::now();
  tokens.expires_at = tokens.issued_at + std::chrono::hours(24);
  (void)session->sign_in(std::move(tokens));
  return session;
}

}  // namespace freshtoken::bench
