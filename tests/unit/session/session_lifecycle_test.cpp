// Loading, invalidation, sign-in/out, sharing the store with other processes, shutdown,
// configuration errors, events and logs.
#include <future>
#include <iostream>
#include <thread>

#include "session_test_support.hpp"

namespace freshtoken::testing {
namespace {

TEST_F(SessionTest, InvalidatingTheCurrentTokenMakesTheNextCallRefresh) {
  serve_tokens();
  auto session = signed_in_session(100s);
  auto current = session->token();
  ASSERT_TRUE(current);
  session->invalidate(*current);
  EXPECT_EQ(token_of(*session), "at-1");
  EXPECT_EQ(token_requests(), 1u);
}

TEST_F(SessionTest, InvalidatingAnOldTokenDoesNothing) {
  serve_tokens();
  auto session = signed_in_session(100s);
  auto old = session->token();
  session->invalidate(*old);
  ASSERT_EQ(session->token()->reveal(), "at-1");

  session->invalidate(*old);  // a late 401 for the token that was already replaced
  session->invalidate(Secret(std::string("never-issued")));
  EXPECT_EQ(session->token()->reveal(), "at-1");
  EXPECT_EQ(token_requests(), 1u);
}

TEST_F(SessionTest, NotSignedInIsLoginRequired) {
  auto session = make_session();
  EXPECT_FALSE(session->status()->signed_in);
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
  EXPECT_EQ(token_requests(), 0u);
}

TEST_F(SessionTest, ExpiredTokenWithoutARefreshTokenIsLoginRequired) {
  auto session = make_session();
  ASSERT_TRUE(session->sign_in(tokens(100s, "at-0", "")));
  EXPECT_EQ(session->token()->reveal(), "at-0");
  clock_->advance(95s);  // inside the margin but valid: nothing to refresh with, so serve it
  EXPECT_EQ(session->token()->reveal(), "at-0");
  clock_->advance(5s);
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
  EXPECT_EQ(token_requests(), 0u);
}

TEST_F(SessionTest, ASecondSessionResumesFromTheStoreWithoutRefreshing) {
  serve_tokens();
  {
    auto first = signed_in_session(100s);
    clock_->advance(200s);
    ASSERT_EQ(first->token()->reveal(), "at-1");
  }
  clock_->advance(10s);
  auto second = make_session();  // another process, same store
  EXPECT_TRUE(second->status()->signed_in);
  EXPECT_EQ(second->status()->access_token_expires_at, kStart + 300s);
  EXPECT_EQ(second->token()->reveal(), "at-1");
  EXPECT_EQ(token_requests(), 1u);
}

TEST_F(SessionTest, ARefreshIsSkippedWhenTheStoreAlreadyHoldsNewerTokens) {
  serve_tokens();
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  store_record("at-other", "rt-other", clock_->now() + 100s);  // another process refreshed
  EXPECT_EQ(token_of(*session), "at-other");
  EXPECT_EQ(token_requests(), 0u);
}

TEST_F(SessionTest, ARotatedRefreshTokenInTheStoreIsUsedForTheRefresh) {
  serve_tokens();
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  store_record("at-other", "rt-other", clock_->now() - 1s);  // expired, but a newer rt
  ASSERT_EQ(session->token()->reveal(), "at-1");
  EXPECT_EQ(refresh_token_sent(0), "rt-other");
}

TEST_F(SessionTest, CorruptStoreEntryIsAStorageErrorAndIsNotErased) {
  ASSERT_TRUE(
      store_->save("freshtoken", "https://as.example|app|alice", Secret(std::string("{\"v\":1,"))));
  auto session = make_session();
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::storage);
  EXPECT_EQ(token.error().message().find("{\"v\""), std::string::npos);
  // Unreadable is not "signed out": status() says what is wrong.
  auto status = session->status();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), ErrorCode::storage);
  auto still = store_->load("freshtoken", "https://as.example|app|alice");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->reveal(), "{\"v\":1,");
  // A new sign-in replaces it.
  ASSERT_TRUE(session->sign_in(tokens(100s)));
  EXPECT_EQ(session->token()->reveal(), "at-0");
  EXPECT_EQ(stored_refresh_token(), "rt-0");
}

TEST_F(SessionTest, UnavailableStoreIsReportedAsSuch) {
  class LockedStore : public SecretStore {
   public:
    Result<Secret> load(const std::string&, const std::string&) override {
      return Error(ErrorCode::storage_unavailable, "locked");
    }
    Result<void> save(const std::string&, const std::string&, const Secret&) override {
      return Error(ErrorCode::storage_unavailable, "locked");
    }
    Result<void> erase(const std::string&, const std::string&) override {
      return Error(ErrorCode::storage_unavailable, "locked");
    }
    std::string describe() const override { return "locked"; }
  };
  store_ = std::make_shared<LockedStore>();
  auto session = make_session();
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::storage_unavailable);
}

