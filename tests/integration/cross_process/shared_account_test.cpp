// Processes of one application share alice's account through the file store, against the
// mock server program with rotation and strict reuse detection: the refresh lock makes them
// take turns, so no refresh token is ever presented twice (with one API, and with two).
#include <gtest/gtest.h>

#include "freshtoken/platform/secret_stores.hpp"
#include "xproc_support.hpp"

namespace freshtoken::xproc {
namespace {

TEST(SharedAccount, EightProcessesOnAFileStoreRevokeNothingFailNothingAndRefreshOncePerLifetime) {
  TempDir dir;
  const auto store_dir = dir.path() / "store";
  auto store = make_file_store(store_dir);
  const SharedAccountRun run = run_shared_account("file:" + store_dir.string(), store);
  expect_shared_account_invariants(run);
  // What the processes leave behind is a whole entry a ninth process can use.
  const auto entry = stored_entry(*store, run.account);
  ASSERT_TRUE(entry.is_object());
  EXPECT_FALSE(entry.value("refresh_token", "").empty());
}

// The same with DPoP: the key travels in the record with the refresh token it is bound to, so
// whichever process refreshes next presents that token with that key's proof. A process that
// paired a token with another key would get invalid_grant (a failed request or a bad exit) or
// a refused proof.
TEST(SharedAccount, EightDpopProcessesShareOneKeyRevokeNothingAndRefreshOncePerLifetime) {
  TempDir dir;
  const auto store_dir = dir.path() / "store";
  auto store = make_file_store(store_dir);
  SharedAccountSetup setup;
  setup.dpop = true;
  const SharedAccountRun run =
      run_shared_account("file:" + store_dir.string(), store, 8, 200, 30, setup);
  expect_shared_account_invariants(run);
  EXPECT_EQ(run.dpop_rejections, 0);
  const auto entry = stored_entry(*store, run.account);
  ASSERT_TRUE(entry.is_object());
  EXPECT_EQ(entry.value("token_type", ""), "DPoP");
  EXPECT_FALSE(entry.value("dpop_key", "").empty());
}

// One account, two APIs with different audiences: six processes of four threads call both,
// each origin with its own resource's token. Every refresh spends the one rotating refresh
// token, so the account's refreshes take turns across resources as well as processes: no
// refresh token is presented twice, and each resource's token is refreshed about once per
// lifetime, not once per process or thread. A token sent to the other API is refused by its
// audience check, so every request succeeding shows the routing too.
TEST(SharedAccount, SixProcessesOnTwoApisRefreshEachResourceOncePerLifetimeAndReuseNothing) {
  TempDir dir;
  const auto store_dir = dir.path() / "store";
  auto store = make_file_store(store_dir);
  SharedAccountSetup setup;
  setup.two_apis = true;
  setup.threads = 4;
  const SharedAccountRun run =
      run_shared_account("file:" + store_dir.string(), store, 6, 100, 40, setup);
  expect_shared_account_invariants(run);
  EXPECT_EQ(run.refreshes_per_resource.size(), 2u);
  // The record holds the refresh token once, and the other resources' tokens beside it.
  const auto entry = stored_entry(*store, run.account);
  ASSERT_TRUE(entry.is_object());
  EXPECT_FALSE(entry.value("refresh_token", "").empty());
  ASSERT_TRUE(entry.contains("targets"));
  EXPECT_GE(entry["targets"].size(), 1u);
}

}  // namespace
}  // namespace freshtoken::xproc
