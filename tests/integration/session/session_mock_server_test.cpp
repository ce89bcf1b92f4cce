// Session against the in-process mock server over real HTTP (the curl transport): single
// flight with rotation and reuse detection on, failure classes through the server's faults.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "mock_session_fixture.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class SessionMockServerTest : public testing::MockServerSessionTest {
 protected:
  SessionMockServerTest() {
    // With reuse detection: a second use of a rotated token kills it.
    server_options_.rotation = true;
    policy_.initial_backoff = 1ms;
    policy_.max_backoff = 1ms;
  }
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

TEST_F(SessionMockServerTest, MockSignInTokensCarryTheirExpirySoTheSessionRefreshesAhead) {
  auto session = make_session();
  ASSERT_TRUE(session->sign_in(
      server_->sign_in("alice", testing::kDemoClient, "openid profile api", clock_->now())));
  auto first = session->token();
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(refresh_grants(), 0);
  EXPECT_EQ(api_status(*first), 200);

  // 10 s before the 1 h expiry the session knows of: inside the hard margin, token() refreshes.
  clock_->advance(1h - 10s);
  auto second = session->token();
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(refresh_grants(), 1);
  EXPECT_FALSE(*second == *first);
}

TEST_F(SessionMockServerTest, MockSignInIsAFullSignInOnTheSystemClockByDefault) {
  const auto before = std::chrono::system_clock::now();
  const TokenSet tokens = server_->sign_in("alice");
  const auto after = std::chrono::system_clock::now();
  EXPECT_GE(tokens.issued_at, before);
  EXPECT_LE(tokens.issued_at, after);
  ASSERT_TRUE(tokens.expires_at);
  EXPECT_EQ(*tokens.expires_at - tokens.issued_at, server_options_.access_token_ttl);
  EXPECT_EQ(tokens.token_type, "Bearer");
  EXPECT_EQ(tokens.scope, "openid profile api");
  EXPECT_FALSE(tokens.refresh_token.empty());
  EXPECT_FALSE(tokens.id_token.empty());
  EXPECT_EQ(api_status(tokens.access_token), 200);
  EXPECT_EQ(server_->stats().token_requests.authorization_code, 0);
  EXPECT_THROW(server_->sign_in("nobody"), std::invalid_argument);
}

TEST_F(SessionMockServerTest, ServiceUnavailableIsRetriedAndTheRefreshTokenKept) {
  auto session = make_session();
  sign_in(*session);
  mock::Fault fault = testing::token_fault(mock::FaultKind::status, 2);
  fault.status = 503;
  fault.retry_after = "1";
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
  server_->arm_fault(testing::token_fault(mock::FaultKind::not_json, 4));
  clock_->advance(2h);
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::invalid_response);
  EXPECT_TRUE(session->status()->signed_in);  // the refresh token is kept
}

TEST_F(SessionMockServerTest, RevokedFamilyRequiresLoginAndErasesTheStore) {
  auto session = make_session();
  sign_in(*session);
  auto stored = store_->load("freshtoken", account());
  ASSERT_TRUE(stored);
  server_->revoke_user("alice");
  clock_->advance(2h);
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
  EXPECT_TRUE(token.error().is_oauth("invalid_grant"));
  auto erased = store_->load("freshtoken", account());
  ASSERT_FALSE(erased);
  EXPECT_EQ(erased.error().code(), ErrorCode::not_found);
}

}  // namespace
}  // namespace freshtoken
