// Failure classes: which failures drop the refresh token (only a rejected grant), which are
// retried, and what callers are served meanwhile.
#include <stdlib.h>

#include <fstream>
#include <optional>
#include <string>

#include "process_lock.hpp"
#include "session_test_support.hpp"
#include "temp_dir.hpp"

namespace freshtoken::testing {
namespace {

// --- A rejected grant -------------------------------------------------------------------------

TEST_F(SessionTest, InvalidGrantErasesTheStoreAndRequiresLogin) {
  transport_->set_handler(
      [](const Request&) -> Result<Response> { return oauth_error(400, "invalid_grant"); });
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
  EXPECT_TRUE(token.error().is_oauth("invalid_grant"));
  EXPECT_EQ(stored_refresh_token(), "(none)");
  EXPECT_EQ(events_.count(SessionEventKind::login_required), 1u);
  EXPECT_FALSE(session->status()->signed_in);
  EXPECT_EQ(token_requests(), 1u);

  // No further requests: only a new sign-in helps.
  token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
  EXPECT_EQ(token_requests(), 1u);

  serve_tokens();
  ASSERT_TRUE(session->sign_in(tokens(100s, "at-new", "rt-new")));
  EXPECT_EQ(session->token()->reveal(), "at-new");
}

TEST_F(SessionTest, InteractionRequiredAlsoRequiresLogin) {
  transport_->set_handler(
      [](const Request&) -> Result<Response> { return oauth_error(400, "interaction_required"); });
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
  EXPECT_EQ(stored_refresh_token(), "(none)");
}

TEST_F(SessionTest, InvalidGrantDuringABackgroundRefreshEndsTheSession) {
  transport_->set_handler(
      [](const Request&) -> Result<Response> { return oauth_error(400, "invalid_grant"); });
  auto session = signed_in_session(100s);
  clock_->advance(85s);
  EXPECT_EQ(session->token()->reveal(), "at-0");
  ASSERT_TRUE(events_.wait_for(SessionEventKind::login_required));
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
}

TEST_F(SessionTest, ASignInElsewhereDuringTheLastRejectedRefreshIsNotErased) {
  // rt-0 is rejected after another process rotated it into rt-x; rt-x is rejected too, but
  // meanwhile the user signed in again in another process (rt-new): that entry must stay.
  std::atomic<int> calls{0};
  transport_->set_handler([&](const Request&) -> Result<Response> {
    if (++calls == 1) {
      store_record("at-x", "rt-x", kStart + 150s);
    } else {
      store_record("at-new", "rt-new", clock_->now() + 100s);
    }
    return oauth_error(400, "invalid_grant");
  });
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  EXPECT_EQ(token_of(*session), "at-new");
  EXPECT_EQ(refresh_token_sent(1), "rt-x");
  EXPECT_EQ(stored_refresh_token(), "rt-new");
  EXPECT_EQ(events_.count(SessionEventKind::login_required), 0u);
}

TEST_F(SessionTest, InvalidGrantAfterAnotherProcessRotatedAdoptsTheStoredToken) {
  // Another process refreshes (rotating rt-0 into rt-other) while our request is under way,
  // so the server rejects our rt-0.
  std::atomic<int> calls{0};
  transport_->set_handler([&](const Request& request) -> Result<Response> {
    if (++calls == 1) {
      store_record("at-other", "rt-other", kStart + 150s);  // already expired by now
      return oauth_error(400, "invalid_grant");
    }
    if (form_value(request.body, "refresh_token") != "rt-other") {
      return oauth_error(400, "invalid_grant");
    }
    return token_response("at-1", "rt-1", 100);
  });
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  EXPECT_EQ(token_of(*session), "at-1");
  EXPECT_EQ(refresh_token_sent(0), "rt-0");
  EXPECT_EQ(refresh_token_sent(1), "rt-other");
  EXPECT_EQ(stored_refresh_token(), "rt-1");
  EXPECT_EQ(events_.count(SessionEventKind::login_required), 0u);
}

TEST_F(SessionTest, InvalidGrantWithAFreshTokenInTheStoreServesItWithoutAnotherRequest) {
  transport_->set_handler([&](const Request&) -> Result<Response> {
    store_record("at-other", "rt-other", clock_->now() + 100s);
    return oauth_error(400, "invalid_grant");
  });
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  EXPECT_EQ(token_of(*session), "at-other");
  EXPECT_EQ(token_requests(), 1u);
  EXPECT_EQ(stored_refresh_token(), "rt-other");
}

TEST_F(SessionTest, RejectedAgainAfterAdoptingTheStoredTokenRequiresLogin) {
  transport_->set_handler([&](const Request&) -> Result<Response> {
    if (stored_refresh_token() == "rt-0") store_record("", "rt-other", kStart);
    return oauth_error(400, "invalid_grant");
  });
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
  EXPECT_EQ(token_requests(), 2u);  // retried once with the adopted token, not more
  EXPECT_EQ(stored_refresh_token(), "(none)");
}

// --- Transient failures -----------------------------------------------------------------------

struct TransientCase {
  const char* name;
  std::function<Result<Response>()> answer;
  ErrorCode code;
  int http_status;
};

Response with_retry_after(Response r, const std::string& value) {
  r.headers.set("Retry-After", value);
  return r;
}

const TransientCase kTransientCases[] = {
    {"network_error", [] { return Result<Response>(Error(ErrorCode::network, "reset")); },
     ErrorCode::network, 0},
    {"timeout", [] { return Result<Response>(Error(ErrorCode::timeout, "timed out")); },
     ErrorCode::timeout, 0},
    {"http_500", [] { return Result<Response>(json_response(500, "oops")); },
     ErrorCode::token_endpoint, 500},
    {"http_502", [] { return Result<Response>(json_response(502, "<html>bad gateway</html>")); },
     ErrorCode::token_endpoint, 502},
    {"http_503", [] { return Result<Response>(json_response(503, "")); }, ErrorCode::token_endpoint,
     503},
    {"http_504", [] { return Result<Response>(json_response(504, "")); }, ErrorCode::token_endpoint,
     504},
    {"http_408", [] { return Result<Response>(json_response(408, "")); }, ErrorCode::token_endpoint,
     408},
    {"http_429_retry_after_seconds",
     [] { return Result<Response>(with_retry_after(json_response(429, ""), "2")); },
     ErrorCode::token_endpoint, 429},
    {"http_503_retry_after_date",
     [] {
       return Result<Response>(
           with_retry_after(json_response(503, ""), "Wed, 21 Oct 2037 07:28:00 GMT"));
     },
     ErrorCode::token_endpoint, 503},
    {"temporarily_unavailable",
     [] { return Result<Response>(oauth_error(400, "temporarily_unavailable")); },
     ErrorCode::token_endpoint, 400},
    {"truncated_json",
     [] { return Result<Response>(json_response(200, R"({"access_token":"at-x","tok)")); },
     ErrorCode::invalid_response, 0},
    {"not_json", [] { return Result<Response>(json_response(200, "<html>login</html>")); },
     ErrorCode::invalid_response, 0},
    {"no_access_token",
     [] { return Result<Response>(json_response(200, R"({"token_type":"Bearer"})")); },
     ErrorCode::invalid_response, 0},
};

class TransientFailureTest : public SessionTest,
                             public ::testing::WithParamInterface<TransientCase> {};

TEST_P(TransientFailureTest, IsRetriedThreeTimesAndKeepsTheRefreshToken) {
  transport_->set_handler([](const Request&) { return GetParam().answer(); });
  auto session = signed_in_session(100s);
  clock_->advance(85s);  // soft window: the current token stays valid throughout
  EXPECT_EQ(session->token()->reveal(), "at-0");
  ASSERT_TRUE(events_.wait_for(SessionEventKind::refresh_failed));
  EXPECT_EQ(token_requests(), 4u);  // 1 + 3 retries
  EXPECT_EQ(stored_refresh_token(), "rt-0");
  EXPECT_EQ(events_.count(SessionEventKind::login_required), 0u);
  for (const auto& e : events_.events()) {
    if (e.kind != SessionEventKind::refresh_failed) continue;
    ASSERT_TRUE(e.error);
    EXPECT_EQ(e.error->code(), GetParam().code) << e.error->to_string();
    EXPECT_EQ(e.error->http_status(), GetParam().http_status);
  }
  // Still served, and not hammering the server on every call.
  EXPECT_EQ(session->token()->reveal(), "at-0");
  EXPECT_EQ(session->token()->reveal(), "at-0");
  EXPECT_EQ(token_requests(), 4u);
  EXPECT_TRUE(session->status()->signed_in);
}

TEST_P(TransientFailureTest, CallersWithoutAUsableTokenGetTheErrorAndKeepTheRefreshToken) {
  transport_->set_handler([](const Request&) { return GetParam().answer(); });
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), GetParam().code) << token.error().to_string();
  EXPECT_EQ(token_requests(), 4u);
  EXPECT_EQ(stored_refresh_token(), "rt-0");
  EXPECT_EQ(events_.count(SessionEventKind::refresh_failed), 1u);

  // Once the server is back, the kept refresh token works.
  serve_tokens();
  token = session->token();
  ASSERT_TRUE(token) << token.error().to_string();
  EXPECT_EQ(refresh_token_sent(4), "rt-0");
}

INSTANTIATE_TEST_SUITE_P(Classes, TransientFailureTest, ::testing::ValuesIn(kTransientCases),
                         [](const ::testing::TestParamInfo<TransientCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST_F(SessionTest, TransientFailuresThenSuccessServeTheNewToken) {
  transport_->enqueue(json_response(503, ""));
  transport_->enqueue(Error(ErrorCode::network, "reset"));
  serve_tokens();
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  EXPECT_EQ(token_of(*session), "at-1");
  EXPECT_EQ(token_requests(), 3u);
  EXPECT_EQ(events_.count(SessionEventKind::refresh_failed), 0u);
}

TEST_F(SessionTest, InsideTheHardMarginAFailedRefreshStillServesTheValidToken) {
  transport_->set_handler(
      [](const Request&) -> Result<Response> { return json_response(503, ""); });
  auto session = signed_in_session(100s);
  clock_->advance(95s);  // inside the margin, 5 s before expiry
  EXPECT_EQ(token_of(*session), "at-0");
  EXPECT_EQ(token_requests(), 4u);
}

// --- Failures that are not the token's fault --------------------------------------------------

TEST_F(SessionTest, InvalidClientIsReportedOnceAndKeepsTheTokens) {
  transport_->set_handler(
      [](const Request&) -> Result<Response> { return oauth_error(401, "invalid_client"); });
  auto session = signed_in_session(100s);
  clock_->advance(85s);
  EXPECT_EQ(session->token()->reveal(), "at-0");
  ASSERT_TRUE(events_.wait_for(SessionEventKind::refresh_failed));
  EXPECT_EQ(token_requests(), 1u);  // not retried
  EXPECT_EQ(stored_refresh_token(), "rt-0");
  EXPECT_EQ(events_.count(SessionEventKind::login_required), 0u);
  EXPECT_EQ(session->token()->reveal(), "at-0");

  clock_->advance(200s);
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::token_endpoint);
  EXPECT_TRUE(token.error().is_oauth("invalid_client"));
  EXPECT_EQ(stored_refresh_token(), "rt-0");
}

TEST_F(SessionTest, BackgroundRetriesResumeAfterThePause) {
  transport_->set_handler(
      [](const Request&) -> Result<Response> { return json_response(503, ""); });
  auto session = signed_in_session(1000s);
  clock_->advance(850s);
  EXPECT_EQ(session->token()->reveal(), "at-0");
  ASSERT_TRUE(events_.wait_for(SessionEventKind::refresh_failed));
  EXPECT_EQ(token_requests(), 4u);
  serve_tokens();
  clock_->advance(9s);  // pause_after_failure is 10 s
  EXPECT_EQ(session->token()->reveal(), "at-0");
  EXPECT_EQ(token_requests(), 4u);
  clock_->advance(1s);
  EXPECT_EQ(session->token()->reveal(), "at-0");
  ASSERT_TRUE(events_.wait_for(SessionEventKind::refreshed));
  EXPECT_EQ(session->token()->reveal(), "at-1");
}

TEST_F(SessionTest, ARejectedTokenIsNotErasedWithoutTheStoreLock) {
  transport_->set_handler(
      [](const Request&) -> Result<Response> { return oauth_error(400, "invalid_grant"); });
  RefreshPolicy policy = test_policy();
  policy.refresh_lock_timeout = 300ms;
  auto session = signed_in_session(100s, policy);
  // Another process of the account is writing the store and keeps its store lock.
  auto elsewhere = ProcessLock::acquire("freshtoken", "https://as.example|app|alice", 0ms,
                                        ProcessLock::Kind::store);
  ASSERT_TRUE(elsewhere) << elsewhere.error().to_string();
  clock_->advance(200s);

  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::timeout);
  EXPECT_EQ(token_requests(), 1u);
  EXPECT_EQ(stored_refresh_token(), "rt-0");
  EXPECT_EQ(events_.count(SessionEventKind::login_required), 0u);
  EXPECT_EQ(events_.count(SessionEventKind::refresh_failed), 1u);

  // Once the lock is free, the next refresh settles it.
  elsewhere->release();
  clock_->advance(10s);
  token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
  EXPECT_EQ(stored_refresh_token(), "(none)");
}

// --- No safe place for the cross-process lock ------------------------------------------------

// XDG_RUNTIME_DIR names a private directory in which "freshtoken" is a file, not a directory:
// the account's cross-process locks cannot be had at all.
class NoLockDirectoryTest : public SessionTest {
 protected:
  void SetUp() override {
    if (const char* old = std::getenv("XDG_RUNTIME_DIR")) saved_runtime_ = old;
    std::ofstream(blocker()) << "not a directory";
    ::setenv("XDG_RUNTIME_DIR", runtime_.path().c_str(), 1);
  }
  void TearDown() override {
    if (saved_runtime_) {
      ::setenv("XDG_RUNTIME_DIR", saved_runtime_->c_str(), 1);
    } else {
      ::unsetenv("XDG_RUNTIME_DIR");
    }
  }
  std::filesystem::path blocker() const { return runtime_.path() / "freshtoken"; }

