// MockState driven directly, without HTTP: the OAuth rules of the mock server (codes, refresh
// rotation and reuse detection, device polling, revocation), its faults and its counters.
#include <chrono>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "state.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken::mock::detail {
namespace {

using std::chrono::seconds;

const std::string kVerifier(43, 'v');
const std::string kRedirect = "http://127.0.0.1:5000/cb";

class MockStateTest : public ::testing::Test {
 protected:
  // Derived fixtures change it in their constructor.
  MockServerOptions options_;

  void SetUp() override {
    state_ = std::make_unique<MockState>(options_);
    state_->set_issuer("http://127.0.0.1:1");
  }

  std::string code(const std::string& scope = "openid profile api") {
    const std::string challenge = util::base64url_encode(util::sha256(kVerifier));
    return state_->issue_code(
        CodeGrant{"freshtoken-demo", kRedirect, challenge, "alice", scope, "nonce-1"});
  }

  Outcome<IssuedTokens> redeem(const std::string& c) {
    return state_->redeem_code("freshtoken-demo", c, kRedirect, kVerifier);
  }

  Outcome<IssuedTokens> refresh(const std::string& token,
                                const std::optional<std::string>& scope = std::nullopt) {
    return state_->refresh("freshtoken-demo", token, scope);
  }

  std::unique_ptr<MockState> state_;
};

TEST_F(MockStateTest, RedeemedCodeGivesTokensAndItsReplayRevokesThem) {
  const std::string c = code();
  const auto first = redeem(c);
  ASSERT_TRUE(first) << first.error().description;
  EXPECT_EQ(first.value().scope, "openid profile api");
  EXPECT_FALSE(first.value().refresh_token.empty());
  EXPECT_FALSE(first.value().id_token.empty());
  EXPECT_TRUE(state_->valid_access_claims(first.value().access_token));

  const auto replay = redeem(c);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().error, "invalid_grant");
  EXPECT_FALSE(state_->valid_access_claims(first.value().access_token));
  EXPECT_EQ(refresh(first.value().refresh_token).error().description,
            "The refresh token was revoked");
  EXPECT_EQ(state_->stats().families_revoked, 1);
}

TEST_F(MockStateTest, CodeIsBoundToClientRedirectVerifierAndLifetime) {
  const std::string challenge = util::base64url_encode(util::sha256(kVerifier));
  EXPECT_FALSE(state_->redeem_code("freshtoken-other", code(), kRedirect, kVerifier));
  EXPECT_FALSE(state_->redeem_code("freshtoken-demo", code(), kRedirect + "x", kVerifier));
  EXPECT_FALSE(state_->redeem_code("freshtoken-demo", code(), kRedirect, std::string(43, 'w')));
  const std::string late = code();
  state_->advance_clock(seconds(61));
  EXPECT_EQ(redeem(late).error().description, "The authorization code expired");
  EXPECT_EQ(redeem("no-such-code").error().description, "The authorization code is unknown");
}

TEST_F(MockStateTest, RefreshRotatesAndAReusedTokenRevokesTheFamily) {
  const auto signed_in = state_->issue_tokens("alice", "freshtoken-demo", "openid api", {});
  const auto second = refresh(signed_in.refresh_token);
  ASSERT_TRUE(second);
  EXPECT_NE(second.value().refresh_token, signed_in.refresh_token);
  EXPECT_FALSE(second.value().id_token.empty());

  const auto reuse = refresh(signed_in.refresh_token);
  ASSERT_FALSE(reuse);
  EXPECT_EQ(reuse.error().description, "The refresh token was already used");
  EXPECT_FALSE(refresh(second.value().refresh_token));  // the whole family
  const MockServerStats stats = state_->stats();
  EXPECT_EQ(stats.refreshes, 1);
  EXPECT_EQ(stats.refresh_reuse_detected, 1);
  EXPECT_EQ(stats.families_revoked, 1);
  EXPECT_EQ(stats.active_families, 0);
}

TEST_F(MockStateTest, RefreshMayNarrowTheScopeButNotWidenIt) {
  const auto signed_in = state_->issue_tokens("alice", "freshtoken-demo", "openid api", {});
  const auto wider = refresh(signed_in.refresh_token, std::string("openid api admin"));
  ASSERT_FALSE(wider);
  EXPECT_EQ(wider.error().error, "invalid_scope");
  const auto narrower = refresh(signed_in.refresh_token, std::string("api"));
  ASSERT_TRUE(narrower);
  EXPECT_EQ(narrower.value().scope, "api");
  EXPECT_TRUE(narrower.value().id_token.empty());
}

