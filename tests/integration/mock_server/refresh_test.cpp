// Refresh tokens: rotation, reuse detection with family revocation, the grace window, idle and
// absolute lifetimes, scope narrowing, client binding, and rotation turned off.
#include "mock_server_fixture.hpp"

namespace freshtoken::mock::testing {
namespace {

using std::chrono::seconds;

class RefreshTest : public MockServerTest {
 protected:
  RefreshTest() {
    options_.access_token_ttl = seconds(60);
    options_.refresh_idle_ttl = seconds(100);
    options_.refresh_token_ttl = seconds(250);
  }
};

TEST_F(RefreshTest, RotationReturnsANewRefreshTokenAndInvalidatesTheOld) {
  const json first = code_flow();
  auto res = refresh(first["refresh_token"]);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  const json second = body_of(res);
  EXPECT_NE(second["refresh_token"], first["refresh_token"]);
  EXPECT_NE(second["access_token"], first["access_token"]);
  EXPECT_EQ(second["scope"], "openid profile api");
  EXPECT_EQ(body_of(get_with_token("/api/me", second["access_token"]))["sub"], "alice");
  auto third = refresh(second["refresh_token"]);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 200);
  const MockServerStats stats = server_->stats();
  EXPECT_EQ(stats.refreshes, 2);
  EXPECT_EQ(stats.token_requests.refresh_token, 2);
}

TEST_F(RefreshTest, ReuseOfARotatedTokenRevokesTheWholeFamily) {
  const json first = code_flow();
  const json second = body_of(refresh(first["refresh_token"]));
  ASSERT_TRUE(second.contains("refresh_token"));
  auto reuse = refresh(first["refresh_token"]);
  ASSERT_TRUE(reuse);
  EXPECT_EQ(reuse->status, 400);
  EXPECT_EQ(error_of(reuse), "invalid_grant");
  // The legitimate holder's current token and access token die with the family.
  EXPECT_EQ(error_of(refresh(second["refresh_token"])), "invalid_grant");
  auto api = get_with_token("/api/me", second["access_token"]);
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 401);
  const MockServerStats stats = server_->stats();
  EXPECT_EQ(stats.refresh_reuse_detected, 1);
  EXPECT_EQ(stats.families_revoked, 1);
}

TEST_F(RefreshTest, OtherFamiliesSurviveAReuseDetection) {
  const json a = code_flow();
  const json b = code_flow();
  body_of(refresh(a["refresh_token"]));
  EXPECT_EQ(error_of(refresh(a["refresh_token"])), "invalid_grant");
  auto ok = refresh(b["refresh_token"]);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(RefreshTest, IdleLifetimeSlidesWithEachUse) {
  json tokens = code_flow();
  for (int i = 0; i < 3; ++i) {  // 3 x 80 s = 240 s > idle 100 s, < absolute 250 s
    server_->advance_clock(seconds(80));
    auto res = refresh(tokens["refresh_token"]);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << "step " << i << ": " << res->body;
    tokens = body_of(res);
  }
}

TEST_F(RefreshTest, IdleLifetimeEndsAnUnusedSession) {
  const json tokens = code_flow();
  server_->advance_clock(seconds(101));
  auto idle = refresh(tokens["refresh_token"]);
  EXPECT_EQ(error_of(idle), "invalid_grant");
  EXPECT_NE(idle->body.find("idle"), std::string::npos);
}

TEST_F(RefreshTest, AbsoluteLifetimeEndsTheSessionDespiteUse) {
  json tokens = code_flow();
  for (int i = 0; i < 3; ++i) {
    server_->advance_clock(seconds(80));
    tokens = body_of(refresh(tokens["refresh_token"]));
    ASSERT_TRUE(tokens.contains("refresh_token")) << tokens.dump();
  }
  server_->advance_clock(seconds(20));  // 260 s since sign-in, 20 s idle
  auto res = refresh(tokens["refresh_token"]);
  EXPECT_EQ(error_of(res), "invalid_grant");
  EXPECT_NE(res->body.find("absolute"), std::string::npos);
}

TEST_F(RefreshTest, AccessTokenExpiresOnTheMockClock) {
  const json tokens = code_flow();
  auto before = get_with_token("/api/me", tokens["access_token"]);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 200);
  server_->set_clock_offset(seconds(61));
  auto after = get_with_token("/api/me", tokens["access_token"]);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401);
  EXPECT_EQ(after->get_header_value("WWW-Authenticate"), "Bearer error=\"invalid_token\"");
}

