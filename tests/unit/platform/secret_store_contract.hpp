// The SecretStore contract suite: every backend must pass it. A test program instantiates it
// for its backends with INSTANTIATE_TEST_SUITE_P(Name, SecretStoreContract, Values(...)).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "freshtoken/secret_store.hpp"

namespace freshtoken::testing {

struct StoreFactory {
  std::string name;  // used in the test names: letters, digits and '_' only
  std::function<std::shared_ptr<SecretStore>()> make;
  // How many save/load rounds each of the 32 concurrent threads makes (a real keyring is
  // slower than memory; the interleavings matter, not the volume).
  int rounds_per_thread = 20;
};

inline std::ostream& operator<<(std::ostream& out, const StoreFactory& factory) {
  return out << factory.name;
}

inline std::string store_name(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

class SecretStoreContract : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::shared_ptr<SecretStore> store_;
  // Unique per test, so runs of the suite in parallel processes against one keyring never
  // see each other's secrets.
  std::string service_;
};

}  // namespace freshtoken::testing
