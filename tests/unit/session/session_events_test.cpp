// Session events: what each kind reports and when (refreshed here, adopted from the store,
// signed in and out here, signed out elsewhere), the time and account on each, and the
// subscription handle: unsubscribing on scope exit, moving, detaching, and the rule for a
// listener that is running while it is unsubscribed.
#include <atomic>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "session_test_support.hpp"

namespace freshtoken::testing {
namespace {

std::vector<SessionEventKind> kinds(const std::vector<SessionEvent>& events) {
  std::vector<SessionEventKind> out;
  for (const auto& e : events) out.push_back(e.kind);
  return out;
}

TEST(SessionEventKindTest, ToStringNamesEveryKindAsSpelledInTheEnum) {
  EXPECT_EQ(to_string(SessionEventKind::refreshed), "refreshed");
  EXPECT_EQ(to_string(SessionEventKind::refresh_failed), "refresh_failed");
  EXPECT_EQ(to_string(SessionEventKind::login_required), "login_required");
  EXPECT_EQ(to_string(SessionEventKind::store_failed), "store_failed");
  EXPECT_EQ(to_string(SessionEventKind::adopted), "adopted");
  EXPECT_EQ(to_string(SessionEventKind::signed_in), "signed_in");
  EXPECT_EQ(to_string(SessionEventKind::signed_out), "signed_out");
  EXPECT_EQ(to_string(SessionEventKind::signed_out_elsewhere), "signed_out_elsewhere");
}

TEST_F(SessionTest, SignInAndSignOutHereAreReported) {
  serve_tokens();  // answers the revocation
  auto session = make_session();
  ASSERT_TRUE(session->sign_in(tokens(100s)));
  ASSERT_TRUE(session->sign_out());
  EXPECT_EQ(kinds(events_.events()), (std::vector<SessionEventKind>{SessionEventKind::signed_in,
                                                                    SessionEventKind::signed_out}));
}

TEST_F(SessionTest, EventsCarryTheSessionClockTimeAndTheAccount) {
  serve_tokens();
  auto session = signed_in_session(100s);
  clock_->advance(200s);
  ASSERT_EQ(token_of(*session), "at-1");
  const auto events = events_.events();
  ASSERT_EQ(kinds(events), (std::vector<SessionEventKind>{SessionEventKind::signed_in,
                                                          SessionEventKind::refreshed}));
  EXPECT_EQ(events[0].at, kStart);
  EXPECT_EQ(events[1].at, kStart + 200s);
  for (const auto& e : events) EXPECT_EQ(e.account, "https://as.example|app|alice");
}

TEST_F(SessionTest, TokensAnotherProcessSavedAreReportedAsAdoptedNotRefreshed) {
  serve_tokens();
  auto session = signed_in_session(100s);
  // Another process of the account refreshed and saved its tokens.
  store_record("at-other", "rt-other", clock_->now() + 300s);
  clock_->advance(200s);
  EXPECT_EQ(token_of(*session), "at-other");
  EXPECT_EQ(token_requests(), 0u);
  EXPECT_EQ(events_.count(SessionEventKind::adopted), 1u);
  EXPECT_EQ(events_.count(SessionEventKind::refreshed), 0u);
}

TEST_F(SessionTest, ASignOutElsewhereIsReportedBeforeTheRefreshTokenIsPresented) {
  serve_tokens();
  auto session = signed_in_session(100s);
  // Another process of the account signed out: the record is gone.
  ASSERT_TRUE(store_->erase("freshtoken", "https://as.example|app|alice"));
  clock_->advance(200s);
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
  EXPECT_EQ(token_requests(), 0u);
  EXPECT_EQ(events_.count(SessionEventKind::signed_out_elsewhere), 1u);
  EXPECT_EQ(events_.count(SessionEventKind::login_required), 0u);
  EXPECT_FALSE(session->status()->signed_in);
  EXPECT_EQ(stored_refresh_token(), "(none)");
}

// ---- the subscription handle -----------------------------------------------------------------

TEST_F(SessionTest, ASubscriptionHandleThatGoesOutOfScopeUnsubscribes) {
  auto session = make_session();
  EventRecorder scoped;
  {
    auto subscription = session->subscribe([&](const SessionEvent& e) { scoped.record(e); });
    EXPECT_TRUE(subscription.active());
  }
  ASSERT_TRUE(session->sign_in(tokens(100s)));
  EXPECT_EQ(events_.count(SessionEventKind::signed_in), 1u);
  EXPECT_EQ(scoped.count(SessionEventKind::signed_in), 0u);
}

TEST_F(SessionTest, AMovedSubscriptionKeepsListeningUntilItsNewOwnerUnsubscribes) {
  serve_tokens();  // answers the revocation
  auto session = make_session();
  EventRecorder moved;
  auto first = session->subscribe([&](const SessionEvent& e) { moved.record(e); });
  Session::Subscription second = std::move(first);
  EXPECT_FALSE(first.active());  // NOLINT(bugprone-use-after-move): moved from on purpose
  first.unsubscribe();           // a moved-from handle refers to nothing
  ASSERT_TRUE(session->sign_in(tokens(100s)));
  EXPECT_EQ(moved.count(SessionEventKind::signed_in), 1u);
  session->unsubscribe(second);
  EXPECT_FALSE(second.active());
  ASSERT_TRUE(session->sign_out());
  EXPECT_EQ(moved.count(SessionEventKind::signed_out), 0u);
}

TEST_F(SessionTest, AssigningToASubscriptionUnsubscribesItsListener) {
  auto session = make_session();
  EventRecorder replaced;
  EventRecorder replacement;
  auto subscription = session->subscribe([&](const SessionEvent& e) { replaced.record(e); });
  subscription = session->subscribe([&](const SessionEvent& e) { replacement.record(e); });
  ASSERT_TRUE(session->sign_in(tokens(100s)));
  EXPECT_EQ(replaced.count(SessionEventKind::signed_in), 0u);
  EXPECT_EQ(replacement.count(SessionEventKind::signed_in), 1u);
}

TEST_F(SessionTest, ADetachedSubscriptionListensForTheSessionsLifetime) {
  auto session = make_session();
  EventRecorder detached;
  session->subscribe([&](const SessionEvent& e) { detached.record(e); }).detach();
  ASSERT_TRUE(session->sign_in(tokens(100s)));
  EXPECT_EQ(detached.count(SessionEventKind::signed_in), 1u);
}

TEST_F(SessionTest, AnotherSessionsHandleIsLeftAloneByUnsubscribe) {
  auto session = make_session();
  auto other = make_session();
  EventRecorder heard;
  auto subscription = session->subscribe([&](const SessionEvent& e) { heard.record(e); });
  other->unsubscribe(subscription);
  EXPECT_TRUE(subscription.active());
  ASSERT_TRUE(session->sign_in(tokens(100s)));
  EXPECT_EQ(heard.count(SessionEventKind::signed_in), 1u);
}

TEST_F(SessionTest, ASubscriptionMayOutliveItsSession) {
  auto session = make_session();
  auto subscription = session->subscribe([](const SessionEvent&) {});
  session.reset();
  subscription.unsubscribe();
  EXPECT_FALSE(subscription.active());
}

TEST_F(SessionTest, UnsubscribeWaitsForACallOfTheListenerRunningOnAnotherThread) {
  serve_tokens();
  Gate entered;
  Gate release;
  std::atomic<bool> finished{false};
  auto session = signed_in_session(100s);
  auto subscription = session->subscribe([&](const SessionEvent& e) {
    if (e.kind != SessionEventKind::refreshed) return;
    entered.open();
    release.wait();
    finished = true;
  });
  clock_->advance(85s);  // past the soft point: a background refresh, on the session's thread
  ASSERT_EQ(token_of(*session), "at-0");
  ASSERT_TRUE(entered.wait_for_a_long_time());

  Gate unsubscribing;
  std::atomic<bool> finished_when_returned{false};
  std::thread unsubscriber([&] {
    unsubscribing.open();
    subscription.unsubscribe();
    finished_when_returned = finished.load();
  });
  ASSERT_TRUE(unsubscribing.wait_for_a_long_time());
  // Gives the unsubscriber time to get inside unsubscribe(); the outcome asserted below does
  // not depend on it when unsubscribe waits.
  std::this_thread::sleep_for(50ms);
  release.open();
  unsubscriber.join();
  EXPECT_TRUE(finished_when_returned.load());
}

TEST_F(SessionTest, AListenerMayUnsubscribeItselfWithoutDeadlocking) {
  serve_tokens();
  auto session = signed_in_session(100s);
  std::atomic<int> calls{0};
  Session::Subscription subscription;
  subscription = session->subscribe([&](const SessionEvent& e) {
    if (e.kind != SessionEventKind::refreshed) return;
    ++calls;
    subscription.unsubscribe();  // on the session's thread, inside this very call
  });
  clock_->advance(200s);  // expired: token() waits for the refresh and its listeners
  auto first = std::async(std::launch::async, [&] { return token_of(*session); });
  ASSERT_EQ(first.wait_for(20s), std::future_status::ready) << "unsubscribe waited for itself";
  EXPECT_EQ(first.get(), "at-1");
  clock_->advance(200s);
  EXPECT_EQ(token_of(*session), "at-2");
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(events_.count(SessionEventKind::refreshed), 2u);
}

// Two listeners, each running on its own thread, unsubscribe each other at the same time:
// waiting for the other's call would deadlock.
TEST_F(SessionTest, ListenersUnsubscribingEachOtherFromTwoThreadsDoNotDeadlock) {
  serve_tokens();
  // Before the session, which joins its thread when it goes: the gates outlive every open().
  Gate in_refreshed;
  Gate in_signed_out;
  Gate refreshed_done;
  auto session = signed_in_session(100s);
  Session::Subscription on_refreshed;
  Session::Subscription on_signed_out;
  on_refreshed = session->subscribe([&](const SessionEvent& e) {
    if (e.kind != SessionEventKind::refreshed) return;
    in_refreshed.open();
    if (in_signed_out.wait_for_a_long_time()) on_signed_out.unsubscribe();
    refreshed_done.open();
  });
  on_signed_out = session->subscribe([&](const SessionEvent& e) {
    if (e.kind != SessionEventKind::signed_out) return;
    in_signed_out.open();
    if (in_refreshed.wait_for_a_long_time()) on_refreshed.unsubscribe();
  });
  clock_->advance(85s);  // a background refresh: `refreshed` on the session's thread
  ASSERT_EQ(token_of(*session), "at-0");
  ASSERT_TRUE(in_refreshed.wait_for_a_long_time());
  // `signed_out` on another thread, while the session's thread is inside on_refreshed.
  auto signing_out = std::async(std::launch::async, [&] { return session->sign_out(); });
  ASSERT_EQ(signing_out.wait_for(20s), std::future_status::ready)
      << "the listeners waited for each other";
  EXPECT_TRUE(signing_out.get());
  ASSERT_TRUE(refreshed_done.wait_for_a_long_time()) << "the listeners waited for each other";
  EXPECT_FALSE(on_refreshed.active());
  EXPECT_FALSE(on_signed_out.active());
}

}  // namespace
}  // namespace freshtoken::testing