TEST_F(SessionTest, SignOutErasesRevokesAndForgets) {
  transport_->set_handler([](const Request& request) -> Result<Response> {
    if (request.url == "https://as.example/revoke") return json_response(200, "");
    return token_response("at-1", "rt-1", 100);
  });
  auto session = signed_in_session(100s);
  ASSERT_TRUE(session->sign_out());
  EXPECT_FALSE(session->status()->signed_in);
  EXPECT_EQ(stored_refresh_token(), "(none)");
  auto requests = transport_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].url, "https://as.example/revoke");
  EXPECT_EQ(form_value(requests[0].body, "token"), "rt-0");
  EXPECT_EQ(form_value(requests[0].body, "token_type_hint"), "refresh_token");
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
}

TEST_F(SessionTest, SignOutCompletesLocallyWhenRevocationFails) {
  transport_->set_handler(
      [](const Request&) -> Result<Response> { return Error(ErrorCode::network, "unreachable"); });
  auto session = signed_in_session(100s);
  auto result = session->sign_out();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::network);
  EXPECT_FALSE(session->status()->signed_in);
  EXPECT_EQ(stored_refresh_token(), "(none)");
}

// A sign-in or sign-out while a refresh is on the network is newer than the refresh's result.
class SessionRefreshOnHoldTest : public SessionTest {
 protected:
  // A session whose background refresh (started at the soft point) is waiting for its answer.
  std::shared_ptr<Session> refresh_on_hold() {
    transport_->set_handler([this](const Request&) -> Result<Response> {
      entered_.open();
      release_.wait();
      return token_response("at-stale", "rt-stale", 100);
    });
    auto session = signed_in_session(100s);
    clock_->advance(85s);
    EXPECT_EQ(session->token()->reveal(), "at-0");
    EXPECT_TRUE(entered_.wait_for_a_long_time());
    return session;
  }
  // Lets the refresh finish; the next token() is past the hard point, so it waits for it.
  Result<Secret> finish_and_get_token(Session& session) {
    release_.open();
    clock_->advance(14s);
    return session.token();
  }
  Gate entered_;
  Gate release_;
};

TEST_F(SessionRefreshOnHoldTest, SignInDuringARefreshWinsOverTheRefreshResult) {
  auto session = refresh_on_hold();
  ASSERT_TRUE(session->sign_in(tokens(100s, "at-new", "rt-new")));
  release_.open();
  session.reset();  // joins the refresh
  EXPECT_EQ(stored_refresh_token(), "rt-new");
}

// Another process's sign_in and sign_out do not wait for this process's refresh lock.
TEST_F(SessionRefreshOnHoldTest, ASignInElsewhereDuringTheRefreshIsAdoptedNotOverwritten) {
  auto session = refresh_on_hold();
  store_record("at-other", "rt-other", clock_->now() + 100s);
  auto token = finish_and_get_token(*session);
  ASSERT_TRUE(token) << token.error().to_string();
  EXPECT_EQ(token->reveal(), "at-other");
  EXPECT_EQ(stored_refresh_token(), "rt-other");
}

TEST_F(SessionRefreshOnHoldTest, ASignOutElsewhereDuringTheRefreshIsNotUndone) {
  auto session = refresh_on_hold();
  ASSERT_TRUE(store_->erase("freshtoken", "https://as.example|app|alice"));
  auto token = finish_and_get_token(*session);
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
  EXPECT_EQ(stored_refresh_token(), "(none)");
  EXPECT_FALSE(session->status()->signed_in);
  EXPECT_EQ(events_.count(SessionEventKind::signed_out_elsewhere), 1u);
  EXPECT_EQ(events_.count(SessionEventKind::login_required), 0u);
  // The sign-out revoked what was stored (rt-0); the token this refresh got back is revoked
  // here, so the grant does not outlive the sign-out.
  std::vector<std::string> revoked;
  for (const auto& r : transport_->requests()) {
    if (r.url == "https://as.example/revoke") revoked.push_back(form_value(r.body, "token"));
  }
  EXPECT_EQ(revoked, std::vector<std::string>{"rt-stale"});
}