TEST_F(RefreshTest, ScopeMayNarrowButNeverWiden) {
  const json tokens = code_flow("freshtoken-demo", "openid api");
  auto narrow = refresh(tokens["refresh_token"], "freshtoken-demo", std::string("api"));
  ASSERT_TRUE(narrow);
  ASSERT_EQ(narrow->status, 200) << narrow->body;
  const json narrowed = body_of(narrow);
  EXPECT_EQ(narrowed["scope"], "api");
  EXPECT_FALSE(narrowed.contains("id_token"));
  // Narrowing one access token does not shrink the grant: the full scope is still available.
  auto full = refresh(narrowed["refresh_token"]);
  ASSERT_TRUE(full);
  EXPECT_EQ(body_of(full)["scope"], "openid api");
  auto widen =
      refresh(body_of(full)["refresh_token"], "freshtoken-demo", std::string("openid api admin"));
  ASSERT_TRUE(widen);
  EXPECT_EQ(widen->status, 400);
  EXPECT_EQ(error_of(widen), "invalid_scope");
}

TEST_F(RefreshTest, RefreshTokenIsBoundToItsClient) {
  const json tokens = code_flow();
  EXPECT_EQ(error_of(refresh(tokens["refresh_token"], "freshtoken-other")), "invalid_grant");
  auto own = refresh(tokens["refresh_token"]);  // not consumed by the foreign attempt
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200);
}

TEST_F(RefreshTest, MissingOrUnknownRefreshToken) {
  EXPECT_EQ(error_of(post_form(
                "/token", {{"grant_type", "refresh_token"}, {"client_id", "freshtoken-demo"}})),
            "invalid_request");
  EXPECT_EQ(error_of(refresh("not-a-token")), "invalid_grant");
}

TEST_F(RefreshTest, IssueTokensConvenienceGivesAWorkingFamily) {
  const auto tokens = server_->issue_tokens("bob", "freshtoken-demo", "openid api");
  EXPECT_FALSE(tokens.id_token.empty());
  EXPECT_EQ(body_of(get_with_token("/api/me", tokens.access_token))["sub"], "bob");
  auto res = refresh(tokens.refresh_token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(server_->stats().token_requests.authorization_code, 0);
  EXPECT_THROW(server_->issue_tokens("mallory"), std::invalid_argument);
}

class GraceTest : public MockServerTest {
 protected:
  GraceTest() { options_.reuse_grace = seconds(10); }
};

TEST_F(GraceTest, RotatedTokenInsideGraceGetsTheCurrentTokenWithoutRevocation) {
  const auto first = server_->issue_tokens();
  const json second = body_of(refresh(first.refresh_token));
  server_->advance_clock(seconds(5));
  auto again = refresh(first.refresh_token);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->status, 200) << again->body;
  EXPECT_EQ(body_of(again)["refresh_token"], second["refresh_token"]);
  EXPECT_EQ(server_->stats().refresh_reuse_detected, 0);
  EXPECT_EQ(server_->stats().refresh_grace_reuses, 1);
  auto next = refresh(second["refresh_token"]);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

TEST_F(GraceTest, RotatedTokenAfterGraceIsReuse) {
  const auto first = server_->issue_tokens();
  const json second = body_of(refresh(first.refresh_token));
  server_->advance_clock(seconds(11));
  EXPECT_EQ(error_of(refresh(first.refresh_token)), "invalid_grant");
  EXPECT_EQ(server_->stats().refresh_reuse_detected, 1);
  EXPECT_EQ(error_of(refresh(second["refresh_token"])), "invalid_grant");
}

TEST_F(GraceTest, CommitThenDropLosesTheAnswerButGraceRecovers) {
  const auto first = server_->issue_tokens();
  Fault fault;
  fault.kind = FaultKind::commit_then_drop;
  server_->arm_fault(fault);
  auto lost = refresh(first.refresh_token);
  EXPECT_FALSE(lost);                        // no answer at all
  EXPECT_EQ(server_->stats().refreshes, 1);  // but the rotation was committed
  auto retry = refresh(first.refresh_token);
  ASSERT_TRUE(retry);
  ASSERT_EQ(retry->status, 200) << retry->body;
  const json current = body_of(retry);
  auto next = refresh(current["refresh_token"]);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

class NoRotationTest : public MockServerTest {
 protected:
  NoRotationTest() { options_.rotation = false; }
};

TEST_F(NoRotationTest, RefreshOmitsRefreshTokenAndTheOldOneKeepsWorking) {
  const auto first = server_->issue_tokens();
  for (int i = 0; i < 3; ++i) {
    auto res = refresh(first.refresh_token);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_FALSE(body_of(res).contains("refresh_token"));
  }
  EXPECT_EQ(server_->stats().refresh_reuse_detected, 0);
}

}  // namespace
}  // namespace freshtoken::mock::testing