class GraceStateTest : public MockStateTest {
 protected:
  GraceStateTest() { options_.reuse_grace = seconds(30); }
};

TEST_F(GraceStateTest, ReuseWithinTheGraceWindowAnswersTheCurrentToken) {
  const auto signed_in = state_->issue_tokens("alice", "freshtoken-demo", "api", {});
  const auto second = refresh(signed_in.refresh_token);
  ASSERT_TRUE(second);
  const auto again = refresh(signed_in.refresh_token);
  ASSERT_TRUE(again);
  EXPECT_EQ(again.value().refresh_token, second.value().refresh_token);
  state_->advance_clock(seconds(31));
  EXPECT_FALSE(refresh(signed_in.refresh_token));
  EXPECT_EQ(state_->stats().refresh_grace_reuses, 1);
  EXPECT_EQ(state_->stats().refresh_reuse_detected, 1);
}

TEST_F(MockStateTest, DevicePollingIsPendingThenTooFastThenApprovedOnce) {
  const DeviceCodes codes = state_->start_device("freshtoken-demo", "openid api");
  EXPECT_EQ(codes.user_code.size(), 9u);
  EXPECT_EQ(codes.user_code[4], '-');
  EXPECT_EQ(state_->poll_device("freshtoken-demo", codes.device_code).error().error,
            "authorization_pending");
  EXPECT_EQ(state_->poll_device("freshtoken-demo", codes.device_code).error().error, "slow_down");
  state_->approve_device(codes.user_code, "bob");
  state_->advance_clock(seconds(11));  // the interval grew to 10 s
  const auto tokens = state_->poll_device("freshtoken-demo", codes.device_code);
  ASSERT_TRUE(tokens) << tokens.error().description;
  EXPECT_EQ(state_->valid_access_claims(tokens.value().access_token)->at("sub"), "bob");
  EXPECT_EQ(state_->poll_device("freshtoken-demo", codes.device_code).error().description,
            "The device_code is unknown");
  EXPECT_THROW(state_->approve_device(codes.user_code, "bob"), std::invalid_argument);
}

TEST_F(MockStateTest, FaultsApplyToTheirEndpointForTheirCount) {
  Fault fault;
  fault.endpoint = FaultEndpoint::api;
  fault.kind = FaultKind::drop;
  fault.times = 2;
  state_->arm_fault(fault);
  EXPECT_FALSE(state_->begin_request(FaultEndpoint::token, "refresh_token"));
  EXPECT_EQ(state_->stats().faults_armed, 1);
  EXPECT_EQ(state_->begin_request(FaultEndpoint::api, "")->kind, FaultKind::drop);
  EXPECT_TRUE(state_->begin_request(FaultEndpoint::api, ""));
  EXPECT_FALSE(state_->begin_request(FaultEndpoint::api, ""));
  const MockServerStats stats = state_->stats();
  EXPECT_EQ(stats.faults_triggered, 2);
  EXPECT_EQ(stats.faults_armed, 0);
  EXPECT_EQ(stats.api_requests, 3);
}

TEST_F(MockStateTest, ArmingRefusesFaultsThatCannotHappen) {
  Fault fault;
  fault.times = 0;
  EXPECT_THROW(state_->arm_fault(fault), std::invalid_argument);
  fault.times = 1;
  fault.status = 99;
  EXPECT_THROW(state_->arm_fault(fault), std::invalid_argument);
  fault.status = 503;
  fault.delay_ms = -1;
  EXPECT_THROW(state_->arm_fault(fault), std::invalid_argument);
  EXPECT_EQ(state_->stats().faults_armed, 0);
}