TEST_F(SessionTest, DestroyingTheSessionInterruptsABackoff) {
  transport_->set_handler(
      [](const Request&) -> Result<Response> { return json_response(503, ""); });
  RefreshPolicy policy = test_policy();
  policy.initial_backoff = 1h;
  policy.max_backoff = 1h;
  auto session = signed_in_session(100s, policy);
  clock_->advance(85s);
  ASSERT_EQ(session->token()->reveal(), "at-0");
  for (int i = 0; i < 20000 && token_requests() == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(token_requests(), 1u);
  auto destroyed = std::async(std::launch::async, [&] { session.reset(); });
  EXPECT_EQ(destroyed.wait_for(20s), std::future_status::ready)
      << "~Session waited out an hour-long backoff";
  EXPECT_EQ(stored_refresh_token(), "rt-0");
}

TEST_F(SessionTest, DroppingTheLastReferenceInsideAListenerIsSafe) {
  serve_tokens();
  auto session = signed_in_session(100s);
  auto holder = std::make_shared<std::shared_ptr<Session>>(session);
  // Shared: the session's thread still touches it after the test has seen it open.
  auto done = std::make_shared<Gate>();
  (*holder)
      ->subscribe([holder, done](const SessionEvent& e) {
        if (e.kind == SessionEventKind::refreshed) {
          holder->reset();  // the last reference, on the session's own thread
          done->open();
        }
      })
      .detach();
  clock_->advance(85s);
  ASSERT_TRUE(session->token());
  session.reset();
  EXPECT_TRUE(done->wait_for_a_long_time());
}

TEST_F(SessionTest, ListenersMayCallTokenWithoutDeadlocking) {
  std::atomic<int> served_after_refresh{0};
  std::atomic<int> refused_while_failing{0};
  std::shared_ptr<Session> session = signed_in_session(100s);
  auto subscription = session->subscribe([&](const SessionEvent& e) {
    auto token = session->token();
    if (e.kind == SessionEventKind::refreshed && token && token->reveal() == "at-1") {
      ++served_after_refresh;
    }
    if (e.kind == SessionEventKind::refresh_failed && !token &&
        token.error().code() == ErrorCode::config) {
      ++refused_while_failing;
    }
  });
  serve_tokens();
  clock_->advance(200s);
  ASSERT_EQ(session->token()->reveal(), "at-1");
  EXPECT_EQ(served_after_refresh.load(), 1);

  transport_->set_handler(
      [](const Request&) -> Result<Response> { return json_response(503, ""); });
  clock_->advance(1h);
  EXPECT_FALSE(session->token());
  EXPECT_EQ(refused_while_failing.load(), 1);
}

TEST_F(SessionTest, InvalidConfigurationIsRefusedAtCreation) {
  auto no_account = options();
  no_account.account.clear();
  auto no_store = options();
  no_store.store.reset();
  auto no_server = options();
  no_server.server.reset();
  auto bad_policy = options();
  bad_policy.policy.soft_refresh_fraction = 1.5;
  auto negative_retries = options();
  negative_retries.policy.max_retries = -1;
  for (const auto& o : {no_account, no_store, no_server, bad_policy, negative_retries}) {
    auto session = Session::create(o);
    ASSERT_FALSE(session);
    EXPECT_EQ(session.error().code(), ErrorCode::config);
  }
  EXPECT_TRUE(Session::create(options()));
}

// A store that is locked (a keyring waiting for its password): every call fails.
class LockedStore : public SecretStore {
 public:
  Result<Secret> load(const std::string&, const std::string&) override { return locked(); }
  Result<void> save(const std::string&, const std::string&, const Secret&) override {
    return locked();
  }
  Result<void> erase(const std::string&, const std::string&) override { return locked(); }
  std::string describe() const override { return "locked"; }

 private:
  static Error locked() { return Error(ErrorCode::storage_unavailable, "the keyring is locked"); }
};

TEST_F(SessionTest, ALockedStoreIsReportedAsSuchNotAsSignedOut) {
  auto o = options();
  o.store = std::make_shared<LockedStore>();
  auto session = Session::create(o).value();
  auto status = session->status();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), ErrorCode::storage_unavailable);
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::storage_unavailable);
}

TEST_F(SessionTest, UnsubscribedListenersHearNothing) {
  serve_tokens();
  auto session = signed_in_session(100s);
  EventRecorder other;
  auto id = session->subscribe([&](const SessionEvent& e) { other.record(e); });
  session->unsubscribe(id);
  clock_->advance(200s);
  ASSERT_TRUE(session->token());
  EXPECT_EQ(events_.count(SessionEventKind::refreshed), 1u);
  EXPECT_EQ(other.count(SessionEventKind::refreshed), 0u);
}

TEST_F(SessionTest, LogsNameTokensByFingerprintOnly) {
  serve_tokens();
  std::mutex mutex;
  std::vector<std::string> lines;
  auto o = options();
  o.log = [&](LogLevel, std::string_view message) {
    std::lock_guard<std::mutex> lock(mutex);
    lines.emplace_back(message);
  };
  auto session = Session::create(o).value();
  ASSERT_TRUE(session->sign_in(tokens(100s)));
  clock_->advance(200s);
  ASSERT_TRUE(session->token());
  session->invalidate(*session->token());
  ASSERT_TRUE(session->token());
  ASSERT_TRUE(session->sign_out());
  session.reset();

  bool saw_refresh = false;
  for (const auto& line : lines) {
    for (const char* secret : {"at-0", "rt-0", "at-1", "rt-1", "at-2", "rt-2"}) {
      EXPECT_EQ(line.find(secret), std::string::npos) << line;
    }
    if (::testing::Test::HasFailure()) std::cerr << line << "\n";
    if (line.find("refreshed access token, expires in 100 s, refresh token rotated " +
                  Secret(std::string("rt-1")).fingerprint()) != std::string::npos) {
      saw_refresh = true;
    }
  }
  EXPECT_TRUE(saw_refresh);
}

}  // namespace
}  // namespace freshtoken::testing
