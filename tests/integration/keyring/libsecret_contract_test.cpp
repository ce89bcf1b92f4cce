// The SecretStore contract on libsecret, against the real gnome-keyring that
// scripts/with-keyring starts in a private D-Bus session.
#include "freshtoken/platform/secret_stores.hpp"
#include "secret_store_contract.hpp"

namespace freshtoken::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Keyring, SecretStoreContract,
                         ::testing::Values(StoreFactory{"libsecret",
                                                        [] { return make_libsecret_store(); }, 3}),
                         store_name);

TEST(DefaultSecretStore, IsTheSecretServiceNeverAFile) {
  EXPECT_EQ(default_secret_store()->describe(), "libsecret");
}

}  // namespace
}  // namespace freshtoken::testing
