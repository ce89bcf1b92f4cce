// What the Credential Manager store promises beyond the contract: no credential over the 2,560
// bytes Windows allows, values split across credentials read back whole or not at all, and no
// part of an old value left behind. Windows only; also the file store's refusal on Windows.
// clang-format off
#include <windows.h>
#include <wincred.h>
// clang-format on

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "freshtoken/platform/secret_stores.hpp"
#include "util/crypto.hpp"

namespace freshtoken::testing {
namespace {

constexpr std::size_t kMaxBlob = 2560;

std::wstring widen(const std::string& ascii) { return std::wstring(ascii.begin(), ascii.end()); }

// The blob sizes of the credentials whose names start with `prefix`.
std::vector<DWORD> blob_sizes(const std::string& prefix) {
  DWORD count = 0;
  PCREDENTIALW* list = nullptr;
  std::vector<DWORD> sizes;
  if (!CredEnumerateW(widen(prefix + "*").c_str(), 0, &count, &list)) return sizes;
  for (DWORD i = 0; i < count; ++i) sizes.push_back(list[i]->CredentialBlobSize);
  CredFree(list);
  return sizes;
}

bool write_credential(const std::string& target, const std::string& blob) {
  std::wstring name = widen(target);
  std::string bytes = blob;
  CREDENTIALW credential{};
  credential.Type = CRED_TYPE_GENERIC;
  credential.TargetName = name.data();
  credential.CredentialBlob = reinterpret_cast<LPBYTE>(bytes.data());
  credential.CredentialBlobSize = static_cast<DWORD>(bytes.size());
  credential.Persist = CRED_PERSIST_LOCAL_MACHINE;
  return CredWriteW(&credential, 0) != FALSE;
}

std::string value_of(std::size_t size, char fill) {
  std::string value(size, fill);
  for (std::size_t i = 0; i < size; i += 97) value[i] = static_cast<char>('0' + i % 10);
  return value;
}

class CredentialStoreTest : public ::testing::Test {
 protected:
  void TearDown() override {
    (void)store_->erase(service_, "alice");
    for (const auto& name : {head_ + "#0123456789abcdef.0", head_}) {
      CredDeleteW(widen(name).c_str(), CRED_TYPE_GENERIC, 0);
    }
  }

