// A process SIGKILLed at random points of a refresh (the mock server's delay fault widens the
// window between sending the old refresh token and saving the new one) leaves a whole entry
// with a usable refresh token. The one loss the client cannot prevent — the server rotated,
// the answer never arrived — is what the server's reuse grace is for: with --reuse-grace the
// next process must succeed every time.
#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <random>
#include <thread>

#include "freshtoken/platform/secret_stores.hpp"
#include "xproc_support.hpp"

namespace freshtoken::xproc {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

bool whole_entry(const json& entry) {
  return entry.is_object() && !entry.value("refresh_token", "").empty() &&
         !entry.value("access_token", "").empty();
}

// Loads the entry every millisecond on a thread of its own until stopped.
class StoreWatcher {
 public:
  StoreWatcher(const std::filesystem::path& dir, const std::string& account)
      : thread_([this, dir, account] {
          auto store = make_file_store(dir);
          while (running_.load()) {
            if (!whole_entry(stored_entry(*store, account))) ++bad_reads_;
            ++reads_;
            std::this_thread::sleep_for(1ms);
          }
        }) {}
  ~StoreWatcher() { stop(); }
  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }
  long long reads() const { return reads_.load(); }
  long long bad_reads() const { return bad_reads_.load(); }

 private:
  std::atomic<bool> running_{true};
  std::atomic<long long> reads_{0};
  std::atomic<long long> bad_reads_{0};
  std::thread thread_;
};

TEST(KillDuringRefresh, TheStoreAlwaysHoldsAWholeUsableEntryAndTheGraceWindowCoversLostAnswers) {
  constexpr int kIterations = 20;
  TempDir dir;
  const auto store_dir = dir.path() / "store";
  auto store = make_file_store(store_dir);
  MockServerProcess server({"--rotation", "on", "--reuse-grace", "30", "--access-token-ttl", "60"});
  const std::string account = account_for(server);
  ASSERT_TRUE(seed_sign_in(server, store));

  const unsigned seed = std::random_device{}();
  std::cout << "[ seed     ] " << seed << std::endl;
  std::mt19937 random(seed);

  int recovered_from_store = 0;  // the stored refresh token was the server's current one
  int saved_by_grace = 0;        // the server had rotated, the answer was lost
  int child_refreshes = 0;
  long long store_reads = 0;
  for (int i = 0; i < kIterations; ++i) {
    SCOPED_TRACE("iteration " + std::to_string(i));
    // A reader that keeps loading the entry while the child refreshes: never torn or absent.
    StoreWatcher watcher(store_dir, account);
    const int grants_before = refresh_grants(server.stats());
    {
      Child child(worker_argv("refresh-loop", server, "file:" + store_dir.string()));
      ASSERT_TRUE(child.started());
      const std::string ready = child.read_line();
      ASSERT_EQ(ready, "ready") << "the refresh loop did not start";
      const int delay_ms = std::uniform_int_distribution<int>(10, 80)(random);
      server.arm_token_fault("delay", delay_ms, 1);
      const int kill_after_ms = std::uniform_int_distribution<int>(0, delay_ms + 40)(random);
      std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
      child.kill(SIGKILL);
      EXPECT_EQ(child.wait(), 128 + SIGKILL);
      // Let a delayed request the child left behind reach the server's state first.
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms + 50));
    }
    watcher.stop();
    store_reads += watcher.reads();
    EXPECT_EQ(watcher.bad_reads(), 0) << "of " << watcher.reads() << " reads";

    const json entry = stored_entry(*store, account);
    ASSERT_TRUE(whole_entry(entry)) << "the store lost its entry or holds a torn one";

    const json before = server.stats();
    child_refreshes += refresh_grants(before) - grants_before;
    auto session = open_session(server, store);
    auto loaded = session->token();
    ASSERT_TRUE(loaded) << loaded.error().to_string();
    session->invalidate(*loaded);  // force a refresh with the stored refresh token
    auto fresh = session->token();
    ASSERT_TRUE(fresh) << fresh.error().to_string();
    EXPECT_FALSE(*fresh == *loaded);
    EXPECT_EQ(api_status(server.issuer(), *fresh), 200);
    const json after = server.stats();
    if (after.value("refresh_grace_reuses", 0) > before.value("refresh_grace_reuses", 0)) {
      ++saved_by_grace;
    } else {
      ++recovered_from_store;
    }
    ASSERT_EQ(after.value("families_revoked", -1), 0) << after.dump();
  }
  std::cout << "[ measured ] " << kIterations << " kills: " << recovered_from_store
            << " recovered with the stored refresh token, " << saved_by_grace
            << " needed the reuse grace (server rotated, answer lost); the children made "
            << child_refreshes << " refreshes; " << store_reads
            << " concurrent store reads, none torn" << std::endl;
  EXPECT_EQ(recovered_from_store + saved_by_grace, kIterations);
}

}  // namespace
}  // namespace freshtoken::xproc
