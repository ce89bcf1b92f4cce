/// @file
/// DPoP (RFC 9449): tokens bound to a key pair that only this application holds.
///
/// With DPoP on, the SDK generates an ES256 (P-256) key pair at each sign-in, keeps it with the
/// session's record in the secret store, and signs a proof (a short JWT naming the method, the
/// URL, the time and, at a resource server, a hash of the access token) for every token
/// request, every revocation and every HttpClient request. The server binds the tokens it
/// issues to the key's thumbprint: a copy of the tokens alone (from a leaked backup, a log, a
/// debugging proxy) is useless without the private key. An attacker who can read the whole
/// store reads the key too; see docs/guide.md, "DPoP".
///
/// Thread safety: a DpopKey is immutable; it may be used from many threads at once.
#pragma once

#include <memory>
#include <string>

#include "freshtoken/export.hpp"

namespace freshtoken {

/// Whether the SDK uses DPoP with an authorization server (ClientConfig::dpop).
enum class DpopMode {
  /// Bearer tokens only; no key, no proofs.
  off,
  /// DPoP when the server's metadata lists ES256 in dpop_signing_alg_values_supported; a server
  /// that answers a DPoP request with a Bearer token is accepted (the tokens are then Bearer).
  when_supported,
  /// DPoP always; a server that answers with a Bearer token is an ErrorCode::invalid_response.
  required,
};

/// The key pair DPoP-bound tokens are bound to. The private key never leaves the SDK except
/// into the secret store, is zeroed when the last reference goes, and is never printed.
class FRESHTOKEN_API DpopKey {
 public:
  /// A new ES256 key pair from the platform's CSPRNG.
  static std::shared_ptr<const DpopKey> generate();

  DpopKey(const DpopKey&) = delete;
  DpopKey& operator=(const DpopKey&) = delete;
  ~DpopKey();

  /// The RFC 7638 JWK SHA-256 thumbprint of the public key, base64url: what the server binds
  /// the tokens to (cnf.jkt) and safe to show.
  const std::string& thumbprint() const;

  struct State;  ///< internal
  /// Internal: use generate().
  explicit DpopKey(std::unique_ptr<State> state);
  /// Internal.
  const State& state() const { return *state_; }

 private:
  std::unique_ptr<State> state_;
};

}  // namespace freshtoken
