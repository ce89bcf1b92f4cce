// Fault matrix, part 1: what the token endpoint can do wrong on the wire and in its answer.
// A fault armed for one request is followed by the real answer; one armed for four requests
// outlasts the session's retries (1 + max_retries = 4 requests per refresh).
#include <time.h>

#include "fault_fixture.hpp"

namespace freshtoken::faults {
namespace {

std::string http_date(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buffer;
}

// ---- 5xx ---------------------------------------------------------------------------------

class ServerErrorStatus : public FaultMatrixTest, public ::testing::WithParamInterface<int> {};

TEST_P(ServerErrorStatus, OnceIsRetriedAndTheRotatedTokenSaved) {
  sign_in();
  mock::Fault f = fault(mock::FaultKind::status);
  f.status = GetParam();
  f.body = "<html>bad gateway</html>";
  server_->arm_fault(f);
  const Outcome o = expire_and_call();
  report(std::to_string(GetParam()) + " once", o);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 2);
  EXPECT_EQ(o.store, "rotated");
}

TEST_P(ServerErrorStatus, PersistentGivesUpAfterFourRequestsAndKeepsTheRefreshToken) {
  sign_in();
  mock::Fault f = fault(mock::FaultKind::status, 4);
  f.status = GetParam();
  server_->arm_fault(f);
  const Outcome o = expire_and_call();
  report(std::to_string(GetParam()) + " persistent", o);
  EXPECT_EQ(o.app, "token_endpoint");
  ASSERT_TRUE(last_error_);
  EXPECT_EQ(last_error_->http_status(), GetParam());
  EXPECT_EQ(o.requests, 4);
  EXPECT_EQ(o.store, "kept");
  EXPECT_EQ(count_events(SessionEventKind::refresh_failed), 1);
  EXPECT_TRUE(session_->status()->signed_in);
}

INSTANTIATE_TEST_SUITE_P(FaultMatrix, ServerErrorStatus, ::testing::Values(500, 502, 503, 504));

TEST_F(FaultMatrixTest, PersistentServerErrorInsideTheHardMarginServesTheStillValidToken) {
  sign_in();
  auto before = session_->token();
  ASSERT_TRUE(before);
  server_->arm_fault(fault(mock::FaultKind::status, 4));  // 503
  clock_->advance(3600s - 10s);  // inside the 30 s hard margin, not yet expired
  const Outcome o = call_and_measure();
  report("503 persistent, token still valid", o);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 4);
  EXPECT_EQ(o.store, "kept");
  auto after = session_->token();
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, *before);
  // The refresh paused after giving up: no new attempts on every call meanwhile.
  EXPECT_EQ(call_and_measure().requests, 0);
}

// ---- 429 and Retry-After -------------------------------------------------------------------

TEST_F(FaultMatrixTest, TooManyRequestsWithRetryAfterSecondsIsHonoured) {
  sign_in();
  mock::Fault f = fault(mock::FaultKind::status);
  f.status = 429;
  f.retry_after = "1";
  server_->arm_fault(f);
  const Outcome o = expire_and_call();
  report("429 Retry-After: 1", o);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 2);
  EXPECT_EQ(o.store, "rotated");
  // The backoff drawn from 1 ms would be at most 1 ms: the retry waited for the server's 1 s.
  EXPECT_TRUE(logged("retry 1 of 3 in 1000 ms"));
}

TEST_F(FaultMatrixTest, TooManyRequestsWithRetryAfterHttpDateIsHonoured) {
  sign_in();
  clock_->advance(2h);
  mock::Fault f = fault(mock::FaultKind::status);
  f.status = 429;
  f.retry_after = http_date(clock_->now() + 1s);  // read against the client's clock
  server_->arm_fault(f);
  const Outcome o = call_and_measure();
  report("429 Retry-After: HTTP-date (+1 s)", o);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 2);
  EXPECT_EQ(o.store, "rotated");
  EXPECT_TRUE(logged("retry 1 of 3 in 1000 ms"));
}

