// The libsecret store on a locked keyring: storage_unavailable (never not_found), and nothing
// erased. Runs under own-keyring.sh, in a gnome-keyring of its own, because it locks the
// default collection.
//
// How the collection is locked and unlocked headless: tests/support/keyring_control.hpp.
#include <gtest/gtest.h>

#include <string>

#include "freshtoken/platform/secret_stores.hpp"
#include "keyring_control.hpp"

namespace freshtoken::testing {
namespace {

TEST(LockedKeyring, IsStorageUnavailableNotNotFoundAndNothingIsErased) {
  auto store = make_libsecret_store();
  const Secret token(std::string_view("refresh-token-kept-while-locked"));
  ASSERT_TRUE(store->save("freshtoken-locked-test", "alice", token));

  lock_default_collection();
  ASSERT_TRUE(default_collection_is_locked());

  auto loaded = store->load("freshtoken-locked-test", "alice");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), ErrorCode::storage_unavailable) << loaded.error().to_string();
  EXPECT_NE(loaded.error().message().find("locked"), std::string::npos) << loaded.error().message();

  // A secret that was never stored cannot be told apart from a hidden one while locked.
  auto missing = store->load("freshtoken-locked-test", "nobody");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::storage_unavailable) << missing.error().to_string();

  auto erased = store->erase("freshtoken-locked-test", "alice");
  ASSERT_FALSE(erased);
  EXPECT_EQ(erased.error().code(), ErrorCode::storage_unavailable) << erased.error().to_string();

  auto saved =
      store->save("freshtoken-locked-test", "alice", Secret(std::string_view("must-not-replace")));
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code(), ErrorCode::storage_unavailable) << saved.error().to_string();
  // Still locked: nothing prompted or unlocked behind our back.
  EXPECT_TRUE(default_collection_is_locked());

  unlock_default_collection();
  ASSERT_FALSE(default_collection_is_locked());
  auto after = store->load("freshtoken-locked-test", "alice");
  ASSERT_TRUE(after) << after.error().to_string();
  EXPECT_EQ(*after, token);
}

}  // namespace
}  // namespace freshtoken::testing
