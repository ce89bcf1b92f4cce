// Single flight: one refresh request however many threads ask, and no caller with a valid
// token waits for it.
#include <future>
#include <thread>

#include "session_test_support.hpp"

namespace freshtoken::testing {
namespace {

TEST_F(SessionTest, SixtyFourThreadsWithAnExpiredTokenShareOneRefresh) {
  constexpr int kThreads = 64;
  std::atomic<int> arrived{0};
  std::atomic<int> issued{0};
  transport_->set_handler([&](const Request&) -> Result<Response> {
    // Hold the refresh until every thread has asked (bounded, so a bug fails, not hangs).
    for (int i = 0; i < 20000 && arrived.load() < kThreads; ++i) {
      std::this_thread::sleep_for(1ms);
    }
    const int n = ++issued;
    return token_response("at-" + std::to_string(n), "rt-" + std::to_string(n), 100);
  });
  auto session = signed_in_session(100s);
  clock_->advance(200s);

  Gate start;
  std::vector<std::future<Result<Secret>>> results;
  for (int i = 0; i < kThreads; ++i) {
    results.push_back(std::async(std::launch::async, [&] {
      start.wait();
      ++arrived;
      return session->token();
    }));
  }
  start.open();
  for (auto& f : results) {
    auto token = f.get();
    ASSERT_TRUE(token) << token.error().to_string();
    EXPECT_EQ(token->reveal(), "at-1");
  }
  EXPECT_EQ(token_requests(), 1u);
  EXPECT_EQ(events_.count(SessionEventKind::refreshed), 1u);
  EXPECT_EQ(stored_refresh_token(), "rt-1");
}

TEST_F(SessionTest, SlowRefreshDoesNotBlockCallersWhoseTokenIsValid) {
  Gate release;
  Gate entered;
  hold_refreshes(entered, release);
  auto session = signed_in_session(100s);
  clock_->advance(85s);  // soft window
  ASSERT_EQ(session->token()->reveal(), "at-0");
  ASSERT_TRUE(entered.wait_for_a_long_time());  // the refresh is now stuck in the transport

  std::vector<std::future<Result<Secret>>> results;
  for (int i = 0; i < 8; ++i) {
    results.push_back(std::async(std::launch::async, [&] { return session->token(); }));
  }
  for (auto& f : results) {
    ASSERT_EQ(f.wait_for(20s), std::future_status::ready) << "a valid-token caller waited";
    auto token = f.get();
    ASSERT_TRUE(token);
    EXPECT_EQ(token->reveal(), "at-0");
  }
  EXPECT_EQ(token_requests(), 1u) << "a second refresh started while one was in flight";
  release.open();
  ASSERT_TRUE(events_.wait_for(SessionEventKind::refreshed));
  EXPECT_EQ(session->token()->reveal(), "at-1");
}

TEST_F(SessionTest, WaitersOfAFailedRefreshAllGetItsError) {
  std::atomic<int> arrived{0};
  transport_->set_handler([&](const Request&) -> Result<Response> {
    for (int i = 0; i < 20000 && arrived.load() < 16; ++i) std::this_thread::sleep_for(1ms);
    return Error(ErrorCode::network, "connection refused");
  });
  RefreshPolicy policy = test_policy();
  policy.max_retries = 0;
  auto session = signed_in_session(100s, policy);
  clock_->advance(200s);
  std::vector<std::future<Result<Secret>>> results;
  for (int i = 0; i < 16; ++i) {
    results.push_back(std::async(std::launch::async, [&] {
      ++arrived;
      return session->token();
    }));
  }
  std::size_t failures = 0;
  for (auto& f : results) {
    auto token = f.get();
    ASSERT_FALSE(token);
    EXPECT_EQ(token.error().code(), ErrorCode::network);
    ++failures;
  }
  EXPECT_EQ(failures, 16u);
  // Callers that arrive after a flight ended start a new one, so there may be a few; never
  // one per caller at once, and the refresh token is never dropped.
  EXPECT_LT(token_requests(), 16u);
  EXPECT_EQ(stored_refresh_token(), "rt-0");
}

}  // namespace
}  // namespace freshtoken::testing
