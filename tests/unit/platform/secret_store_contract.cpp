#include "secret_store_contract.hpp"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "util/crypto.hpp"

namespace freshtoken::testing {

void SecretStoreContract::SetUp() {
  store_ = GetParam().make();
  ASSERT_NE(store_, nullptr);
  service_ = "freshtoken-contract-" + util::hex(util::random_bytes(6));
}

void SecretStoreContract::TearDown() {
  if (!store_) return;
  for (const char* account :
       {"alice", "bob", "shared", "binary", "long", "unicode", "Alice", "b/c", "c"}) {
    (void)store_->erase(service_, account);
    (void)store_->erase(service_ + "/b", account);
  }
  (void)store_->erase(service_ + "-other", "alice");
}

namespace {

std::string code_of(const Result<Secret>& result) {
  return result ? "value" : std::string(to_string(result.error().code()));
}

TEST_P(SecretStoreContract, LoadReturnsWhatSaveStored) {
  ASSERT_TRUE(store_->save(service_, "alice", Secret(std::string_view("rt-1"))));
  auto loaded = store_->load(service_, "alice");
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  EXPECT_EQ(loaded->reveal(), "rt-1");
}

TEST_P(SecretStoreContract, SaveOverwritesThePreviousValue) {
  ASSERT_TRUE(store_->save(service_, "alice", Secret(std::string_view("rt-1"))));
  ASSERT_TRUE(store_->save(service_, "alice", Secret(std::string_view("rt-2"))));
  auto loaded = store_->load(service_, "alice");
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  EXPECT_EQ(loaded->reveal(), "rt-2");
}

TEST_P(SecretStoreContract, EraseRemovesTheSecret) {
  ASSERT_TRUE(store_->save(service_, "alice", Secret(std::string_view("rt-1"))));
  ASSERT_TRUE(store_->erase(service_, "alice"));
  auto loaded = store_->load(service_, "alice");
  EXPECT_EQ(code_of(loaded), "not_found");
}

TEST_P(SecretStoreContract, EraseOfAMissingSecretSucceeds) {
  auto erased = store_->erase(service_, "nobody");
  EXPECT_TRUE(erased) << erased.error().to_string();
}

TEST_P(SecretStoreContract, LoadOfAMissingSecretIsNotFound) {
  auto loaded = store_->load(service_, "nobody");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), ErrorCode::not_found) << loaded.error().to_string();
}

TEST_P(SecretStoreContract, ServiceAndAccountKeepSecretsApart) {
  ASSERT_TRUE(store_->save(service_, "alice", Secret(std::string_view("alice-here"))));
  ASSERT_TRUE(store_->save(service_, "bob", Secret(std::string_view("bob-here"))));
  ASSERT_TRUE(store_->save(service_ + "-other", "alice", Secret(std::string_view("elsewhere"))));

  EXPECT_EQ(store_->load(service_, "alice")->reveal(), "alice-here");
  EXPECT_EQ(store_->load(service_, "bob")->reveal(), "bob-here");
  EXPECT_EQ(store_->load(service_ + "-other", "alice")->reveal(), "elsewhere");

  ASSERT_TRUE(store_->erase(service_, "alice"));
  EXPECT_EQ(code_of(store_->load(service_, "alice")), "not_found");
  EXPECT_EQ(store_->load(service_, "bob")->reveal(), "bob-here");
  EXPECT_EQ(store_->load(service_ + "-other", "alice")->reveal(), "elsewhere");
}

// Credential Manager compares names case-insensitively, and a store that joins service and
// account with a separator must not let the separator inside either collide.
TEST_P(SecretStoreContract, NamesThatDifferOnlyInCaseOrWhereTheyAreSplitStayApart) {
  ASSERT_TRUE(store_->save(service_, "alice", Secret(std::string_view("lower"))));
  ASSERT_TRUE(store_->save(service_, "Alice", Secret(std::string_view("upper"))));
  ASSERT_TRUE(store_->save(service_ + "/b", "c", Secret(std::string_view("split-early"))));
  ASSERT_TRUE(store_->save(service_, "b/c", Secret(std::string_view("split-late"))));

  EXPECT_EQ(store_->load(service_, "alice")->reveal(), "lower");
  EXPECT_EQ(store_->load(service_, "Alice")->reveal(), "upper");
  EXPECT_EQ(store_->load(service_ + "/b", "c")->reveal(), "split-early");
  EXPECT_EQ(store_->load(service_, "b/c")->reveal(), "split-late");

  ASSERT_TRUE(store_->erase(service_, "Alice"));
  EXPECT_EQ(store_->load(service_, "alice")->reveal(), "lower");
}

TEST_P(SecretStoreContract, BinaryLongAndUnicodeValuesSurviveUnchanged) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  binary += std::string("\0\0tail\0", 7);
  const std::string long_value(64 * 1024, 'x');
  const std::string unicode =
      "r\xC3\xA9"
      "fresh-\xE2\x9C\x93-\xF0\x9F\x94\x91-\xE6\x97\xA5\xE6\x9C\xAC";

  ASSERT_TRUE(store_->save(service_, "binary", Secret(std::string_view(binary))));
  ASSERT_TRUE(store_->save(service_, "long", Secret(std::string_view(long_value))));
  ASSERT_TRUE(store_->save(service_, "unicode", Secret(std::string_view(unicode))));

  auto b = store_->load(service_, "binary");
  ASSERT_TRUE(b) << b.error().to_string();
  EXPECT_EQ(b->reveal(), binary);
  auto l = store_->load(service_, "long");
  ASSERT_TRUE(l) << l.error().to_string();
  EXPECT_EQ(l->reveal(), long_value);
  auto u = store_->load(service_, "unicode");
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->reveal(), unicode);
}

TEST_P(SecretStoreContract, ConcurrentSavesAndLoadsSeeOnlyWholeValues) {
  constexpr int kThreads = 32;
  const int rounds = GetParam().rounds_per_thread;
  // Each thread writes its own long value; whatever a load returns must be one of them.
  std::vector<std::string> values;
  for (int t = 0; t < kThreads; ++t) {
    values.push_back("thread-" + std::to_string(t) + "-" + std::string(2000, 'a' + t % 26));
  }
  const std::set<std::string> allowed(values.begin(), values.end());
  ASSERT_TRUE(store_->save(service_, "shared", Secret(std::string_view(values[0]))));

  std::atomic<int> failures{0};
  std::atomic<int> torn{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        if (!store_->save(service_, "shared", Secret(std::string_view(values[t])))) ++failures;
        auto loaded = store_->load(service_, "shared");
        if (!loaded) {
          ++failures;
        } else if (allowed.count(std::string(loaded->reveal())) == 0) {
          ++torn;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  auto last = store_->load(service_, "shared");
  ASSERT_TRUE(last) << last.error().to_string();
  EXPECT_EQ(allowed.count(std::string(last->reveal())), 1u);
}

TEST_P(SecretStoreContract, DescribeSaysWhereSecretsLive) {
  EXPECT_FALSE(store_->describe().empty());
}

}  // namespace
}  // namespace freshtoken::testing