TEST_F(MockStateTest, TokenRequestsAreCountedByGrantTypeAndResetForgetsEverything) {
  for (const char* grant :
       {"authorization_code", "refresh_token", "refresh_token", "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code", "password", ""}) {
    state_->begin_request(FaultEndpoint::token, grant);
  }
  state_->set_clock_offset(seconds(5));
  const auto tokens = state_->issue_tokens("alice", "freshtoken-demo", "api", {});
  TokenRequestCounts counts = state_->stats().token_requests;
  EXPECT_EQ(counts.authorization_code, 1);
  EXPECT_EQ(counts.refresh_token, 2);
  EXPECT_EQ(counts.client_credentials, 1);
  EXPECT_EQ(counts.device_code, 1);
  EXPECT_EQ(counts.other, 2);
  EXPECT_EQ(state_->stats().clock_offset, seconds(5));

  state_->reset();
  counts = state_->stats().token_requests;
  EXPECT_EQ(counts.refresh_token + counts.other, 0);
  EXPECT_EQ(state_->stats().clock_offset, seconds(0));
  EXPECT_FALSE(state_->valid_access_claims(tokens.access_token));
  EXPECT_EQ(refresh(tokens.refresh_token).error().description, "The refresh token is unknown");
}

TEST_F(MockStateTest, RevokingAUserEndsItsTokensButNotOthers) {
  const auto alice = state_->issue_tokens("alice", "freshtoken-demo", "api", {});
  const auto bob = state_->issue_tokens("bob", "freshtoken-demo", "api", {});
  state_->revoke_user("alice");
  EXPECT_FALSE(state_->valid_access_claims(alice.access_token));
  EXPECT_FALSE(refresh(alice.refresh_token));
  EXPECT_TRUE(state_->valid_access_claims(bob.access_token));
  EXPECT_TRUE(refresh(bob.refresh_token));
  EXPECT_THROW(state_->revoke_user("mallory"), std::invalid_argument);
}

TEST_F(MockStateTest, IssueTokensRefusesUnknownUsersClientsAndScopes) {
  EXPECT_THROW(state_->issue_tokens("mallory", "freshtoken-demo", "api", {}),
               std::invalid_argument);
  EXPECT_THROW(state_->issue_tokens("alice", "freshtoken-service", "api", {}),
               std::invalid_argument);
  EXPECT_THROW(state_->issue_tokens("alice", "freshtoken-demo", "api email", {}),
               std::invalid_argument);
  EXPECT_THROW(state_->issue_tokens("alice", "freshtoken-demo", "api", seconds(0)),
               std::invalid_argument);
}

TEST_F(MockStateTest, OfflineAccessIsKnownAndByDefaultNotNeededForARefreshToken) {
  const auto with = state_->issue_tokens("alice", "freshtoken-demo", "openid offline_access", {});
  EXPECT_EQ(with.scope, "openid offline_access");
  EXPECT_FALSE(with.refresh_token.empty());
  EXPECT_FALSE(
      state_->issue_tokens("alice", "freshtoken-demo", "openid", {}).refresh_token.empty());
}

class OfflineAccessStateTest : public MockStateTest {
 protected:
  OfflineAccessStateTest() { options_.require_offline_access = true; }
};

TEST_F(OfflineAccessStateTest, SignInsGetARefreshTokenOnlyWhenOfflineAccessWasGranted) {
  const auto without = redeem(code("openid api"));
  ASSERT_TRUE(without);
  EXPECT_TRUE(without.value().refresh_token.empty());
  EXPECT_FALSE(without.value().id_token.empty());
  EXPECT_EQ(state_->stats().active_families, 0);

  const auto with = redeem(code("openid api offline_access"));
  ASSERT_TRUE(with);
  EXPECT_FALSE(with.value().refresh_token.empty());
  EXPECT_TRUE(refresh(with.value().refresh_token));

  EXPECT_TRUE(state_->issue_tokens("alice", "freshtoken-demo", "api", {}).refresh_token.empty());
  const DeviceCodes device = state_->start_device("freshtoken-demo", "api");
  state_->approve_device(device.user_code, "alice");
  const auto polled = state_->poll_device("freshtoken-demo", device.device_code);
  ASSERT_TRUE(polled);
  EXPECT_TRUE(polled.value().refresh_token.empty());
}

TEST_F(OfflineAccessStateTest, AReplayedCodeRevokesAccessTokensEvenWithoutARefreshToken) {
  const std::string c = code("api");
  const auto tokens = redeem(c);
  ASSERT_TRUE(tokens);
  ASSERT_TRUE(state_->valid_access_claims(tokens.value().access_token));
  EXPECT_FALSE(redeem(c));
  EXPECT_FALSE(state_->valid_access_claims(tokens.value().access_token));
}

}  // namespace
}  // namespace freshtoken::mock::detail
