// The refresh lock between Sessions of one account, in one process against the in-process
// mock server (ProcessLock is per open file, so two Sessions exclude each other just as two
// processes do): turns are taken, a waiter adopts instead of refreshing, the lock is free
// during backoff, a lock held too long is a transient failure that erases nothing, and a
// sign-out that does not wait for the lock is not undone by the refresh it overlapped.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "freshtoken/authorization_server.hpp"
#include "freshtoken/mock_server.hpp"
#include "freshtoken/platform/secret_stores.hpp"
#include "freshtoken/session.hpp"
#include "freshtoken/transport.hpp"
#include "process_lock.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kService = "freshtoken-xproc-lock-test";

class RefreshLockTest : public ::testing::Test {
 protected:
  void start(bool rotation) {
    mock::MockServerOptions options;
    options.rotation = rotation;
    server_ = std::make_unique<mock::MockServer>(options);
    server_->start();
    ClientConfig client;
    client.client_id = "freshtoken-demo";
    auto discovered = AuthorizationServer::discover(transport_, server_->issuer(), client, clock_);
    ASSERT_TRUE(discovered) << discovered.error().to_string();
    as_ = *discovered;
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  std::shared_ptr<Session> make_session(RefreshPolicy policy = {}) {
    SessionOptions o;
    o.server = as_;
    o.store = store_;
    o.service = kService;
    o.account = account();
    o.clock = clock_;
    o.policy = policy;
    o.policy.jitter_fraction = 0;
    return Session::create(o);
  }
  std::string account() const { return server_->issuer() + "|freshtoken-demo|alice"; }

  void sign_in(Session& session) {
    const json issued = server_->issue_tokens("alice");
    TokenSet t;
    t.access_token = Secret(issued["access_token"].get<std::string>());
    t.refresh_token = Secret(issued["refresh_token"].get<std::string>());
    t.issued_at = clock_->now();
    t.expires_at = clock_->now() + std::chrono::seconds(issued["expires_in"].get<int>());
    ASSERT_TRUE(session.sign_in(std::move(t)));
  }

  int refresh_grants() const {
    return server_->stats()["token_requests"].value("refresh_token", 0);
  }

  std::unique_ptr<mock::MockServer> server_;
  std::shared_ptr<Transport> transport_ = make_curl_transport();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::shared_ptr<AuthorizationServer> as_;
  std::shared_ptr<SecretStore> store_ = make_memory_store();
};

TEST_F(RefreshLockTest, WithRotationTheSecondSessionAdoptsTheRotatedTokenInsteadOfReusingIt) {
  start(true);
  auto a = make_session();
  auto b = make_session();
  sign_in(*a);
  ASSERT_TRUE(b->token());  // b has read the sign-in's refresh token
  clock_->advance(2h);
  auto from_a = a->token();
  ASSERT_TRUE(from_a) << from_a.error().to_string();
  auto from_b = b->token();
  ASSERT_TRUE(from_b) << from_b.error().to_string();
  EXPECT_TRUE(*from_a == *from_b);
  EXPECT_EQ(refresh_grants(), 1);
  EXPECT_EQ(server_->stats().value("refresh_reuse_detected", -1), 0);
}

TEST_F(RefreshLockTest, WithoutRotationTheSecondSessionAdoptsTheNewerAccessToken) {
  start(false);
  auto a = make_session();
  auto b = make_session();
  sign_in(*a);
  ASSERT_TRUE(b->token());
  clock_->advance(2h);
  auto from_a = a->token();
  ASSERT_TRUE(from_a) << from_a.error().to_string();
  auto from_b = b->token();
  ASSERT_TRUE(from_b) << from_b.error().to_string();
  EXPECT_TRUE(*from_a == *from_b);
  EXPECT_EQ(refresh_grants(), 1);
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
    EXPECT_TRUE(session->signed_in());
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
  mock::Fault fault;
  fault.endpoint = "token";
  fault.kind = "status";
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
  mock::Fault fault;
  fault.endpoint = "token";
  fault.kind = "commit_then_delay";  // rotated at the server, the answer still on its way
  fault.delay_ms = 1000;
  server_->arm_fault(fault);
  clock_->advance(2h);
  auto refreshing = std::async(std::launch::async, [&] { return a->token(); });
  for (int i = 0; i < 2000 && refresh_grants() == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(refresh_grants(), 1);
  ASSERT_TRUE(b->sign_out());
  auto token = refreshing.get();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required) << token.error().to_string();
  EXPECT_FALSE(a->signed_in());
  auto stored = store_->load(kService, account());
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code(), ErrorCode::not_found);
  // b revoked the refresh token it found; a revoked the one its refresh got back.
  EXPECT_EQ(server_->stats().value("revocations", 0), 2);
}

}  // namespace
}  // namespace freshtoken
