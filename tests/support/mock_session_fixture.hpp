// Sessions against the in-process mock server over real HTTP: the server started with the
// fixture's options, a curl transport, the AuthorizationServer discovered for the demo client,
// and Sessions for alice on the fixture's store.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "freshtoken/authorization_server.hpp"
#include "freshtoken/mock_server.hpp"
#include "freshtoken/platform/secret_stores.hpp"
#include "freshtoken/session.hpp"
#include "freshtoken/transport.hpp"

namespace freshtoken::testing {

inline constexpr const char* kDemoClient = "freshtoken-demo";

// The account name of alice at `issuer`.
inline std::string alice_account(const std::string& issuer) {
  return issuer + "|" + kDemoClient + "|alice";
}

// Tokens the server issued, as a sign-in completed at `now` holds them.
inline TokenSet signed_in_tokens(const mock::IssuedTokens& issued,
                                 std::chrono::system_clock::time_point now) {
  TokenSet t;
  t.access_token = Secret(issued.access_token);
  t.refresh_token = Secret(issued.refresh_token);
  t.scope = issued.scope;
  t.issued_at = now;
  t.expires_at = now + issued.expires_in;
  return t;
}

// A fault at the token endpoint for the next `times` requests (a status fault answers 503 until
// the caller changes it).
inline mock::Fault token_fault(mock::FaultKind kind, int times = 1) {
  mock::Fault f;
  f.endpoint = mock::FaultEndpoint::token;
  f.kind = kind;
  f.times = times;
  return f;
}

// Derived fixtures change the members below in their constructor (before SetUp runs), or call
// start() themselves after overriding SetUp.
class MockServerSessionTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }
  void TearDown() override {
    if (server_) server_->stop();
  }

  // Starts the server, makes the transport and discovers the server.
  void start() {
    server_ = std::make_unique<mock::MockServer>(server_options_);
    server_->start();
    transport_ = make_curl_transport(transport_options_);
    auto discovered = AuthorizationServer::discover(transport_, server_->issuer(), client_, clock_);
    ASSERT_TRUE(discovered) << discovered.error().to_string();
    as_ = *discovered;
  }

  std::string account() const { return alice_account(server_->issuer()); }

  // alice's Session on store_ with the manual clock, `policy` and no jitter.
  SessionOptions session_options(const RefreshPolicy& policy) const {
    SessionOptions o;
    o.server = as_;
    o.store = store_;
    o.service = service_;
    o.account = account();
    o.clock = clock_;
    o.policy = policy;
    o.policy.jitter_fraction = 0;
    return o;
  }
  SessionOptions session_options() const { return session_options(policy_); }
  std::shared_ptr<Session> make_session() { return Session::create(session_options()).value(); }
  std::shared_ptr<Session> make_session(const RefreshPolicy& policy) {
    return Session::create(session_options(policy)).value();
  }

  // Tokens for alice straight from the server (not counted as token requests), as a sign-in
  // completed now would hold them.
  TokenSet fresh_sign_in_tokens(const std::string& scope = "openid profile api") {
    return signed_in_tokens(server_->issue_tokens("alice", kDemoClient, scope), clock_->now());
  }
  void sign_in(Session& session) { ASSERT_TRUE(session.sign_in(fresh_sign_in_tokens())); }

  int refresh_grants() const {
    return static_cast<int>(server_->stats().token_requests.refresh_token);
  }

  // GET /api/me with `token`: the status, -1 when the exchange failed.
  int api_status(const Secret& token) {
    Request r;
    r.url = server_->issuer() + "/api/me";
    r.headers.set("Authorization", "Bearer " + std::string(token.reveal()));
    auto response = transport_->send(r);
    return response ? response->status : -1;
  }

  mock::MockServerOptions server_options_;
  TransportOptions transport_options_;
  ClientConfig client_ = [] {
    ClientConfig c;
    c.client_id = kDemoClient;
    return c;
  }();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::shared_ptr<SecretStore> store_ = make_memory_store();
  RefreshPolicy policy_;
  std::string service_ = SessionOptions().service;

  std::unique_ptr<mock::MockServer> server_;
  std::shared_ptr<Transport> transport_;
  std::shared_ptr<AuthorizationServer> as_;
};

}  // namespace freshtoken::testing
