// Shared fixtures for the AuthorizationServer tests.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "fake_transport.hpp"
#include "freshtoken/authorization_server.hpp"
#include "freshtoken/clock.hpp"
#include "util/encoding.hpp"

namespace freshtoken::testing {

// 2023-11-14T22:13:20Z: a whole second, so expiry arithmetic is exact.
inline Clock::time_point test_epoch() {
  return Clock::time_point(std::chrono::seconds(1'700'000'000));
}

inline ServerMetadata test_metadata() {
  ServerMetadata m;
  m.issuer = "https://as.example";
  m.authorization_endpoint = "https://as.example/authorize";
  m.token_endpoint = "https://as.example/token";
  m.device_authorization_endpoint = "https://as.example/device_authorization";
  m.revocation_endpoint = "https://as.example/revoke";
  return m;
}

inline ClientConfig public_client(std::string id = "freshtoken-demo") {
  ClientConfig c;
  c.client_id = std::move(id);
  c.auth = ClientAuth::none;
  return c;
}

inline ClientConfig confidential_client(ClientAuth auth, std::string id, std::string secret) {
  ClientConfig c;
  c.client_id = std::move(id);
  c.client_secret = Secret(std::string_view(secret));
  c.auth = auth;
  return c;
}

// The form fields of a request body as a map (OAuth forbids repeated parameters anyway).
inline std::map<std::string, std::string> form_of(const Request& request) {
  std::map<std::string, std::string> out;
  auto fields = util::form_decode_fields(request.body);
  if (!fields) return {{"<malformed>", request.body}};
  for (auto& [k, v] : *fields) out[k] = v;
  return out;
}

struct ServerFixture {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(test_epoch());

  AuthorizationServer make(ClientConfig client = public_client(),
                           ServerMetadata metadata = test_metadata()) {
    return AuthorizationServer(transport, std::move(metadata), std::move(client), clock);
  }
};

}  // namespace freshtoken::testing