TEST_F(FaultMatrixTest, PersistentTooManyRequestsReportsTheRetryAfter) {
  sign_in();
  mock::Fault f = fault(mock::FaultKind::status, 4);
  f.status = 429;
  f.retry_after = "120";
  server_->arm_fault(f);
  const Outcome o = expire_and_call();
  report("429 persistent, Retry-After: 120", o);
  EXPECT_EQ(o.app, "token_endpoint");
  ASSERT_TRUE(last_error_);
  EXPECT_EQ(last_error_->http_status(), 429);
  ASSERT_TRUE(last_error_->retry_after());
  EXPECT_EQ(*last_error_->retry_after(), 120s);
  EXPECT_EQ(o.requests, 4);
  EXPECT_EQ(o.store, "kept");
  // Capped at 4 * max_backoff so that a hostile Retry-After cannot park the session.
  EXPECT_TRUE(logged("retry 1 of 3 in 1000 ms"));
}

// ---- the connection --------------------------------------------------------------------------

TEST_F(FaultMatrixTest, ConnectionRefusedIsANetworkErrorAndKeepsTheRefreshToken) {
  sign_in();
  server_->stop();
  const Outcome o = expire_and_call();
  report("connection refused (server stopped)", o);
  EXPECT_EQ(o.app, "network");
  EXPECT_EQ(o.requests, 0);
  EXPECT_EQ(o.store, "kept");
  EXPECT_EQ(count_events(SessionEventKind::refresh_failed), 1);
  EXPECT_TRUE(session_->status()->signed_in);
}

// The first refresh goes out on the keep-alive connection left by discovery. When a reused
// connection dies before any byte of the answer, libcurl itself resends the request once on a
// fresh connection (the POST included); the session never sees that first drop.
TEST_F(FaultMatrixTest, DroppedConnectionOnceIsResentByLibcurlOnAFreshConnection) {
  sign_in();
  server_->arm_fault(fault(mock::FaultKind::drop));
  const Outcome o = expire_and_call();
  report("dropped connection once", o);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 2);
  EXPECT_EQ(o.store, "rotated");
  EXPECT_FALSE(logged("retry 1 of 3"));  // libcurl's resend, not the session's retry
}

TEST_F(FaultMatrixTest, PersistentlyDroppedConnectionIsANetworkErrorAndKeepsTheRefreshToken) {
  sign_in();
  server_->arm_fault(fault(mock::FaultKind::drop, 10));
  const Outcome o = expire_and_call();
  report("dropped connection persistent", o);
  EXPECT_EQ(o.app, "network");
  // The session's 4 attempts, the first of them resent once by libcurl (reused connection).
  EXPECT_EQ(o.requests, 5);
  EXPECT_EQ(o.store, "kept");
  EXPECT_TRUE(logged("retry 3 of 3"));
}

// The stalled request is not lost: the server handles it once its delay is over, long after
// the client gave up on it. With rotation and no reuse grace that late request presents a
// refresh token the retry already rotated out, and the server revokes the whole family.
TEST_F(FaultMatrixTest, StallPastTheTimeoutIsRetriedButTheLateRequestRevokesTheFamily) {
  sign_in();
  mock::Fault f = fault(mock::FaultKind::delay);
  f.delay_ms = 3000;  // > the 1 s request timeout
  server_->arm_fault(f);
  const Outcome o = expire_and_call();
  report("stall past the timeout once", o);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 2);
  EXPECT_EQ(o.store, "rotated");
  EXPECT_TRUE(logged("timeout"));

  // Wait for the stalled request to be handled (the server's own counter says when).
  for (int i = 0; i < 100 && stats().refresh_reuse_detected == 0; ++i) {
    std::this_thread::sleep_for(50ms);  // up to 5 s
  }
  EXPECT_EQ(stats().refresh_reuse_detected, 1);
  EXPECT_EQ(stats().families_revoked, 1);
  // The next refresh finds the rotated token dead: sign-in required, store erased.
  const Outcome next = expire_and_call();
  report("stall once, next refresh", next);
  EXPECT_EQ(next.app, "login_required");
  EXPECT_EQ(next.requests, 1);
  EXPECT_EQ(next.store, "erased");
}

