// When a Session refreshes, on an injected clock: never before the soft point, in the
// background between the soft point and the hard margin, with callers waiting inside it; and,
// without background refreshes, only when a caller needs a token.
#include <future>

#include "session_test_support.hpp"

namespace freshtoken::testing {
namespace {

TEST_F(SessionTest, ExpiryIsReceiptTimePlusExpiresIn) {
  serve_tokens(/*rotate=*/true, /*expires_in=*/300);
  auto session = signed_in_session(100s);
  EXPECT_EQ(session->status()->access_token_expires_at, kStart + 100s);

  clock_->advance(100s);  // expired: the caller waits for the refresh
  EXPECT_EQ(token_of(*session), "at-1");
  EXPECT_EQ(session->status()->access_token_expires_at, kStart + 100s + 300s);
}

TEST_F(SessionTest, NoRefreshBeforeTheSoftPoint) {
  serve_tokens();
  auto session = signed_in_session(100s);  // soft point at 80 s
  clock_->advance(80s - 1ms);
  EXPECT_EQ(token_of(*session), "at-0");
  EXPECT_EQ(token_requests(), 0u);
}

TEST_F(SessionTest, AfterTheSoftPointTheCurrentTokenIsServedWhileRefreshingInTheBackground) {
  Gate release;
  Gate entered;
  hold_refreshes(entered, release);
  auto session = signed_in_session(100s);
  clock_->advance(81s);  // past the soft point (80 s), before the hard margin (90 s)

  // Served at once although the refresh cannot finish until `release` opens.
  auto first = std::async(std::launch::async, [&] { return session->token(); });
  ASSERT_EQ(first.wait_for(20s), std::future_status::ready) << "token() waited for a refresh";
  auto token = first.get();
  ASSERT_TRUE(token);
  EXPECT_EQ(token->reveal(), "at-0");
  ASSERT_TRUE(entered.wait_for_a_long_time()) << "no background refresh started";

  release.open();
  ASSERT_TRUE(events_.wait_for(SessionEventKind::refreshed));
  token = session->token();
  ASSERT_TRUE(token);
  EXPECT_EQ(token->reveal(), "at-1");
  EXPECT_EQ(token_requests(), 1u);
  EXPECT_EQ(session->status()->access_token_expires_at, kStart + 81s + 100s);
}

TEST_F(SessionTest, InsideTheHardMarginCallersWaitForTheNewToken) {
  serve_tokens();
  auto session = signed_in_session(100s);  // hard margin = min(30 s, 10 s) = 10 s
  clock_->advance(90s);
  EXPECT_EQ(token_of(*session), "at-1");
  EXPECT_EQ(token_requests(), 1u);
}

TEST_F(SessionTest, HardMarginIsCappedAtThirtySecondsSoLongLivedTokensAreServedLonger) {
  serve_tokens();
  auto session = signed_in_session(1000s);  // soft 800 s; margin min(30 s, 100 s) = 30 s
  clock_->advance(970s - 1ms);              // inside 10% of the lifetime, outside the 30 s cap
  EXPECT_EQ(token_of(*session), "at-0");
  ASSERT_TRUE(events_.wait_for(SessionEventKind::refreshed));
  EXPECT_EQ(session->token()->reveal(), "at-1");
}

TEST_F(SessionTest, AtTheHardMarginOfALongLivedTokenCallersWait) {
  serve_tokens();
  auto session = signed_in_session(1000s);
  clock_->advance(970s);
  auto token = session->token();
  ASSERT_TRUE(token);
  EXPECT_EQ(token->reveal(), "at-1");
}

TEST_F(SessionTest, ExpiredTokenMakesTheCallerWait) {
  serve_tokens();
  auto session = signed_in_session(100s);
  clock_->advance(1h);
  EXPECT_EQ(token_of(*session), "at-1");
}

TEST_F(SessionTest, JitteredSoftPointStaysWithinItsBounds) {
  serve_tokens();
  RefreshPolicy policy = test_policy();
  policy.jitter_fraction = 0.05;  // soft point anywhere in [75 s, 85 s]
  std::vector<std::shared_ptr<Session>> sessions;
  for (int i = 0; i < 20; ++i) {
    auto options = this->options(policy);
    options.account = "account-" + std::to_string(i);
    sessions.push_back(Session::create(options).value());
    sessions.back()->subscribe([this](const SessionEvent& e) { events_.record(e); }).detach();
    ASSERT_TRUE(sessions.back()->sign_in(tokens(100s)));
  }
  clock_->advance(75s - 1ms);
  for (auto& s : sessions) ASSERT_TRUE(s->token());
  EXPECT_EQ(token_requests(), 0u) << "a refresh started before 75 s";

  clock_->advance(10s + 2ms);  // 85 s + 1 ms: every soft point has passed
  for (auto& s : sessions) ASSERT_TRUE(s->token());
  EXPECT_TRUE(events_.wait_for(SessionEventKind::refreshed, 20));
  EXPECT_EQ(token_requests(), 20u);
}

TEST_F(SessionTest, TokenWithoutExpiryIsServedUntilInvalidated) {
  serve_tokens();
  auto session = make_session();
  TokenSet t = tokens(1s);
  t.expires_at.reset();
  ASSERT_TRUE(session->sign_in(std::move(t)));
  clock_->advance(24h * 365);
  EXPECT_EQ(session->token()->reveal(), "at-0");
  EXPECT_EQ(token_requests(), 0u);
  EXPECT_FALSE(session->status()->access_token_expires_at.has_value());
}

// A short-lived program's session: RefreshPolicy::background_refresh off.
class ShortLivedSessionTest : public SessionTest {
 protected:
  static RefreshPolicy without_background_refresh() {
    RefreshPolicy policy = test_policy();
    policy.background_refresh = false;
    return policy;
  }
};

TEST_F(ShortLivedSessionTest, ATokenPastTheSoftPointIsServedAndNoRefreshStarts) {
  Gate requested;
  transport_->set_handler([&](const Request&) -> Result<Response> {
    requested.open();
    return token_response("at-1", "rt-1", 100);
  });
  auto session = signed_in_session(100s, without_background_refresh());
  clock_->advance(90s - 1ms);  // past the soft point (80 s), just before the hard margin (90 s)
  auto token = session->token();
  ASSERT_TRUE(token) << token.error().to_string();
  EXPECT_EQ(token->reveal(), "at-0");
  // That nothing starts can only be watched for a while: a background refresh would send its
  // request moments after token() returned. ~Session then waits for any request in flight.
  EXPECT_FALSE(requested.wait_for(500ms)) << "a background refresh started";
  session.reset();
  EXPECT_EQ(token_requests(), 0u);
  EXPECT_EQ(events_.count(SessionEventKind::refreshed), 0u);
}

TEST_F(ShortLivedSessionTest, AnotherProcessesTokenPastItsSoftPointIsAdoptedWithoutARequest) {
  serve_tokens();
  auto session = signed_in_session(100s, without_background_refresh());
  clock_->advance(95s);  // inside at-0's hard margin: this caller needs a refresh
  // Meanwhile another process refreshed at 10 s: its token is past its own soft point (90 s)
  // but outside its hard margin (100 s), which is good enough for a short-lived program.
  detail::StoredTokens theirs;
  theirs.access_token = Secret(std::string("at-9"));
  theirs.refresh_token = Secret(std::string("rt-9"));
  theirs.issued_at = kStart + 10s;
  theirs.expires_at = kStart + 110s;
  ASSERT_TRUE(store_->save("freshtoken", "https://as.example|app|alice",
                           detail::encode_stored_tokens(theirs)));

  EXPECT_EQ(token_of(*session), "at-9");
  EXPECT_EQ(token_requests(), 0u);
  EXPECT_EQ(stored_refresh_token(), "rt-9");
}

TEST_F(ShortLivedSessionTest, InsideTheHardMarginCallersWaitForTheNewToken) {
  serve_tokens();
  auto session = signed_in_session(100s, without_background_refresh());
  clock_->advance(90s);
  EXPECT_EQ(token_of(*session), "at-1");
  EXPECT_EQ(token_requests(), 1u);
  EXPECT_EQ(stored_refresh_token(), "rt-1");
}

TEST_F(ShortLivedSessionTest, AnExpiredTokenIsRefreshedForTheCaller) {
  serve_tokens();
  auto session = signed_in_session(100s, without_background_refresh());
  clock_->advance(150s);
  EXPECT_EQ(token_of(*session), "at-1");
  EXPECT_EQ(token_requests(), 1u);
}

TEST_F(ShortLivedSessionTest, AnInvalidatedTokenIsRefreshedForTheNextCaller) {
  serve_tokens();
  auto session = signed_in_session(100s, without_background_refresh());
  clock_->advance(85s);
  auto rejected = session->token();
  ASSERT_TRUE(rejected) << rejected.error().to_string();
  session->invalidate(*rejected);
  EXPECT_EQ(token_of(*session), "at-1");
  EXPECT_EQ(token_requests(), 1u);
}

}  // namespace
}  // namespace freshtoken::testing
