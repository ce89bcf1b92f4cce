// The account store's reading of a stored record: what another process saved is adopted only
// when it is newer than what this session holds.
#include "session/account_store.hpp"

#include <gtest/gtest.h>

#include "freshtoken/platform/secret_stores.hpp"

namespace freshtoken::detail {
namespace {

using namespace std::chrono_literals;

const StoredTokens::time_point kNow{std::chrono::seconds(1'700'000'000)};

Secret secret(const char* value) { return Secret(std::string_view(value)); }

StoredTokens record(const std::string& refresh, const std::string& access,
                    std::chrono::seconds expires_in) {
  StoredTokens t;
  t.refresh_token = Secret(refresh);
  t.access_token = Secret(access);
  t.expires_at = kNow + expires_in;
  return t;
}

TEST(ClassifyStored, AnotherRefreshTokenIsNewer) {
  const auto current = record("rt-1", "at-1", 60s);
  EXPECT_EQ(classify_stored(record("rt-2", "at-2", 60s), secret("rt-1"), secret("rt-1"), &current),
            StoredRecord::newer_refresh_token);
}

TEST(ClassifyStored, TheOneThisSessionLastSavedIsNotNewer) {
  // Our own save of rt-2 failed, so the store still holds rt-0, which we replaced.
  const auto current = record("rt-2", "at-2", 60s);
  EXPECT_EQ(classify_stored(record("rt-0", "at-0", 60s), secret("rt-2"), secret("rt-0"), &current),
            StoredRecord::ours);
}

TEST(ClassifyStored, SameRefreshTokenIsNewerOnlyWithALaterAccessToken) {
  const auto current = record("rt-1", "at-1", 60s);
  EXPECT_EQ(classify_stored(record("rt-1", "at-2", 120s), secret("rt-1"), secret("rt-1"), &current),
            StoredRecord::newer_access_token);
  EXPECT_EQ(classify_stored(record("rt-1", "at-2", 30s), secret("rt-1"), secret("rt-1"), &current),
            StoredRecord::ours);
  EXPECT_EQ(classify_stored(record("rt-1", "at-1", 120s), secret("rt-1"), secret("rt-1"), &current),
            StoredRecord::ours);
  EXPECT_EQ(classify_stored(record("rt-1", "at-2", 120s), secret("rt-1"), secret("rt-1"), nullptr),
            StoredRecord::ours);
}

TEST(ClassifyStored, ARecordWithoutARefreshTokenIsNeverAdopted) {
  const auto current = record("rt-1", "at-1", 60s);
  EXPECT_EQ(classify_stored(record("", "at-9", 600s), secret("rt-1"), secret("rt-1"), &current),
            StoredRecord::ours);
}

TEST(AccountStore, AMissingRecordIsNothingAndACorruptOneIsAStorageError) {
  auto memory = make_memory_store();
  AccountStore store(memory, "svc", "acct", 1s, [](LogLevel, const std::string&) {});
  auto empty = store.load();
  ASSERT_TRUE(empty);
  EXPECT_FALSE(*empty);
  ASSERT_TRUE(memory->save("svc", "acct", Secret(std::string("not json"))));
  auto corrupt = store.load();
  ASSERT_FALSE(corrupt);
  EXPECT_EQ(corrupt.error().code(), ErrorCode::storage);
  EXPECT_EQ(corrupt.error().message().find("not json"), std::string::npos);
  ASSERT_TRUE(store.save(record("rt-1", "at-1", 60s)));
  auto saved = store.load();
  ASSERT_TRUE(saved && *saved);
  EXPECT_EQ((*saved)->refresh_token.reveal(), "rt-1");
}

}  // namespace
}  // namespace freshtoken::detail
