// One sign-in, two APIs with different audiences (RFC 8707) against the in-process mock server
// over real HTTP, with strict rotation and reuse detection: one refresh per token lifetime per
// API, no refresh token presented twice, and each API's token refused by the other API.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "mock_session_fixture.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;

class SessionTargetsMockServerTest : public testing::MockServerSessionTest {
 protected:
  SessionTargetsMockServerTest() {
    server_options_.rotation = true;  // with reuse detection
    policy_.initial_backoff = 1ms;
    policy_.max_backoff = 1ms;
  }

  // GET <base_url>/me with `token`: the status, -1 when the exchange failed.
  int status_at(const std::string& base_url, const Secret& token) {
    Request r;
    r.url = base_url + "/me";
    r.headers.set("Authorization", "Bearer " + std::string(token.reveal()));
    auto response = transport_->send(r);
    return response ? response->status : -1;
  }
};

TEST_F(SessionTargetsMockServerTest, TwoApisFromManyThreadsGetOneRefreshEachPerLifetime) {
  const auto apis = server_->resources();
  ASSERT_EQ(apis.size(), 2u);
  const TokenTarget targets[2] = {{apis[0].resource, ""}, {apis[1].resource, ""}};
  auto session = make_session();
  sign_in(*session);

  constexpr int kRounds = 3;
  constexpr int kThreads = 16;
  for (int round = 0; round < kRounds; ++round) {
    clock_->advance(2h);  // past the 1 h lifetime of every token, as far as the session knows
    std::atomic<bool> go{false};
    std::vector<std::future<Result<Secret>>> results;
    for (int i = 0; i < kThreads; ++i) {
      results.push_back(std::async(std::launch::async, [&, i] {
        while (!go.load()) std::this_thread::yield();
        return session->token(targets[i % 2]);
      }));
    }
    go = true;
    std::vector<Secret> tokens;
    for (auto& f : results) {
      auto token = f.get();
      ASSERT_TRUE(token) << token.error().to_string();
      tokens.push_back(*token);
    }
    for (int i = 0; i < kThreads; ++i) {
      EXPECT_TRUE(tokens[i] == tokens[i % 2]) << "one token per API per round";
    }
    // Each API takes its own token and refuses the other's (a different audience).
    EXPECT_EQ(status_at(apis[0].base_url, tokens[0]), 200);
    EXPECT_EQ(status_at(apis[1].base_url, tokens[1]), 200);
    EXPECT_EQ(status_at(apis[1].base_url, tokens[0]), 401);
    EXPECT_EQ(status_at(apis[0].base_url, tokens[1]), 401);
  }
  const mock::MockServerStats stats = server_->stats();
  EXPECT_EQ(stats.token_requests.refresh_token, 2 * kRounds);
  EXPECT_EQ(stats.refresh_reuse_detected, 0);
  EXPECT_EQ(stats.families_revoked, 0);
}

}  // namespace
}  // namespace freshtoken
