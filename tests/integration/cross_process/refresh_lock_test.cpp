// The refresh lock between Sessions of one account, in one process against the in-process
// mock server (ProcessLock is per open file, so two Sessions exclude each other just as two
// processes do): turns are taken, a waiter adopts instead of refreshing, the lock is free
// during backoff, a lock held too long is a transient failure that erases nothing, and a
// sign-out that does not wait for the lock is not undone by the refresh it overlapped. The
// store lock: a sign-in or sign-out elsewhere that comes right after a refresh has re-read the
// store waits for that refresh's save, and so is neither overwritten nor undone by it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "freshtoken/platform/secret_stores.hpp"
#include "mock_session_fixture.hpp"
#include "process_lock.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kService = "freshtoken-xproc-lock-test";

// A memory store that can run a hook right after a load has read the store and before it
// returns: what the hook writes lands exactly between a reader's read and its next write.
class HookedStore : public SecretStore {
 public:
  Result<Secret> load(const std::string& service, const std::string& account) override {
    auto secret = inner_->load(service, account);
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (hook_ && --loads_until_hook_ == 0) hook = std::exchange(hook_, nullptr);
    }
    if (hook) hook();
    return secret;
  }
  Result<void> save(const std::string& service, const std::string& account,
                    const Secret& secret) override {
    auto saved = inner_->save(service, account, secret);
    ++writes_;
    return saved;
  }
  Result<void> erase(const std::string& service, const std::string& account) override {
    auto erased = inner_->erase(service, account);
    ++writes_;
    return erased;
  }
  std::string describe() const override { return "hooked memory"; }

  // Runs `hook` once, after the n-th load from now.
  void after_load(int n, std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(mutex_);
    loads_until_hook_ = n;
    hook_ = std::move(hook);
  }
  int writes() const { return writes_.load(); }

 private:
  std::shared_ptr<SecretStore> inner_ = make_memory_store();
  std::mutex mutex_;
  int loads_until_hook_ = 0;
  std::function<void()> hook_;
  std::atomic<int> writes_{0};
};

class RefreshLockTest : public testing::MockServerSessionTest {
 protected:
  RefreshLockTest() { service_ = kService; }
  void SetUp() override {}  // each test starts the server it needs
  void start(bool rotation) {
    server_options_.rotation = rotation;
    MockServerSessionTest::start();
  }

  // Session a (signed in, its store already read) refreshes; right after the refresh has
  // re-read the store to decide what to write, `elsewhere` runs on another thread as if in
  // another process. Returns what a's refresh returned; `elsewhere` has finished.
  Result<Secret> refresh_with_a_write_after_its_reread(Session& a, HookedStore& store,
                                                       const std::function<void()>& elsewhere) {
    std::thread other;
    // A refresh reads the store twice: before the exchange, and before it writes the outcome
    // (a save, or the erase of a rejected token).
    store.after_load(2, [&] {
      const int writes = store.writes();
      other = std::thread(elsewhere);
      // Without the store lock the other write lands at once, before the refresh's own.
      for (int i = 0; i < 100 && store.writes() == writes; ++i) std::this_thread::sleep_for(5ms);
    });
    clock_->advance(2h);
    auto token = a.token();
    if (other.joinable()) other.join();
    return token;
  }

  // Sessions made from here on share a HookedStore.
  HookedStore& hook_the_store() {
    auto hooked = std::make_shared<HookedStore>();
    store_ = hooked;
    return *hooked;
  }

  // Another process's sign-in with fresh tokens, for refresh_with_a_write_after_its_reread.
  struct SignInElsewhere {
    Secret access_token;  // the one it signed in with
    Result<void> outcome = Error(ErrorCode::config, "not run");
  };
  std::function<void()> sign_in_elsewhere(Session& session, SignInElsewhere& record) {
    return [this, &session, &record] {
      TokenSet tokens = fresh_sign_in_tokens();
      record.access_token = tokens.access_token;
      record.outcome = session.sign_in(std::move(tokens));
    };
  }

