#include "freshtoken/platform/secret_stores.hpp"

namespace freshtoken {

// The one place that picks the platform's store. macOS (Keychain) and Windows (Credential
// Manager) backends plug in here behind #if defined(__APPLE__) / defined(_WIN32); see
// secret_stores.hpp and docs/secret-stores.md for what each would call. There is deliberately
// no fallback to the file store: plaintext storage is only ever the application's choice.
std::shared_ptr<SecretStore> default_secret_store() { return make_libsecret_store(); }

}  // namespace freshtoken
