// Session against the in-process mock server over real HTTP (the curl transport): single
// flight with rotation and reuse detection on, failure classes through the server's faults.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "freshtoken/authorization_server.hpp"
#include "freshtoken/mock_server.hpp"
#include "freshtoken/platform/secret_stores.hpp"
#include "freshtoken/session.hpp"
#include "freshtoken/transport.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class SessionMockServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mock::MockServerOptions options;
    options.rotation = true;  // with reuse detection: a second use of a rotated token kills it
    server_ = std::make_unique<mock::MockServer>(options);
    server_->start();
    transport_ = make_curl_transport();
    ClientConfig client;
    client.client_id = "freshtoken-demo";
    auto discovered = AuthorizationServer::discover(transport_, server_->issuer(), client, clock_);
    ASSERT_TRUE(discovered) << discovered.error().to_string();
    as_ = *discovered;
  }
  void TearDown() override { server_->stop(); }

  std::shared_ptr<Session> make_session() {
    SessionOptions o;
    o.server = as_;
    o.store = store_;
    o.account = server_->issuer() + "|freshtoken-demo|alice";
    o.clock = clock_;
    o.policy.jitter_fraction = 0;
    o.policy.initial_backoff = 1ms;
    o.policy.max_backoff = 1ms;
    return Session::create(o).value();
  }

  // Signs `session` in with tokens the server issued as if alice had just signed in.
  void sign_in(Session& session) {
    const auto issued = server_->issue_tokens("alice", "freshtoken-demo", "openid profile api");
    TokenSet t;
    t.access_token = Secret(issued.access_token);
    t.refresh_token = Secret(issued.refresh_token);
    t.scope = issued.scope;
    t.issued_at = clock_->now();
    t.expires_at = clock_->now() + issued.expires_in;
    ASSERT_TRUE(session.sign_in(std::move(t)));
  }

  int refresh_grants() const { return server_->stats().token_requests.refresh_token; }

  int api_status(const Secret& token) {
    Request r;
    r.url = server_->issuer() + "/api/me";
    r.headers.set("Authorization", "Bearer " + std::string(token.reveal()));
    auto response = transport_->send(r);
    return response ? response->status : -1;
  }

  std::unique_ptr<mock::MockServer> server_;
  std::shared_ptr<Transport> transport_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::shared_ptr<AuthorizationServer> as_;
  std::shared_ptr<SecretStore> store_ = make_memory_store();
};

TEST_F(SessionMockServerTest, SixtyFourThreadsWithAnExpiredTokenMakeOneRefreshAndRevokeNothing) {
  auto session = make_session();
  sign_in(*session);
  clock_->advance(2h);  // past the 1 h access-token lifetime, as far as the session knows

  constexpr int kThreads = 64;
  std::atomic<bool> go{false};
  std::vector<std::future<Result<Secret>>> results;
  for (int i = 0; i < kThreads; ++i) {
    results.push_back(std::async(std::launch::async, [&] {
      while (!go.load()) std::this_thread::yield();
      return session->token();
    }));
  }
  go = true;
  std::vector<Secret> tokens;
  for (auto& f : results) {
    auto token = f.get();
    ASSERT_TRUE(token) << token.error().to_string();
    tokens.push_back(*token);
  }
  for (const auto& t : tokens) EXPECT_TRUE(t == tokens.front()) << t << " vs " << tokens.front();

  const mock::MockServerStats stats = server_->stats();
  EXPECT_EQ(stats.token_requests.refresh_token, 1);
  EXPECT_EQ(stats.families_revoked, 0);
  EXPECT_EQ(stats.refresh_reuse_detected, 0);
  EXPECT_EQ(api_status(tokens.front()), 200);

  // The rotated refresh token was kept: the next refresh works too.
  clock_->advance(2h);
  auto next = session->token();
  ASSERT_TRUE(next) << next.error().to_string();
  EXPECT_FALSE(*next == tokens.front());
  EXPECT_EQ(refresh_grants(), 2);
  EXPECT_EQ(server_->stats().families_revoked, 0);
}

TEST_F(SessionMockServerTest, ServiceUnavailableIsRetriedAndTheRefreshTokenKept) {
  auto session = make_session();
  sign_in(*session);
  mock::Fault fault;
  fault.endpoint = mock::FaultEndpoint::token;
  fault.kind = mock::FaultKind::status;
  fault.status = 503;
  fault.retry_after = "1";
  fault.times = 2;
  server_->arm_fault(fault);
  clock_->advance(2h);
  auto token = session->token();
  ASSERT_TRUE(token) << token.error().to_string();
  EXPECT_EQ(api_status(*token), 200);
  EXPECT_EQ(server_->stats().families_revoked, 0);
}

TEST_F(SessionMockServerTest, TruncatedAnswersAreRetriedUntilTheRetriesRunOut) {
  auto session = make_session();
  sign_in(*session);
  mock::Fault fault;
  fault.endpoint = mock::FaultEndpoint::token;
  fault.kind = mock::FaultKind::not_json;
  fault.times = 4;
  server_->arm_fault(fault);
  clock_->advance(2h);
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::invalid_response);
  EXPECT_TRUE(session->status()->signed_in);  // the refresh token is kept
}

TEST_F(SessionMockServerTest, RevokedFamilyRequiresLoginAndErasesTheStore) {
  auto session = make_session();
  sign_in(*session);
  auto stored = store_->load("freshtoken", server_->issuer() + "|freshtoken-demo|alice");
  ASSERT_TRUE(stored);
  server_->revoke_user("alice");
  clock_->advance(2h);
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
  EXPECT_TRUE(token.error().is_oauth("invalid_grant"));
  auto erased = store_->load("freshtoken", server_->issuer() + "|freshtoken-demo|alice");
  ASSERT_FALSE(erased);
  EXPECT_EQ(erased.error().code(), ErrorCode::not_found);
}

}  // namespace
}  // namespace freshtoken