TEST_F(FaultMatrixTest, PersistentStallIsATimeoutAndKeepsTheRefreshToken) {
  sign_in();
  mock::Fault f = fault(mock::FaultKind::delay, 4);
  f.delay_ms = 3000;
  server_->arm_fault(f);
  const Outcome o = expire_and_call();
  report("stall past the timeout persistent", o);
  EXPECT_EQ(o.app, "timeout");
  EXPECT_EQ(o.requests, 4);
  EXPECT_EQ(o.store, "kept");
  // The four late requests: the first rotates, the other three are reuse of the old token.
  for (int i = 0; i < 100 && stats().families_revoked == 0; ++i) {
    std::this_thread::sleep_for(50ms);  // up to 5 s
  }
  EXPECT_EQ(stats().families_revoked, 1);
}

class StallWithGrace : public FaultMatrixTest {
 protected:
  StallWithGrace() { server_options_.reuse_grace = 60s; }
};

TEST_F(StallWithGrace, TheLateRequestIsForgivenAndTheSessionKeepsWorking) {
  sign_in();
  mock::Fault f = fault(mock::FaultKind::delay);
  f.delay_ms = 3000;
  server_->arm_fault(f);
  const Outcome o = expire_and_call();
  report("stall past the timeout once, reuse grace 60 s", o);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 2);
  EXPECT_EQ(o.store, "rotated");
  for (int i = 0; i < 100 && stats().refresh_grace_reuses == 0; ++i) {
    std::this_thread::sleep_for(50ms);  // up to 5 s
  }
  EXPECT_EQ(stats().refresh_grace_reuses, 1);
  EXPECT_EQ(stats().families_revoked, 0);
  const Outcome next = expire_and_call();
  EXPECT_EQ(next.app, "200");
  EXPECT_EQ(next.requests, 1);
}

// The server committed the rotation, then half the answer got through.
TEST_F(FaultMatrixTest, TruncatedBodyAfterACommittedRotationEndsInLoginRequired) {
  sign_in();
  server_->arm_fault(fault(mock::FaultKind::truncate));
  const Outcome o = expire_and_call();
  report("truncated body (rotation committed)", o);
  EXPECT_EQ(o.app, "login_required");
  EXPECT_EQ(o.requests, 2);
  EXPECT_EQ(o.store, "erased");
  EXPECT_EQ(stats().refresh_reuse_detected, 1);
}

// ---- the answer ------------------------------------------------------------------------------

TEST_F(FaultMatrixTest, HtmlInsteadOfJsonIsRetried) {
  sign_in();
  server_->arm_fault(fault(mock::FaultKind::not_json));
  const Outcome o = expire_and_call();
  report("HTML instead of JSON once", o);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 2);
  EXPECT_EQ(o.store, "rotated");
}

TEST_F(FaultMatrixTest, PersistentHtmlIsAnInvalidResponseAndKeepsTheRefreshToken) {
  sign_in();
  server_->arm_fault(fault(mock::FaultKind::not_json, 4));
  const Outcome o = expire_and_call();
  report("HTML instead of JSON persistent", o);
  EXPECT_EQ(o.app, "invalid_response");
  EXPECT_EQ(o.requests, 4);
  EXPECT_EQ(o.store, "kept");
}

struct BadAnswer {
  const char* row;
  json body;  // "AT" in access_token is replaced by a valid token
};

class BadTokenAnswer : public FaultMatrixTest, public ::testing::WithParamInterface<BadAnswer> {};

TEST_P(BadTokenAnswer, IsAnInvalidResponseThatIsRetried) {
  sign_in();
  json body = GetParam().body;
  if (body.contains("access_token") && body["access_token"] == "AT") {
    body["access_token"] = minted_access_token();
  }
  server_->arm_fault(body_fault(body));
  const Outcome o = expire_and_call();
  report(GetParam().row, o);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 2);
  EXPECT_EQ(o.store, "rotated");
  EXPECT_TRUE(logged("invalid_response"));
}

