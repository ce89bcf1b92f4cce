// The secret-store backends that ship with freshtoken.
//
// Each returns a SecretStore (see freshtoken/secret_store.hpp for the contract every backend
// passes). The SDK never picks a plaintext store on its own: a file store exists only when
// the application asks for one by name.
#pragma once

#include <memory>

#include "freshtoken/secret_store.hpp"

namespace freshtoken {

// Secrets kept in this process's memory only: for tests, and for applications that want
// nothing persisted.
std::shared_ptr<SecretStore> make_memory_store();

}  // namespace freshtoken
