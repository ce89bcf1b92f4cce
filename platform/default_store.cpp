#include "freshtoken/platform/secret_stores.hpp"

namespace freshtoken {

// The one place that picks the platform's store. A macOS (Keychain) backend would plug in here
// behind #if defined(__APPLE__); see docs/secret-stores.md. There is deliberately no fallback to
// the file store: plaintext storage is only ever the application's choice.
std::shared_ptr<SecretStore> default_secret_store() {
#if defined(_WIN32)
  return make_credential_manager_store();
#else
  return make_libsecret_store();
#endif
}

}  // namespace freshtoken
