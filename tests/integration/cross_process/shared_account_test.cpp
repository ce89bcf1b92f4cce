// Eight processes of one application share alice's account through the file store, against
// the mock server program with rotation and strict reuse detection: the refresh lock makes
// them take turns, so no refresh token is ever presented twice.
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

}  // namespace
}  // namespace freshtoken::xproc