INSTANTIATE_TEST_SUITE_P(
    FaultMatrix, BadTokenAnswer,
    ::testing::Values(
        BadAnswer{"JSON with wrong types (access_token a number)",
                  json{{"access_token", 12345}, {"token_type", "Bearer"}, {"expires_in", 3600}}},
        BadAnswer{"JSON with wrong types (token_type an array)",
                  json{{"access_token", "AT"}, {"token_type", json::array({"Bearer"})}}},
        BadAnswer{"JSON array instead of an object", json::array({"AT"})},
        BadAnswer{"expires_in a non-numeric string",
                  json{{"access_token", "AT"}, {"token_type", "Bearer"}, {"expires_in", "soon"}}},
        BadAnswer{"unknown token_type (mac)",
                  json{{"access_token", "AT"}, {"token_type", "mac"}, {"expires_in", 3600}}},
        BadAnswer{"200 without access_token",
                  json{{"token_type", "Bearer"}, {"expires_in", 3600}}}),
    [](const ::testing::TestParamInfo<BadAnswer>& param) {
      return "Case" + std::to_string(param.index);
    });

// Answers that parse: the token is served; how long the client believes in it is the point.
class ExpiresInAnswer : public FaultMatrixTest {
 protected:
  Outcome answer_with(const std::string& row, json expires_in) {
    json body{{"access_token", minted_access_token()}, {"token_type", "Bearer"}};
    if (!expires_in.is_null()) body["expires_in"] = expires_in;
    server_->arm_fault(body_fault(body));
    const Outcome o = expire_and_call();
    report(row, o);
    return o;
  }
};

TEST_F(ExpiresInAnswer, MissingMeansNoStatedExpiryAndNoProactiveRefresh) {
  sign_in();
  const Outcome o = answer_with("expires_in missing", nullptr);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 1);
  EXPECT_EQ(o.store, "kept");  // the answer carried no refresh token: the old one stays
  EXPECT_FALSE(session_->status()->access_token_expires_at);
  // Served until the API rejects it: a day later still no refresh.
  clock_->advance(24h);
  EXPECT_EQ(call_and_measure().requests, 0);
}

TEST_F(ExpiresInAnswer, ZeroMeansAlreadyExpiredButServedOnceThenRefreshedAgain) {
  sign_in();
  const Outcome o = answer_with("expires_in 0", 0);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 1);
  EXPECT_EQ(o.store, "kept");
  ASSERT_TRUE(session_->status()->access_token_expires_at);
  EXPECT_EQ(*session_->status()->access_token_expires_at, clock_->now());
  const Outcome next = call_and_measure();  // the real server answers this one
  EXPECT_EQ(next.app, "200");
  EXPECT_EQ(next.requests, 1);
  EXPECT_EQ(next.store, "rotated");
}

TEST_F(ExpiresInAnswer, NegativeIsTreatedAsZero) {
  sign_in();
  const Outcome o = answer_with("expires_in -3600", -3600);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 1);
  ASSERT_TRUE(session_->status()->access_token_expires_at);
  EXPECT_EQ(*session_->status()->access_token_expires_at, clock_->now());
  EXPECT_EQ(call_and_measure().requests, 1);
}

TEST_F(ExpiresInAnswer, HugeIsCappedAtTenYears) {
  sign_in();
  const Outcome o = answer_with("expires_in 10^15", 1'000'000'000'000'000LL);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 1);
  ASSERT_TRUE(session_->status()->access_token_expires_at);
  const auto lifetime = *session_->status()->access_token_expires_at - clock_->now();
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::hours>(lifetime).count(), 87600);  // 3650 d
}

TEST_F(ExpiresInAnswer, NumericStringIsAccepted) {
  sign_in();
  const Outcome o = answer_with("expires_in \"600\" (numeric string)", "600");
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 1);
  ASSERT_TRUE(session_->status()->access_token_expires_at);
  EXPECT_EQ(*session_->status()->access_token_expires_at, clock_->now() + 600s);
}

}  // namespace
}  // namespace freshtoken::faults