  std::shared_ptr<SecretStore> store_ = make_credential_manager_store();
  // Lower-case letters, digits and '-' are not encoded, so the test knows the names.
  const std::string service_ = "freshtoken-cm-" + util::hex(util::random_bytes(6));
  const std::string head_ = "freshtoken:" + service_ + "/alice";
};

TEST_F(CredentialStoreTest, ValuesAroundTheBlobLimitRoundTripAndNoBlobExceedsIt) {
  for (std::size_t size : {0u, 1u, 2552u, 2553u, 2554u, 2560u, 2561u, 5120u, 5121u, 70000u}) {
    const std::string value = value_of(size, 'v');
    ASSERT_TRUE(store_->save(service_, "alice", Secret(std::string_view(value)))) << size;
    auto loaded = store_->load(service_, "alice");
    ASSERT_TRUE(loaded) << size << ": " << loaded.error().to_string();
    EXPECT_EQ(loaded->reveal(), value) << size;
    const auto sizes = blob_sizes(head_);
    ASSERT_FALSE(sizes.empty());
    for (DWORD blob : sizes) EXPECT_LE(blob, kMaxBlob) << size;
  }
}

TEST_F(CredentialStoreTest, ReplacingALargeValueLeavesNoneOfItsChunks) {
  ASSERT_TRUE(store_->save(service_, "alice", Secret(std::string_view(value_of(20000, 'a')))));
  EXPECT_EQ(blob_sizes(head_ + "#").size(), 8u);
  ASSERT_TRUE(store_->save(service_, "alice", Secret(std::string_view(value_of(9000, 'b')))));
  EXPECT_EQ(blob_sizes(head_ + "#").size(), 4u);
  ASSERT_TRUE(store_->save(service_, "alice", Secret(std::string_view("small"))));
  EXPECT_EQ(blob_sizes(head_ + "#").size(), 0u);
  EXPECT_EQ(store_->load(service_, "alice")->reveal(), "small");
}

TEST_F(CredentialStoreTest, ChunksACrashedSaveLeftAreRemovedByTheNextSaveAndByErase) {
  const std::string stray = head_ + "#0123456789abcdef.0";
  ASSERT_TRUE(write_credential(stray, "part of a secret"));
  ASSERT_TRUE(store_->save(service_, "alice", Secret(std::string_view("rt-1"))));
  EXPECT_EQ(blob_sizes(head_ + "#").size(), 0u);

  ASSERT_TRUE(write_credential(stray, "part of a secret"));
  ASSERT_TRUE(store_->erase(service_, "alice"));
  EXPECT_TRUE(blob_sizes(head_).empty());
  EXPECT_EQ(store_->load(service_, "alice").error().code(), ErrorCode::not_found);
}

TEST_F(CredentialStoreTest, AValueWithAMissingChunkIsAStorageErrorNeverAPartialValue) {
  const std::string value = value_of(6000, 's');
  ASSERT_TRUE(store_->save(service_, "alice", Secret(std::string_view(value))));
  DWORD count = 0;
  PCREDENTIALW* list = nullptr;
  ASSERT_TRUE(CredEnumerateW(widen(head_ + "#*").c_str(), 0, &count, &list));
  ASSERT_EQ(count, 3u);
  const std::wstring victim = list[1]->TargetName;
  CredFree(list);
  ASSERT_TRUE(CredDeleteW(victim.c_str(), CRED_TYPE_GENERIC, 0));

  auto loaded = store_->load(service_, "alice");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), ErrorCode::storage);
  EXPECT_EQ(loaded.error().message().find("sssss"), std::string::npos);
}

TEST_F(CredentialStoreTest, ACredentialThisStoreDidNotWriteIsAStorageError) {
  ASSERT_TRUE(write_credential(head_, "written by someone else"));
  auto loaded = store_->load(service_, "alice");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), ErrorCode::storage);
  EXPECT_EQ(loaded.error().message().find("someone"), std::string::npos);
}

TEST_F(CredentialStoreTest, ConcurrentSavesAndLoadsOfChunkedValuesSeeOnlyWholeValues) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 8;
  std::vector<std::string> values;
  for (int t = 0; t < kThreads; ++t) values.push_back(value_of(6000 + 700 * t, 'a' + t));
  const std::set<std::string> allowed(values.begin(), values.end());
  ASSERT_TRUE(store_->save(service_, "alice", Secret(std::string_view(values[0]))));

  std::atomic<int> failures{0}, torn{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        if (!store_->save(service_, "alice", Secret(std::string_view(values[t])))) ++failures;
        auto loaded = store_->load(service_, "alice");
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
  // Only the last value's chunks remain.
  auto last = store_->load(service_, "alice");
  ASSERT_TRUE(last);
  EXPECT_EQ(blob_sizes(head_ + "#").size(), (last->size() + kMaxBlob - 1) / kMaxBlob);
}

TEST_F(CredentialStoreTest, DescribeNamesCredentialManager) {
  EXPECT_EQ(store_->describe(), "credential-manager");
}

TEST(DefaultSecretStore, IsCredentialManagerOnWindows) {
  EXPECT_EQ(default_secret_store()->describe(), "credential-manager");
}

TEST(FileStoreOnWindows, RefusesEveryCallAsAConfigurationError) {
  auto store = make_file_store("C:\\freshtoken-never-created");
  EXPECT_EQ(store->save("svc", "alice", Secret(std::string_view("rt"))).error().code(),
            ErrorCode::config);
  EXPECT_EQ(store->load("svc", "alice").error().code(), ErrorCode::config);
  EXPECT_EQ(store->erase("svc", "alice").error().code(), ErrorCode::config);
}

}  // namespace
}  // namespace freshtoken::testing
