// Fault matrix, part 2: a rotation whose answer is lost, the server's clock off by an hour,
// the secret store failing mid-session, and the server declaring the refresh token dead.
// "Process killed mid-refresh" is covered across processes in tests/integration/cross_process.
#include <optional>
#include <string>

#include "fault_fixture.hpp"
#include "util/encoding.hpp"

namespace freshtoken::faults {
namespace {

// ---- rotation committed, answer lost ---------------------------------------------------------

TEST_F(FaultMatrixTest, LostRotationWithoutGraceIsReuseAndEndsInLoginRequired) {
  const Outcome o = lose_a_rotation("rotation committed, answer lost (no reuse grace)");
  EXPECT_EQ(o.app, "login_required");
  ASSERT_TRUE(last_error_);
  EXPECT_TRUE(last_error_->is_oauth("invalid_grant"));
  // The retry presented the old refresh token: reuse detected, family revoked...
  EXPECT_EQ(o.requests, 2);
  EXPECT_EQ(stats().refresh_reuse_detected, 1);
  EXPECT_EQ(stats().families_revoked, 1);
  // ...and only then, because the server declared it dead, was it erased.
  EXPECT_EQ(o.store, "erased");
  EXPECT_EQ(count_events(SessionEventKind::login_required), 1);
  EXPECT_FALSE(session_->status()->signed_in);
}

TEST_F(FaultMatrixTest, LostRotationKeepsTheRefreshTokenUntilTheServerSaysItIsDead) {
  sign_in();
  // The lost answer, then the retry's answer delayed: meanwhile the store still holds the old
  // token (a network error never erases anything).
  server_->arm_fault(fault(mock::FaultKind::commit_then_drop));
  mock::Fault slow = fault(mock::FaultKind::delay);
  slow.delay_ms = 300;
  server_->arm_fault(slow);
  clock_->advance(2h);
  auto call = std::async(std::launch::async, [this] { return app_call(); });
  std::optional<Secret> during;
  for (int i = 0; i < 1000 && token_requests() < 2; ++i) std::this_thread::sleep_for(5ms);
  during = stored_refresh_token();
  EXPECT_EQ(call.get(), "login_required");
  ASSERT_TRUE(during);
  EXPECT_EQ(*during, signed_in_refresh_token_);
  EXPECT_EQ(store_state(), "erased");
}

class LostRotationWithGrace : public FaultMatrixTest {
 protected:
  LostRotationWithGrace() { server_options_.reuse_grace = 60s; }
};

TEST_F(LostRotationWithGrace, RetrySucceedsWithTheFamilysCurrentRefreshToken) {
  const Outcome o = lose_a_rotation("rotation committed, answer lost (reuse grace 60 s)");
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 2);
  EXPECT_EQ(o.store, "rotated");
  EXPECT_EQ(stats().refresh_grace_reuses, 1);
  EXPECT_EQ(stats().families_revoked, 0);
  // The refresh token the grace answer handed over is the family's live one.
  const Outcome next = expire_and_call();
  EXPECT_EQ(next.app, "200");
  EXPECT_EQ(next.requests, 1);
  EXPECT_EQ(stats().families_revoked, 0);
}

// ---- the server's clock ----------------------------------------------------------------------

// The `exp` claim of a JWT access token, read only to show that the client does not use it.
long long jwt_exp(const Secret& token) {
  const auto text = token.reveal();
  const auto first = text.find('.');
  const auto second = text.find('.', first + 1);
  auto payload = util::base64url_decode(text.substr(first + 1, second - first - 1));
  if (!payload) return 0;
  return json::parse(*payload).value("exp", 0LL);
}

class ServerClockOff : public FaultMatrixTest,
                       public ::testing::WithParamInterface<std::chrono::hours> {};

TEST_P(ServerClockOff, ExpiryComesFromExpiresInSoTheSessionKeepsWorking) {
  server_->set_clock_offset(GetParam());
  sign_in();
  const Outcome o = expire_and_call();
  report(std::string("server clock ") + (GetParam().count() > 0 ? "+1 h" : "-1 h"), o);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 1);
  EXPECT_EQ(o.store, "rotated");
  // The client's expiry is its own receipt time + expires_in...
  ASSERT_TRUE(session_->status()->access_token_expires_at);
  EXPECT_EQ(*session_->status()->access_token_expires_at, clock_->now() + 3600s);
  // ...while the token's own exp is off by the server's offset (read here only to prove it).
  auto token = session_->token();
  ASSERT_TRUE(token);
  const auto real_now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  const long long skew = jwt_exp(*token) - (real_now + 3600);
  EXPECT_NEAR(static_cast<double>(skew),
              static_cast<double>(std::chrono::seconds(GetParam()).count()), 5.0);
  // And the next proactive refresh comes from the client's own arithmetic.
  clock_->advance(3600s * 8 / 10 + 1s);  // past the 80 % soft point
  EXPECT_EQ(call_and_measure().app, "200");
  for (int i = 0; i < 1000 && token_requests() < 2; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(token_requests(), 2);
}

INSTANTIATE_TEST_SUITE_P(FaultMatrix, ServerClockOff,
                         ::testing::Values(std::chrono::hours(1), std::chrono::hours(-1)));

TEST_F(FaultMatrixTest, ServerClockJumpingAheadMidSessionIsOne401AndOneRefresh) {
  sign_in();
  server_->set_clock_offset(1h + 1min);  // the server now thinks the access token expired
  const Outcome o = call_and_measure();
  report("server clock jumps +1 h mid-session", o);
  EXPECT_EQ(o.app, "200");  // 401 invalid_token -> invalidate -> refresh -> resend
  EXPECT_EQ(o.requests, 1);
  EXPECT_EQ(o.store, "rotated");
  EXPECT_EQ(stats().api_401, 1);
}

// ---- the secret store failing mid-session ----------------------------------------------------

class StoreFailing : public FaultMatrixTest,
                     public ::testing::WithParamInterface<SwitchableStore::Mode> {
 protected:
  std::string mode_name() const {
    return GetParam() == SwitchableStore::Mode::locked ? "locked" : "gone";
  }
  ErrorCode mode_code() const {
    return GetParam() == SwitchableStore::Mode::locked ? ErrorCode::storage_unavailable
                                                       : ErrorCode::storage;
  }
};

TEST_P(StoreFailing, RefreshStillServesTheNewTokenFromMemoryAndSavesItOnceTheStoreIsBack) {
  sign_in();
  switchable_->set_mode(GetParam());
  const Outcome o = expire_and_call();
  report("secret store " + mode_name() + " mid-session, at refresh", o);
  EXPECT_EQ(o.app, "200");
  EXPECT_EQ(o.requests, 1);
  // The store could not take the rotated token: it still holds the old (now rotated-out) one.
  EXPECT_EQ(o.store, "kept");
  EXPECT_EQ(count_events(SessionEventKind::store_failed), 1);
  {
    std::lock_guard<std::mutex> lock(log_mutex_);
    for (const auto& e : events_) {
      if (e.kind == SessionEventKind::store_failed) {
        ASSERT_TRUE(e.error);
        EXPECT_EQ(e.error->code(), mode_code());
      }
    }
  }
  // The session keeps using the rotated token from memory: the next refresh works, and the
  // recovered store gets it.
  switchable_->set_mode(SwitchableStore::Mode::working);
  const Outcome next = expire_and_call();
  EXPECT_EQ(next.app, "200");
  EXPECT_EQ(next.requests, 1);
  EXPECT_EQ(next.store, "rotated");
  EXPECT_EQ(stats().families_revoked, 0);
}

TEST_P(StoreFailing, RejectedRefreshTokenIsLoginRequiredEvenWhenItCannotBeErased) {
  sign_in();
  server_->revoke_user("alice");
  switchable_->set_mode(GetParam());
  const Outcome o = expire_and_call();
  report("secret store " + mode_name() + ", refresh token revoked", o);
  EXPECT_EQ(o.app, "login_required");
  EXPECT_EQ(o.requests, 1);
  EXPECT_EQ(o.store, "kept");  // the erase failed; the dead token is still on disk
  EXPECT_FALSE(session_->status()->signed_in);
}

TEST_P(StoreFailing, NewSessionOnAnUnreadableStoreFailsWithoutARequest) {
  sign_in();
  switchable_->set_mode(GetParam());
  session_ = make_session();  // e.g. the next start of the application
  http_ = std::make_unique<HttpClient>(transport_, session_);
  const Outcome o = call_and_measure();
  report("secret store " + mode_name() + " at start", o);
  EXPECT_EQ(o.app, std::string(to_string(mode_code())));
  EXPECT_EQ(o.requests, 0);
  EXPECT_EQ(o.store, "kept");
  switchable_->set_mode(SwitchableStore::Mode::working);
  EXPECT_EQ(call_and_measure().app, "200");  // the store is read again, not cached as empty
}

INSTANTIATE_TEST_SUITE_P(FaultMatrix, StoreFailing,
                         ::testing::Values(SwitchableStore::Mode::locked,
                                           SwitchableStore::Mode::gone),
                         [](const auto& param) {
                           return param.param == SwitchableStore::Mode::locked ? "Locked" : "Gone";
                         });

// ---- the server declaring the refresh token dead (the one case that erases) -----------------

TEST_F(FaultMatrixTest, RevokedRefreshTokenIsLoginRequiredAndErased) {
  sign_in();
  server_->revoke_user("alice");
  const Outcome o = expire_and_call();
  report("refresh token revoked (invalid_grant)", o);
  EXPECT_EQ(o.app, "login_required");
  EXPECT_EQ(o.requests, 1);
  EXPECT_EQ(o.store, "erased");
  // Nothing more is asked of the server once it has said so.
  EXPECT_EQ(call_and_measure().requests, 0);
}

}  // namespace
}  // namespace freshtoken::faults