  TempDir runtime_;
  std::optional<std::string> saved_runtime_;
};

TEST_F(NoLockDirectoryTest, ARefreshThatCannotTakeTheLockDoesNotRunUnlockedAndErasesNothing) {
  // Were the refresh to run, the server would reject the token and the session would erase it.
  transport_->set_handler(
      [](const Request&) -> Result<Response> { return oauth_error(400, "invalid_grant"); });
  auto session = signed_in_session(100s);  // a sign-in is saved without the store lock
  ASSERT_EQ(stored_refresh_token(), "rt-0");
  clock_->advance(200s);

  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::storage);
  EXPECT_NE(token.error().message().find(blocker().string() + " is not a directory"),
            std::string::npos)
      << token.error().message();
  EXPECT_EQ(token_requests(), 0u);
  EXPECT_EQ(stored_refresh_token(), "rt-0");
  ASSERT_EQ(events_.count(SessionEventKind::refresh_failed), 1u);
  EXPECT_EQ(events_.events().back().error->code(), ErrorCode::storage);
  EXPECT_EQ(events_.count(SessionEventKind::login_required), 0u);
  EXPECT_TRUE(session->status()->signed_in);

  // Once the lock can be had again, the next call refreshes.
  std::filesystem::remove(blocker());
  serve_tokens();
  token = session->token();
  ASSERT_TRUE(token) << token.error().to_string();
  EXPECT_EQ(token->reveal(), "at-1");
  EXPECT_EQ(stored_refresh_token(), "rt-1");
}

}  // namespace
}  // namespace freshtoken::testing
