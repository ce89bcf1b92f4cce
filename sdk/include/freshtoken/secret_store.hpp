/// @file
/// SecretStore: where a long-lived secret (the refresh token) is kept, by (service, account).
///
/// Errors: load() of a missing secret fails with ErrorCode::not_found; a locked or absent
/// store fails with ErrorCode::storage_unavailable (never mistaken for "not found"); anything
/// else fails with ErrorCode::storage. erase() of a missing secret succeeds.
/// save() replaces atomically: a reader sees the old value or the new one, never a mix.
///
/// Backends live in platform/ (libsecret, file, memory).
/// Thread safety: implementations must be safe to call from many threads.
#pragma once

#include <string>

#include "freshtoken/error.hpp"
#include "freshtoken/export.hpp"
#include "freshtoken/secret.hpp"

namespace freshtoken {

/// Keeps secrets by (service, account); the errors every backend reports are described in
/// secret_store.hpp.
class FRESHTOKEN_API SecretStore {
 public:
  virtual ~SecretStore() = default;
  /// The secret, or not_found / storage_unavailable / storage.
  virtual Result<Secret> load(const std::string& service, const std::string& account) = 0;
  /// Stores `secret`, replacing any previous one atomically.
  virtual Result<void> save(const std::string& service, const std::string& account,
                            const Secret& secret) = 0;
  /// Removes the secret; succeeds when there is none.
  virtual Result<void> erase(const std::string& service, const std::string& account) = 0;
  /// Says where secrets are kept, for status output: "libsecret", "file:/path", "memory".
  virtual std::string describe() const = 0;
};

}  // namespace freshtoken
