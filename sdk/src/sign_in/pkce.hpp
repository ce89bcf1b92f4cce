// PKCE (RFC 7636), the random values of an authorization request, and the authorization URL
// (internal).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "freshtoken/error.hpp"
#include "freshtoken/secret.hpp"

namespace freshtoken::detail {

struct Pkce {
  Secret verifier;        // 43 characters of base64url (32 random bytes), RFC 7636 §4.1
  std::string challenge;  // BASE64URL(SHA256(verifier)), RFC 7636 §4.2
};

Pkce make_pkce();
std::string s256_challenge(std::string_view verifier);
// base64url of `bytes` random bytes (state and nonce use 32: 256 bits).
Secret random_url_token(std::size_t bytes = 32);
// Whether the space-separated `scope` contains `item`.
bool scope_contains(std::string_view scope, std::string_view item);

struct AuthorizationRequest {
  std::string endpoint;
  std::string client_id;
  std::string redirect_uri;
  std::string scope;  // omitted when empty
  Secret state;
  std::string code_challenge;
  Secret nonce;          // omitted when empty
  std::string dpop_jkt;  // RFC 9449 §10: the DPoP key's thumbprint; omitted when empty
  std::vector<std::string> resources;  // RFC 8707: one `resource` parameter each
  std::vector<std::pair<std::string, std::string>> extra;
};

// The authorization endpoint URL with the request as query parameters (RFC 6749 §4.1.1).
// Errors: config when the endpoint is empty or an extra parameter would override one that the
// flow sets.
Result<std::string> build_authorization_url(const AuthorizationRequest& request);

}  // namespace freshtoken::detail
