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

// ---- one fault, one expired token, one call ------------------------------------------------

class TokenEndpointFault;

// A row of the token endpoint's table: the server (and maybe a fault on its token endpoint)
// is set up, the client's access token expires, the application calls the API once.
struct TokenFault {
  std::string name;                     // the test's name
  std::string row;                      // the MATRIX row
  std::optional<mock::FaultKind> kind;  // nullopt: no fault, the server is stopped instead
  int times = 1;
  int status = 0;  // for FaultKind::status; 0 keeps the fault's own
  std::string body;
  std::string retry_after;
  bool retry_after_one_second_as_http_date = false;  // read against the client's clock
  int delay_ms = 0;
  std::chrono::seconds reuse_grace{0};
  // The expected outcome.
  std::string app;
  int requests = 0;
  std::string store;
  std::string logged;      // a log line that must appear
  std::string not_logged;  // one that must not
  // Checks beyond the outcome (a public member of the fixture below).
  void (*then)(TokenEndpointFault&) = nullptr;

  TokenFault(std::string test_name, std::string matrix_row, std::optional<mock::FaultKind> k,
             int n = 1)
      : name(std::move(test_name)), row(std::move(matrix_row)), kind(k), times(n) {}
  TokenFault& with_status(int s, std::string b = {}) {
    status = s;
    body = std::move(b);
    return *this;
  }
  TokenFault& with_retry_after(std::string value) {
    retry_after = std::move(value);
    return *this;
  }
  TokenFault& with_retry_after_http_date() {
    retry_after_one_second_as_http_date = true;
    return *this;
  }
  TokenFault& with_delay_ms(int ms) {
    delay_ms = ms;
    return *this;
  }
  TokenFault& with_reuse_grace(std::chrono::seconds grace) {
    reuse_grace = grace;
    return *this;
  }
  TokenFault& expect(std::string a, int r, std::string s) {
    app = std::move(a);
    requests = r;
    store = std::move(s);
    return *this;
  }
  TokenFault& expect_logged(std::string part) {
    logged = std::move(part);
    return *this;
  }
  TokenFault& expect_not_logged(std::string part) {
    not_logged = std::move(part);
    return *this;
  }
  TokenFault& and_then(void (*check)(TokenEndpointFault&)) {
    then = check;
    return *this;
  }
};

class TokenEndpointFault : public FaultMatrixTest,
                           public ::testing::WithParamInterface<TokenFault> {
 public:
  TokenEndpointFault() {
    if (GetParam().reuse_grace.count() > 0) server_options_.reuse_grace = GetParam().reuse_grace;
  }

  // The checks rows add to their outcome.

  // The session gave up with the server's status, said so once, and is still signed in.
  static void gave_up_with_the_status(TokenEndpointFault& t) {
    ASSERT_TRUE(t.last_error_);
    EXPECT_EQ(t.last_error_->http_status(), t.GetParam().status);
    failed_once_and_still_signed_in(t);
  }

  static void failed_once_and_still_signed_in(TokenEndpointFault& t) {
    EXPECT_EQ(t.count_events(SessionEventKind::refresh_failed), 1);
    EXPECT_TRUE(t.session_->status()->signed_in);
  }

  static void reported_the_retry_after(TokenEndpointFault& t) {
    ASSERT_TRUE(t.last_error_);
    EXPECT_EQ(t.last_error_->http_status(), 429);
    ASSERT_TRUE(t.last_error_->retry_after());
    EXPECT_EQ(*t.last_error_->retry_after(), 120s);
  }

  // The late request reused a rotated-out refresh token: the family is revoked, and the next
  // refresh finds the rotated token dead (sign-in required, store erased).
  static void late_request_revoked_the_family(TokenEndpointFault& t) {
    t.wait_for([&] { return t.stats().refresh_reuse_detected != 0; });
    EXPECT_EQ(t.stats().refresh_reuse_detected, 1);
    EXPECT_EQ(t.stats().families_revoked, 1);
    const Outcome next = t.expire_and_call();
    report("stall once, next refresh", next);
    EXPECT_EQ(next.app, "login_required");
    EXPECT_EQ(next.requests, 1);
    EXPECT_EQ(next.store, "erased");
  }

  // The four late requests: the first rotates, the other three are reuse of the old token.
  static void late_requests_revoked_the_family(TokenEndpointFault& t) {
    t.wait_for([&] { return t.stats().families_revoked != 0; });
    EXPECT_EQ(t.stats().families_revoked, 1);
  }

  static void late_request_was_forgiven(TokenEndpointFault& t) {
    t.wait_for([&] { return t.stats().refresh_grace_reuses != 0; });
    EXPECT_EQ(t.stats().refresh_grace_reuses, 1);
    EXPECT_EQ(t.stats().families_revoked, 0);
    const Outcome next = t.expire_and_call();
    EXPECT_EQ(next.app, "200");
    EXPECT_EQ(next.requests, 1);
  }

  static void reuse_was_detected(TokenEndpointFault& t) {
    EXPECT_EQ(t.stats().refresh_reuse_detected, 1);
  }

 protected:
  // Polls the server's own counters until `done` (up to 5 s): a stalled request is handled
  // long after the client gave up on it.
  template <typename Done>
  void wait_for(Done done) {
    for (int i = 0; i < 100 && !done(); ++i) std::this_thread::sleep_for(50ms);
  }
};

