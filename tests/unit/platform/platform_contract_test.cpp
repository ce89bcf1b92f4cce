// The SecretStore contract on the backends that need no service: memory and file.
#include "freshtoken/platform/secret_stores.hpp"
#include "secret_store_contract.hpp"
#include "temp_dir.hpp"

namespace freshtoken::testing {
namespace {

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

}  // namespace
}  // namespace freshtoken::testing
