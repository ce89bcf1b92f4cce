/// @file
/// TokenSource: where an HttpClient gets the access token it attaches (the shape of Go's
/// oauth2.TokenSource). Session is the real one; tests and applications with their own token
/// logic may supply another.
///
/// Thread safety: both methods may be called from many threads at once.
#pragma once

#include <memory>
#include <string>
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

/// Which access token: the API it is for and the scopes it carries. One sign-in (one refresh
/// token) can serve a token per target: RFC 8707 resource indicators keep each API's token
/// audience-restricted, and RFC 6749 §6 lets a refresh ask for fewer scopes than were granted.
struct TokenTarget {
  /// The API's RFC 8707 resource indicator: an absolute URI without a fragment, e.g.
  /// "https://files.example.com/". Empty: the token asked for without a resource.
  std::string resource;
  /// Space-separated scopes to ask for, all granted at sign-in. Empty: as granted (or the
  /// Session's SessionOptions::scope).
  std::string scope;

  /// Two targets are the same when both fields are equal (scope compared as written).
  friend bool operator==(const TokenTarget& a, const TokenTarget& b) {
    return a.resource == b.resource && a.scope == b.scope;
  }
  friend bool operator!=(const TokenTarget& a, const TokenTarget& b) { return !(a == b); }
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
  /// access_token() for one target; HttpClient calls this for an origin listed with a target
  /// (HttpClientOptions::apis). The default serves the empty target with access_token() and
  /// refuses any other with ErrorCode::config; Session overrides it.
  virtual Result<AccessToken> token_for(const TokenTarget& target) {
    if (target == TokenTarget{}) return access_token();
    return Error(ErrorCode::config, "this token source serves one token, not one per API");
  }
};

}  // namespace freshtoken
