// A long client run: one HttpClient + Session over the curl transport, several threads, a few
// thousand API calls against the in-process mock server with a 60 s access-token lifetime.
// Every `kStepEvery` calls the run pauses and either moves both clocks (the session's
// ManualClock and the server's offset) past the token lifetime, so the session refreshes
// before sending, or revokes every access token at the server, so the next call gets a 401
// and HttpClient refreshes and retries. Rotation is on with reuse detection, so a second use
// of a rotated refresh token would revoke the family and fail the run.
//
// What it asserts: no call fails; one refresh per step (the token endpoint's count equals the
// lifetimes elapsed plus the revocations); every 401 was retried exactly once; and, in the
// plain build, that RSS stops growing once warm (see ResidentSetSize below). The leak check
// itself is scripts/test's ASan run (detect_leaks=1) of this same program.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "freshtoken/http_client.hpp"
#include "mock_session_fixture.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FRESHTOKEN_SOAK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FRESHTOKEN_SOAK_SANITIZED 1
#endif
#endif
#ifndef FRESHTOKEN_SOAK_SANITIZED
#define FRESHTOKEN_SOAK_SANITIZED 0
#endif

namespace freshtoken {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr bool kSanitized = FRESHTOKEN_SOAK_SANITIZED != 0;
constexpr int kThreads = 4;
constexpr std::chrono::seconds kLifetime = 60s;
// Calls per phase; a sanitizer build is several times slower, so it runs a quarter.
constexpr int kPhaseCalls = kSanitized ? 400 : 1600;
constexpr int kWarmUpCalls = kPhaseCalls / 4;
constexpr int kStepEvery = 50;  // calls between two steps (clock move or revocation)

long resident_set_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long pages_total = 0, pages_resident = 0;
  const int read = std::fscanf(f, "%ld %ld", &pages_total, &pages_resident);
  std::fclose(f);
  return read == 2 ? pages_resident * sysconf(_SC_PAGESIZE) : -1;
}

// Lets the workers run concurrently and a step run alone, between calls.
class Gate {
 public:
  void enter() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !paused_; });
    ++active_;
  }
  void leave() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--active_ == 0) changed_.notify_all();
  }
  template <typename F>
  void alone(F&& step) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !paused_; });
    paused_ = true;
    changed_.wait(lock, [&] { return active_ == 0; });
    step();
    paused_ = false;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int active_ = 0;
  bool paused_ = false;
};

class SoakTest : public testing::MockServerSessionTest {
 protected:
  SoakTest() {
    server_options_.access_token_ttl = kLifetime;
    server_options_.rotation = true;
  }
  void SetUp() override {
    MockServerSessionTest::SetUp();
    if (HasFatalFailure()) return;
    session_ = make_session();
    sign_in(*session_);
    client_ = std::make_unique<HttpClient>(transport_, session_);
  }
  void TearDown() override {
    client_.reset();
    session_.reset();
    MockServerSessionTest::TearDown();
  }

  // `calls` API calls over kThreads threads, a step every kStepEvery of them.
  void run(int calls) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([this, calls] {
        for (;;) {
          gate_.enter();
          const int n = started_.fetch_add(1);
          if (n >= calls_done_before_ + calls) {
            gate_.leave();
            return;
          }
          call(n);
          gate_.leave();
          if ((n + 1) % kStepEvery == 0) gate_.alone([this] { step(); });
        }
      });
    }
    for (auto& thread : threads) thread.join();
    calls_done_before_ += calls;
    started_ = calls_done_before_;
  }

  void call(int n) {
    Result<Response> result =
        n % 3 == 0 ? client_->post(server_->issuer() + "/api/echo",
                                   R"({"n":)" + std::to_string(n) + "}", "application/json")
                   : client_->get(server_->issuer() + "/api/me");
    if (!result) {
      failures_.fetch_add(1);
      std::lock_guard<std::mutex> lock(mutex_);
      if (first_failure_.empty()) first_failure_ = result.error().to_string();
    } else if (result->status != 200) {
      failures_.fetch_add(1);
      std::lock_guard<std::mutex> lock(mutex_);
      if (first_failure_.empty()) first_failure_ = "HTTP " + std::to_string(result->status);
    }
  }

  // Alternately: one lifetime passes for both sides, or the server revokes access tokens.
  void step() {
    if (steps_ % 2 == 0) {
      clock_->advance(kLifetime + 1s);
      server_->advance_clock(kLifetime + 1s);
      ++lifetimes_;
    } else {
      server_->revoke_access_tokens();
      ++revocations_;
    }
    ++steps_;
  }

  std::shared_ptr<Session> session_;
  std::unique_ptr<HttpClient> client_;
  Gate gate_;
  std::atomic<int> started_{0};
  int calls_done_before_ = 0;
  int steps_ = 0, lifetimes_ = 0, revocations_ = 0;
  std::atomic<int> failures_{0};
  std::mutex mutex_;
  std::string first_failure_;
};

TEST_F(SoakTest, ThousandsOfCallsWithRefreshesRotationsAnd401sFailNoneAndStopGrowing) {
  run(kWarmUpCalls);
  const long rss_warm = resident_set_bytes();
  run(kPhaseCalls);
  const long rss_phase1 = resident_set_bytes();
  run(kPhaseCalls);
  const long rss_phase2 = resident_set_bytes();

  const int calls = kWarmUpCalls + 2 * kPhaseCalls;
  EXPECT_EQ(failures_.load(), 0) << "first failure: " << first_failure_;
  const mock::MockServerStats stats = server_->stats();
  ASSERT_EQ(steps_, calls / kStepEvery);
  // Steps alternate, so each kind happened half the time: 36 times each in the plain build,
  // 9 in a sanitizer build.
  EXPECT_GE(lifetimes_, steps_ / 2);
  EXPECT_GE(revocations_, steps_ / 2);
  EXPECT_GE(steps_, 18);
  // One refresh per elapsed lifetime and per revocation (single flight held every time),
  // except for the last step, which comes after the last call and so costs nothing. A few
  // extra are tolerated: nothing here forbids an early proactive refresh.
  const int expected = lifetimes_ + revocations_ - 1;
  EXPECT_GE(refresh_grants(), expected);
  EXPECT_LE(refresh_grants(), expected + steps_ / 10);
  EXPECT_EQ(stats.refresh_reuse_detected, 0);
  EXPECT_EQ(stats.families_revoked, 0);
  // Each revocation cost at least one 401, and every 401 was retried exactly once.
  EXPECT_GE(stats.api_401, revocations_);
  EXPECT_EQ(stats.api_requests, calls + stats.api_401);

  // RSS: once warm, a phase of the same length must not grow it by more than half of what
  // the first phase did plus 4 MiB of allocator slack. A per-call leak or an unbounded
  // cache grows both phases alike and fails this once it passes ~4 KiB a call; a settling
  // heap grows the first and not the second. Sanitizer builds keep quarantines and shadow
  // memory, so only the plain build checks it.
  ASSERT_GT(rss_warm, 0);
  const long growth1 = rss_phase1 - rss_warm;
  const long growth2 = rss_phase2 - rss_phase1;
  std::printf("RSS KiB: warm %ld, after phase 1 %+ld, after phase 2 %+ld\n", rss_warm / 1024,
              growth1 / 1024, growth2 / 1024);
  if (!kSanitized) {
    EXPECT_LE(growth2, std::max(0L, growth1) / 2 + 4L * 1024 * 1024);
  }
}

}  // namespace
}  // namespace freshtoken