  // Both sessions ask for a token once their tokens expired: they get the same one, from one
  // refresh.
  // a reports `refreshed`, b `adopted` (a new token it did not refresh itself).
  void expect_one_refresh_for_both(Session& a, Session& b) {
    std::mutex mutex;
    std::vector<std::string> heard_by_a;
    std::vector<std::string> heard_by_b;
    auto listen = [&](Session& session, std::vector<std::string>& heard) {
      return session.subscribe([&mutex, &heard](const SessionEvent& event) {
        std::lock_guard<std::mutex> lock(mutex);
        heard.emplace_back(to_string(event.kind));
      });
    };
    auto subscribed_a = listen(a, heard_by_a);
    auto subscribed_b = listen(b, heard_by_b);
    auto from_a = a.token();
    ASSERT_TRUE(from_a) << from_a.error().to_string();
    auto from_b = b.token();
    ASSERT_TRUE(from_b) << from_b.error().to_string();
    EXPECT_TRUE(*from_a == *from_b);
    EXPECT_EQ(refresh_grants(), 1);
    // Delivered before token() returned the refresh's outcome.
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(heard_by_a, std::vector<std::string>{"refreshed"});
    EXPECT_EQ(heard_by_b, std::vector<std::string>{"adopted"});
  }

  // A new Session of the account (a third process) starts with what the store holds.
  void expect_a_new_session_to_serve(const Secret& access_token) {
    auto c = make_session();
    auto token = c->token();
    ASSERT_TRUE(token) << token.error().to_string();
    EXPECT_TRUE(*token == access_token);
  }
};

TEST_F(RefreshLockTest, WithRotationTheSecondSessionAdoptsTheRotatedTokenInsteadOfReusingIt) {
  start(true);
  auto a = make_session();
  auto b = make_session();
  sign_in(*a);
  ASSERT_TRUE(b->token());  // b has read the sign-in's refresh token
  clock_->advance(2h);
  expect_one_refresh_for_both(*a, *b);
  EXPECT_EQ(server_->stats().refresh_reuse_detected, 0);
}

TEST_F(RefreshLockTest, WithoutRotationTheSecondSessionAdoptsTheNewerAccessToken) {
  start(false);
  auto a = make_session();
  auto b = make_session();
  sign_in(*a);
  ASSERT_TRUE(b->token());
  clock_->advance(2h);
  expect_one_refresh_for_both(*a, *b);
}

TEST_F(RefreshLockTest, ALockHeldTooLongFailsTheRefreshAsATimeoutAndErasesNothing) {
  start(true);
  RefreshPolicy policy;
  policy.refresh_lock_timeout = 300ms;
  auto session = make_session(policy);
  sign_in(*session);
  auto stored = store_->load(kService, account());
  ASSERT_TRUE(stored);
  {
    auto held = ProcessLock::acquire(kService, account(), 5s);  // "another process" refreshing
    ASSERT_TRUE(held) << held.error().to_string();
    clock_->advance(2h);
    auto token = session->token();
    ASSERT_FALSE(token);
    EXPECT_EQ(token.error().code(), ErrorCode::timeout) << token.error().to_string();
    EXPECT_EQ(refresh_grants(), 0);
    EXPECT_TRUE(session->status()->signed_in);
    auto still = store_->load(kService, account());
    ASSERT_TRUE(still);
    EXPECT_TRUE(*still == *stored);
  }
  // The holder is gone: the next call refreshes.
  auto token = session->token();
  ASSERT_TRUE(token) << token.error().to_string();
  EXPECT_EQ(refresh_grants(), 1);
}