TEST_P(TokenEndpointFault, Row) {
  const TokenFault& c = GetParam();
  sign_in();
  clock_->advance(2h);  // expired as far as the client knows; the server still accepts it
  if (c.kind) {
    mock::Fault f = fault(*c.kind, c.times);
    if (c.status != 0) f.status = c.status;
    if (!c.body.empty()) f.body = c.body;
    f.retry_after = c.retry_after;
    if (c.retry_after_one_second_as_http_date) f.retry_after = http_date(clock_->now() + 1s);
    if (c.delay_ms != 0) f.delay_ms = c.delay_ms;
    server_->arm_fault(f);
  } else {
    server_->stop();
  }
  const Outcome o = call_and_measure();
  report(c.row, o);
  EXPECT_EQ(o.app, c.app);
  EXPECT_EQ(o.requests, c.requests);
  EXPECT_EQ(o.store, c.store);
  if (!c.logged.empty()) {
    EXPECT_TRUE(logged(c.logged)) << c.logged;
  }
  if (!c.not_logged.empty()) {
    EXPECT_FALSE(logged(c.not_logged)) << c.not_logged;
  }
  if (c.then) c.then(*this);
}

std::vector<TokenFault> token_faults() {
  using K = mock::FaultKind;
  using T = TokenEndpointFault;
  std::vector<TokenFault> rows;
  // ---- 5xx
  for (int status : {500, 502, 503, 504}) {
    const std::string s = std::to_string(status);
    rows.push_back(
        TokenFault("Status" + s + "OnceIsRetriedAndTheRotatedTokenSaved", s + " once", K::status)
            .with_status(status, "<html>bad gateway</html>")
            .expect("200", 2, "rotated"));
    rows.push_back(
        TokenFault("Status" + s + "PersistentGivesUpAfterFourRequestsAndKeepsTheRefreshToken",
                   s + " persistent", K::status, 4)
            .with_status(status)
            .expect("token_endpoint", 4, "kept")
            .and_then(T::gave_up_with_the_status));
  }
  // ---- 429 and Retry-After. The backoff drawn from 1 ms would be at most 1 ms: a retry
  // after 1000 ms waited for the server.
  rows.push_back(
      TokenFault("TooManyRequestsWithRetryAfterSecondsIsHonoured", "429 Retry-After: 1", K::status)
          .with_status(429)
          .with_retry_after("1")
          .expect("200", 2, "rotated")
          .expect_logged("retry 1 of 3 in 1000 ms"));
  rows.push_back(TokenFault("TooManyRequestsWithRetryAfterHttpDateIsHonoured",
                            "429 Retry-After: HTTP-date (+1 s)", K::status)
                     .with_status(429)
                     .with_retry_after_http_date()
                     .expect("200", 2, "rotated")
                     .expect_logged("retry 1 of 3 in 1000 ms"));
  // Capped at 4 * max_backoff so that a hostile Retry-After cannot park the session.
  rows.push_back(TokenFault("PersistentTooManyRequestsReportsTheRetryAfter",
                            "429 persistent, Retry-After: 120", K::status, 4)
                     .with_status(429)
                     .with_retry_after("120")
                     .expect("token_endpoint", 4, "kept")
                     .expect_logged("retry 1 of 3 in 1000 ms")
                     .and_then(T::reported_the_retry_after));
  // ---- the connection
  rows.push_back(TokenFault("ConnectionRefusedIsANetworkErrorAndKeepsTheRefreshToken",
                            "connection refused (server stopped)", std::nullopt)
                     .expect("network", 0, "kept")
                     .and_then(T::failed_once_and_still_signed_in));
  // The first refresh goes out on the keep-alive connection left by discovery. When a reused
  // connection dies before any byte of the answer, libcurl itself resends the request once on
  // a fresh connection (the POST included); the session never sees that first drop.
  rows.push_back(TokenFault("DroppedConnectionOnceIsResentByLibcurlOnAFreshConnection",
                            "dropped connection once", K::drop)
                     .expect("200", 2, "rotated")
                     .expect_not_logged("retry 1 of 3"));
  // The session's 4 attempts, the first of them resent once by libcurl (reused connection).
  rows.push_back(TokenFault("PersistentlyDroppedConnectionIsANetworkErrorAndKeepsTheRefreshToken",
                            "dropped connection persistent", K::drop, 10)
                     .expect("network", 5, "kept")
                     .expect_logged("retry 3 of 3"));
  // The stalled request is not lost: the server handles it once its delay (> the 1 s request
  // timeout) is over, long after the client gave up on it. With rotation and no reuse grace
  // that late request presents a refresh token the retry already rotated out.
  rows.push_back(TokenFault("StallPastTheTimeoutIsRetriedButTheLateRequestRevokesTheFamily",
                            "stall past the timeout once", K::delay)
                     .with_delay_ms(3000)
                     .expect("200", 2, "rotated")
                     .expect_logged("timeout")
                     .and_then(T::late_request_revoked_the_family));
  rows.push_back(TokenFault("PersistentStallIsATimeoutAndKeepsTheRefreshToken",
                            "stall past the timeout persistent", K::delay, 4)
                     .with_delay_ms(3000)
                     .expect("timeout", 4, "kept")
                     .and_then(T::late_requests_revoked_the_family));
  rows.push_back(TokenFault("StallWithGraceTheLateRequestIsForgivenAndTheSessionKeepsWorking",
                            "stall past the timeout once, reuse grace 60 s", K::delay)
                     .with_delay_ms(3000)
                     .with_reuse_grace(60s)
                     .expect("200", 2, "rotated")
                     .and_then(T::late_request_was_forgiven));
  // The server committed the rotation, then half the answer got through.
  rows.push_back(TokenFault("TruncatedBodyAfterACommittedRotationEndsInLoginRequired",
                            "truncated body (rotation committed)", K::truncate)
                     .expect("login_required", 2, "erased")
                     .and_then(T::reuse_was_detected));
  // ---- the answer
  rows.push_back(TokenFault("HtmlInsteadOfJsonIsRetried", "HTML instead of JSON once", K::not_json)
                     .expect("200", 2, "rotated"));
  rows.push_back(TokenFault("PersistentHtmlIsAnInvalidResponseAndKeepsTheRefreshToken",
                            "HTML instead of JSON persistent", K::not_json, 4)
                     .expect("invalid_response", 4, "kept"));
  return rows;
}

INSTANTIATE_TEST_SUITE_P(FaultMatrix, TokenEndpointFault, ::testing::ValuesIn(token_faults()),
                         [](const ::testing::TestParamInfo<TokenFault>& param) {
                           return param.param.name;
                         });

// Not the table's shape: the token is still valid, only inside the hard margin.
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

// ---- bad answers that are retried ----------------------------------------------------------

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
