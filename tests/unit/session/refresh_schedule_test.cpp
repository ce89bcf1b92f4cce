// The refresh schedule's arithmetic, without threads or clocks: soft and hard points, jitter,
// backoff, policy validation and the classes of failure.
#include "session/refresh_schedule.hpp"

#include <gtest/gtest.h>

namespace freshtoken::detail {
namespace {

using namespace std::chrono_literals;

const TimePoint kIssued{std::chrono::seconds(1'700'000'000)};

TEST(RefreshSchedule, DefaultPointsAreEightyPercentAndTheThirtySecondMargin) {
  const auto points = refresh_points(RefreshPolicy{}, kIssued, kIssued + 3600s, 0.0);
  EXPECT_EQ(points.soft, kIssued + 2880s);
  EXPECT_EQ(points.hard, kIssued + 3570s);
}

TEST(RefreshSchedule, ShortLifetimesUseTenPercentAsTheMargin) {
  const auto points = refresh_points(RefreshPolicy{}, kIssued, kIssued + 100s, 0.0);
  EXPECT_EQ(points.hard, kIssued + 90s);
  EXPECT_EQ(points.soft, kIssued + 80s);
}

TEST(RefreshSchedule, JitterMovesTheSoftPointByAtMostItsFractionOfTheLifetime) {
  RefreshPolicy policy;
  policy.jitter_fraction = 0.05;
  EXPECT_EQ(refresh_points(policy, kIssued, kIssued + 1000s, 1.0).soft, kIssued + 850s);
  EXPECT_EQ(refresh_points(policy, kIssued, kIssued + 1000s, -1.0).soft, kIssued + 750s);
  // Out-of-range draws are clamped, not extrapolated.
  EXPECT_EQ(refresh_points(policy, kIssued, kIssued + 1000s, 7.0).soft, kIssued + 850s);
}

TEST(RefreshSchedule, SoftPointNeverPassesTheHardPoint) {
  RefreshPolicy policy;
  policy.soft_refresh_fraction = 1.0;
  const auto points = refresh_points(policy, kIssued, kIssued + 100s, 1.0);
  EXPECT_EQ(points.soft, points.hard);
}

TEST(RefreshSchedule, AnIssueTimeAfterTheExpiryCountsAsTheExpiry) {
  const auto points = refresh_points(RefreshPolicy{}, kIssued + 10s, kIssued, 0.0);
  EXPECT_EQ(points.soft, kIssued);
  EXPECT_EQ(points.hard, kIssued);
}

TEST(RefreshSchedule, BackoffDoublesUpToItsCeilingAndHonoursRetryAfter) {
  RefreshPolicy policy;  // 500 ms doubling, capped at 8 s
  EXPECT_EQ(backoff_delay(policy, 0, std::nullopt, 0.5), 250ms);
  EXPECT_EQ(backoff_delay(policy, 2, std::nullopt, 0.5), 1000ms);
  EXPECT_EQ(backoff_delay(policy, 10, std::nullopt, 0.5), 4000ms);
  EXPECT_EQ(backoff_delay(policy, 0, std::nullopt, 0.0), 0ms);
  EXPECT_EQ(backoff_delay(policy, 0, 3000ms, 0.5), 3000ms);
  // A server's Retry-After is capped at four times the backoff ceiling.
  EXPECT_EQ(backoff_delay(policy, 0, 3600s, 0.5), 32000ms);
}

TEST(RefreshSchedule, PolicyOutOfRangeIsNamed) {
  EXPECT_FALSE(policy_problem(RefreshPolicy{}));
  RefreshPolicy p;
  p.soft_refresh_fraction = 0;
  EXPECT_TRUE(policy_problem(p));
  p = RefreshPolicy{};
  p.hard_margin_fraction = 1;
  EXPECT_TRUE(policy_problem(p));
  p = RefreshPolicy{};
  p.jitter_fraction = 0.5;
  EXPECT_TRUE(policy_problem(p));
  p = RefreshPolicy{};
  p.initial_backoff = -1ms;
  EXPECT_TRUE(policy_problem(p));
}

TEST(RefreshSchedule, OnlyInvalidGrantAndInteractionRequiredRejectTheRefreshToken) {
  const auto oauth = [](const std::string& code) {
    return Error(ErrorCode::token_endpoint, "rejected").with_oauth(OAuthError{code, "", "", ""});
  };
  EXPECT_TRUE(is_rejected_grant(oauth("invalid_grant")));
  EXPECT_TRUE(is_rejected_grant(oauth("interaction_required")));
  EXPECT_FALSE(is_rejected_grant(oauth("invalid_client")));
  EXPECT_FALSE(is_rejected_grant(Error(ErrorCode::network, "down")));
}

TEST(RefreshSchedule, NetworkTimeoutsAndServerTroubleAreTransient) {
  EXPECT_TRUE(is_transient(Error(ErrorCode::network, "down")));
  EXPECT_TRUE(is_transient(Error(ErrorCode::timeout, "slow")));
  EXPECT_TRUE(is_transient(Error(ErrorCode::token_endpoint, "busy").with_http_status(503)));
  EXPECT_TRUE(is_transient(Error(ErrorCode::token_endpoint, "slow down").with_http_status(429)));
  EXPECT_FALSE(is_transient(Error(ErrorCode::token_endpoint, "bad").with_http_status(400)));
  EXPECT_FALSE(is_transient(Error(ErrorCode::tls, "bad certificate")));
}

}  // namespace
}  // namespace freshtoken::detail
