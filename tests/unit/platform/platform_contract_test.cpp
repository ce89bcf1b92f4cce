// The SecretStore contract on the backends that need no service: memory, and file (POSIX) or
// Credential Manager (Windows).
#include "freshtoken/platform/secret_stores.hpp"
#include "secret_store_contract.hpp"
#if !defined(_WIN32)
#include "temp_dir.hpp"
#endif

namespace freshtoken::testing {
namespace {

#if defined(_WIN32)

INSTANTIATE_TEST_SUITE_P(
    Backends, SecretStoreContract,
    ::testing::Values(StoreFactory{"memory", [] { return make_memory_store(); }},
                      StoreFactory{"credential_manager",
                                   [] { return make_credential_manager_store(); }}),
    store_name);

#else

// One directory for every file store of this program, removed at exit; each store gets its
// own subdirectory, which the store itself creates.
std::filesystem::path fresh_store_directory() {
  static TempDir root;
  static int counter = 0;
  return root.path() / ("store-" + std::to_string(++counter));
}

INSTANTIATE_TEST_SUITE_P(
    Backends, SecretStoreContract,
    ::testing::Values(StoreFactory{"memory", [] { return make_memory_store(); }},
                      StoreFactory{"file",
                                   [] { return make_file_store(fresh_store_directory()); }}),
    store_name);

#endif

}  // namespace
}  // namespace freshtoken::testing
