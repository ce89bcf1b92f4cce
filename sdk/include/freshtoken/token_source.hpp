/// @file
/// TokenSource: where an HttpClient gets the access token it attaches (the shape of Go's
/// oauth2.TokenSource). Session is the real one; tests and applications with their own token
/// logic may supply another.
///
/// Thread safety: both methods may be called from many threads at once.
#pragma once

#include <memory>
#include <utility>

#include "freshtoken/dpop.hpp"
#include "freshtoken/error.hpp"
#include "freshtoken/export.hpp"
#include "freshtoken/secret.hpp"

namespace freshtoken {

/// An access token with the DPoP key it is bound to (null for a Bearer token), read together so
/// that a proof is never made with another key than the token's.
struct AccessToken {
  /// The access token.
  Secret token;
  /// The key the token is bound to; null for a Bearer token.
  std::shared_ptr<const DpopKey> dpop_key;
};

/// Hands out access tokens to an HttpClient; Session is the real one. See token_source.hpp.
class FRESHTOKEN_API TokenSource {
 public:
  virtual ~TokenSource() = default;
  /// A valid access token, refreshing (and waiting for the refresh) when it must.
  virtual Result<Secret> token() = 0;
  /// The resource server rejected `rejected` (a 401 invalid_token). If it is still the
  /// current token, the next token() obtains a new one; if it was already replaced, this
  /// does nothing.
  virtual void invalidate(const Secret& rejected) = 0;
  /// token() with its DPoP key; HttpClient calls this one. The default is token() as a Bearer
  /// token; Session overrides it.
  virtual Result<AccessToken> access_token() {
    auto t = token();
    if (!t) return t.error();
    return AccessToken{std::move(*t), nullptr};
  }
};

}  // namespace freshtoken
