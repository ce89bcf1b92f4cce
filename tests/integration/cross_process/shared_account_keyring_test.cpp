// The eight-process run through libsecret, in the private gnome-keyring that scripts/test
// (scripts/with-keyring) starts: every worker talks to the same Secret Service.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "freshtoken/platform/secret_stores.hpp"
#include "xproc_support.hpp"

namespace freshtoken::xproc {
namespace {

TEST(SharedAccountKeyring,
     EightProcessesOnLibsecretRevokeNothingFailNothingAndRefreshOncePerLifetime) {
  const char* private_keyring = std::getenv("FRESHTOKEN_PRIVATE_KEYRING");
  if (private_keyring == nullptr || std::string(private_keyring) != "1") {
    GTEST_SKIP() << "needs the private keyring: run under scripts/with-keyring";
  }
  auto store = make_libsecret_store();
  const SharedAccountRun run = run_shared_account("libsecret", store);
  expect_shared_account_invariants(run);
  const auto entry = stored_entry(*store, run.account);
  ASSERT_TRUE(entry.is_object());
  EXPECT_FALSE(entry.value("refresh_token", "").empty());
  EXPECT_TRUE(store->erase(kService, run.account));
}

}  // namespace
}  // namespace freshtoken::xproc