TEST_F(RefreshLockTest, TheLockIsFreeWhileARefreshSleepsBeforeItsRetry) {
  start(true);
  RefreshPolicy policy;
  policy.initial_backoff = 1ms;
  policy.max_backoff = 1s;  // Retry-After "2" below makes the backoff 2 s
  auto session = make_session(policy);
  sign_in(*session);
  mock::Fault fault = testing::token_fault(mock::FaultKind::status);
  fault.status = 503;
  fault.retry_after = "2";
  server_->arm_fault(fault);
  clock_->advance(2h);
  auto token = std::async(std::launch::async, [&] { return session->token(); });
  for (int i = 0; i < 2000 && refresh_grants() == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(refresh_grants(), 1);
  {
    // Had the session kept the lock through its 2 s backoff, this would time out.
    auto during_backoff = ProcessLock::acquire(kService, account(), 1500ms);
    EXPECT_TRUE(during_backoff) << during_backoff.error().to_string();
  }
  auto result = token.get();
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(refresh_grants(), 2);
}

TEST_F(RefreshLockTest, ASignOutElsewhereWhileARefreshAnswerIsInFlightIsNotUndone) {
  start(true);
  auto a = make_session();
  auto b = make_session();  // another process of the account: sign_out takes no refresh lock
  sign_in(*a);
  std::vector<std::string> heard_by_a;  // written on a's thread before its token() returns
  auto subscribed = a->subscribe(
      [&heard_by_a](const SessionEvent& event) { heard_by_a.emplace_back(to_string(event.kind)); });
  // Rotated at the server, the answer still on its way.
  mock::Fault fault = testing::token_fault(mock::FaultKind::commit_then_delay);
  fault.delay_ms = 1000;
  server_->arm_fault(fault);
  clock_->advance(2h);
  auto refreshing = std::async(std::launch::async, [&] { return a->token(); });
  for (int i = 0; i < 2000 && refresh_grants() == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(refresh_grants(), 1);
  ASSERT_TRUE(b->sign_out());
  auto token = refreshing.get();
  // Delivered before token() returned the refresh's outcome.
  EXPECT_EQ(heard_by_a, std::vector<std::string>{"signed_out_elsewhere"});
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required) << token.error().to_string();
  EXPECT_FALSE(a->status()->signed_in);
  auto stored = store_->load(kService, account());
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code(), ErrorCode::not_found);
  // b revoked the refresh token it found; a revoked the one its refresh got back.
  EXPECT_EQ(server_->stats().revocations, 2);
}

TEST_F(RefreshLockTest, ASignInElsewhereRightAfterARefreshsReReadIsNotOverwrittenByItsSave) {
  start(true);
  HookedStore& store = hook_the_store();
  auto a = make_session();
  auto b = make_session();  // another process of the account
  sign_in(*a);
  SignInElsewhere elsewhere;
  auto refreshed =
      refresh_with_a_write_after_its_reread(*a, store, sign_in_elsewhere(*b, elsewhere));
  ASSERT_TRUE(refreshed) << refreshed.error().to_string();
  ASSERT_TRUE(elsewhere.outcome) << elsewhere.outcome.error().to_string();
  // The sign-in was saved after the refresh's save, so it is what the store holds.
  expect_a_new_session_to_serve(elsewhere.access_token);
}

TEST_F(RefreshLockTest, ASignOutElsewhereRightAfterARefreshsReReadIsNotUndoneByItsSave) {
  start(true);
  HookedStore& store = hook_the_store();
  auto a = make_session();
  auto b = make_session();
  sign_in(*a);
  Result<void> signed_out = Error(ErrorCode::config, "not run");
  auto refreshed =
      refresh_with_a_write_after_its_reread(*a, store, [&] { signed_out = b->sign_out(); });
  ASSERT_TRUE(refreshed) << refreshed.error().to_string();
  ASSERT_TRUE(signed_out) << signed_out.error().to_string();
  auto stored = store_->load(kService, account());
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code(), ErrorCode::not_found);
  // The sign-out found the refreshed token in the store and revoked it.
  EXPECT_FALSE(make_session()->status()->signed_in);
  EXPECT_EQ(server_->stats().revocations, 1);
}

TEST_F(RefreshLockTest, ASignInElsewhereRightAfterARejectedRefreshsReReadIsNotErased) {
  start(true);
  HookedStore& store = hook_the_store();
  auto a = make_session();
  auto b = make_session();
  TokenSet first = fresh_sign_in_tokens();
  server_->revoke_family(std::string(first.refresh_token.reveal()));  // a's refresh is rejected
  ASSERT_TRUE(a->sign_in(std::move(first)));
  SignInElsewhere elsewhere;
  auto refreshed =
      refresh_with_a_write_after_its_reread(*a, store, sign_in_elsewhere(*b, elsewhere));
  ASSERT_FALSE(refreshed);
  EXPECT_EQ(refreshed.error().code(), ErrorCode::login_required) << refreshed.error().to_string();
  ASSERT_TRUE(elsewhere.outcome) << elsewhere.outcome.error().to_string();
  // The erase of the rejected token came first; the sign-in after it is kept.
  expect_a_new_session_to_serve(elsewhere.access_token);
}

}  // namespace
}  // namespace freshtoken
