// Rotation: a new refresh token is in the store before the new access token is handed out;
// a response without one keeps the old; a failing store does not stop the session.
#include <future>

#include "session_test_support.hpp"

namespace freshtoken::testing {
namespace {

// A memory store that records its operations in order and can hold or fail saves.
class RecordingStore : public SecretStore {
 public:
  Result<Secret> load(const std::string& service, const std::string& account) override {
    return inner_->load(service, account);
  }
  Result<void> save(const std::string& service, const std::string& account,
                    const Secret& secret) override {
    if (hold_saves_) {
      save_entered_.open();
      release_saves_.wait();
    }
    auto decoded = detail::decode_stored_tokens(secret);
    note("save " + (decoded ? std::string(decoded->refresh_token.reveal()) : "?"));
    if (fail_saves_) return Error(ErrorCode::storage_unavailable, "the keyring is locked");
    return inner_->save(service, account, secret);
  }
  Result<void> erase(const std::string& service, const std::string& account) override {
    note("erase");
    return inner_->erase(service, account);
  }
  std::string describe() const override { return "recording"; }

  void note(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex_);
    log_.push_back(what);
  }
  std::vector<std::string> log() {
    std::lock_guard<std::mutex> lock(mutex_);
    return log_;
  }

  std::atomic<bool> hold_saves_{false};
  std::atomic<bool> fail_saves_{false};
  Gate save_entered_;
  Gate release_saves_;

 private:
  std::shared_ptr<SecretStore> inner_ = make_memory_store();
  std::mutex mutex_;
  std::vector<std::string> log_;
};

class SessionRotationTest : public SessionTest {
 protected:
  SessionRotationTest() { store_ = recording_; }
  std::shared_ptr<RecordingStore> recording_ = std::make_shared<RecordingStore>();
};

TEST_F(SessionRotationTest, RotatedRefreshTokenIsSavedBeforeTheAccessTokenIsHandedOut) {
  serve_tokens(/*rotate=*/true);
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  recording_->hold_saves_ = true;

  auto caller = std::async(std::launch::async, [&] {
    auto token = session->token();
    recording_->note("handed out " + std::string(token ? token->reveal() : "error"));
    return token;
  });
  ASSERT_TRUE(recording_->save_entered_.wait_for_a_long_time());
  // While the save is held, the new access token must not reach anyone.
  EXPECT_EQ(caller.wait_for(100ms), std::future_status::timeout);
  recording_->release_saves_.open();
  auto token = caller.get();
  ASSERT_TRUE(token);
  EXPECT_EQ(token->reveal(), "at-1");
  EXPECT_EQ(recording_->log(),
            (std::vector<std::string>{"save rt-0", "save rt-1", "handed out at-1"}));
  EXPECT_EQ(stored_refresh_token(), "rt-1");
  EXPECT_EQ(refresh_token_sent(0), "rt-0");
}

TEST_F(SessionRotationTest, ResponseWithoutRefreshTokenKeepsTheOldOne) {
  serve_tokens(/*rotate=*/false);
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  EXPECT_EQ(session->token()->reveal(), "at-1");
  EXPECT_EQ(stored_refresh_token(), "rt-0");
  clock_->advance(200s);
  EXPECT_EQ(session->token()->reveal(), "at-2");
  EXPECT_EQ(refresh_token_sent(1), "rt-0");
}

TEST_F(SessionRotationTest, NextRefreshUsesTheRotatedToken) {
  serve_tokens(/*rotate=*/true);
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  ASSERT_TRUE(session->token());
  clock_->advance(200s);
  ASSERT_TRUE(session->token());
  EXPECT_EQ(refresh_token_sent(0), "rt-0");
  EXPECT_EQ(refresh_token_sent(1), "rt-1");
}

TEST_F(SessionRotationTest, SaveFailureReportsStoreFailedAndTheSessionGoesOn) {
  serve_tokens(/*rotate=*/true);
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  recording_->fail_saves_ = true;
  auto token = session->token();
  ASSERT_TRUE(token) << token.error().to_string();
  EXPECT_EQ(token->reveal(), "at-1");
  ASSERT_EQ(events_.count(SessionEventKind::store_failed), 1u);
  for (const auto& e : events_.events()) {
    if (e.kind != SessionEventKind::store_failed) continue;
    ASSERT_TRUE(e.error);
    EXPECT_EQ(e.error->code(), ErrorCode::storage_unavailable);
  }
  // The rotated token lives on in memory: the next refresh uses it.
  clock_->advance(200s);
  EXPECT_EQ(session->token()->reveal(), "at-2");
  EXPECT_EQ(refresh_token_sent(1), "rt-1");
  EXPECT_TRUE(session->status()->signed_in);
}

TEST_F(SessionRotationTest, SignInReportsASaveFailureButServesTheTokens) {
  recording_->fail_saves_ = true;
  auto session = make_session();
  auto signed_in = session->sign_in(tokens(100s));
  ASSERT_FALSE(signed_in);
  EXPECT_EQ(signed_in.error().code(), ErrorCode::storage_unavailable);
  EXPECT_EQ(session->token()->reveal(), "at-0");
  EXPECT_EQ(events_.count(SessionEventKind::store_failed), 1u);
}

}  // namespace
}  // namespace freshtoken::testing
