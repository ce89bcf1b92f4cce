// A Session whose keyring gets locked mid-session. Runs under
// tests/integration/keyring/own-keyring.sh, in a gnome-keyring of its own, because it locks
// the default collection (tests/support/keyring_control.hpp).
//
// While locked: the session keeps serving its valid token, keeps refreshing in memory (each
// failed save is a store_failed event with storage_unavailable), a new session gets
// storage_unavailable at once, and nothing is erased.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "freshtoken/platform/secret_stores.hpp"
#include "keyring_control.hpp"
#include "mock_session_fixture.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;
using testing::lock_default_collection;
using testing::unlock_default_collection;

constexpr const char* kService = "freshtoken-xproc-locked";

class EventLog {
 public:
  void record(const SessionEvent& event) {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(event);
  }
  std::vector<SessionEvent> events() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }

 private:
  std::mutex mutex_;
  std::vector<SessionEvent> events_;
};

class LockedKeyringSession : public testing::MockServerSessionTest {
 protected:
  LockedKeyringSession() {
    server_options_.rotation = true;
    store_ = make_libsecret_store();
    service_ = kService;
    policy_.initial_backoff = 10ms;
    policy_.max_backoff = 10ms;
  }
};

TEST_F(LockedKeyringSession, KeepsServingAndRefreshingInMemoryAndErasesNothing) {
  EventLog events;
  auto session = make_session();
  auto subscription = session->subscribe([&](const SessionEvent& event) { events.record(event); });
  ASSERT_NO_FATAL_FAILURE(sign_in(*session));
  auto signed_in_entry = store_->load(kService, account());
  ASSERT_TRUE(signed_in_entry) << signed_in_entry.error().to_string();
  auto first = session->token();
  ASSERT_TRUE(first) << first.error().to_string();

  lock_default_collection();

  // The valid in-memory token is still served.
  auto served = session->token();
  ASSERT_TRUE(served) << served.error().to_string();
  EXPECT_TRUE(*served == *first);

  // A new session cannot read its tokens: storage_unavailable, not "signed out".
  auto other = make_session();
  const auto started = std::chrono::steady_clock::now();
  auto unavailable = other->token();
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(unavailable);
  EXPECT_EQ(unavailable.error().code(), ErrorCode::storage_unavailable)
      << unavailable.error().to_string();
  std::cout << "[ measured ] locked keyring: storage_unavailable after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms"
            << std::endl;

  // Two refreshes while locked: each rotates, fails to save, and is served from memory.
  Secret current = *first;
  for (int i = 0; i < 2; ++i) {
    session->invalidate(current);
    auto refreshed = session->token();
    ASSERT_TRUE(refreshed) << refreshed.error().to_string();
    EXPECT_FALSE(*refreshed == current);
    EXPECT_EQ(api_status(*refreshed), 200);
    current = *refreshed;
  }
  EXPECT_EQ(server_->stats().token_requests.refresh_token, 2);
  EXPECT_EQ(server_->stats().families_revoked, 0);
  int store_failed = 0;
  for (const auto& event : events.events()) {
    EXPECT_NE(event.kind, SessionEventKind::login_required);
    if (event.kind != SessionEventKind::store_failed) continue;
    ++store_failed;
    ASSERT_TRUE(event.error);
    EXPECT_EQ(event.error->code(), ErrorCode::storage_unavailable) << event.error->to_string();
  }
  EXPECT_EQ(store_failed, 2);

  unlock_default_collection();
  // Nothing was erased or replaced while locked: the entry is the sign-in's.
  auto after = store_->load(kService, account());
  ASSERT_TRUE(after) << after.error().to_string();
  EXPECT_TRUE(*after == *signed_in_entry);
  // Once unlocked, the next refresh saves again.
  session->invalidate(current);
  auto saved = session->token();
  ASSERT_TRUE(saved) << saved.error().to_string();
  auto now_stored = store_->load(kService, account());
  ASSERT_TRUE(now_stored);
  EXPECT_FALSE(*now_stored == *signed_in_entry);
  EXPECT_TRUE(store_->erase(kService, account()));
}

}  // namespace
}  // namespace freshtoken
