/// @file
/// TokenSet: what a token endpoint returned (RFC 6749 §5.1), with the expiry turned into a
/// time point at receipt. The access token is opaque to the client (RFC 9068 §6): its expiry
/// comes from expires_in, never from its claims.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "freshtoken/dpop.hpp"
#include "freshtoken/secret.hpp"

namespace freshtoken {

/// The tokens a token endpoint returned.
struct TokenSet {
  /// Times are on the system clock.
  using time_point = std::chrono::system_clock::time_point;

  /// The access token, opaque to the client.
  Secret access_token;
  /// "Bearer", or "DPoP" for tokens bound to dpop_key (the SDK refuses other token types).
  std::string token_type = "Bearer";
  /// When the token response was received (the Clock's now()).
  time_point issued_at{};
  /// Receipt time + expires_in; empty when the server did not say.
  std::optional<time_point> expires_at;
  Secret refresh_token;  ///< empty when none was returned
  std::string scope;     ///< as granted; empty when the server did not say
  Secret id_token;       ///< empty when none was returned
  /// The key the tokens are bound to (token_type "DPoP"); null for Bearer tokens. Kept with
  /// the tokens in the store; only its thumbprint() is ever shown.
  std::shared_ptr<const DpopKey> dpop_key;
};

}  // namespace freshtoken
