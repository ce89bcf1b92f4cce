// WWW-Authenticate parsing (internal): RFC 9110 §11.6.1 challenges, the RFC 6750 §3
// Bearer challenge and the RFC 9449 §7.1 DPoP challenge that HttpClient reads after a 401 or
// 403, and RFC 9449 §8's DPoP-Nonce header.
//
// Pure functions, never throw, no shared state. Malformed input yields the challenges that
// could be read before the damage (possibly none), never a crash.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace freshtoken::detail {

// One challenge: `Bearer realm="api", error="invalid_token"`.
struct AuthChallenge {
  std::string scheme;  // as sent; compare with iequals
  // auth-params in order; names lower-cased, quoted-string values unescaped.
  std::vector<std::pair<std::string, std::string>> params;
  std::string token68;  // for schemes that send one (e.g. `Negotiate abc==`), else empty

  // The first parameter of that name (case-insensitive).
  std::optional<std::string> param(std::string_view name) const;
};

// Parses one header value, which may hold several comma-separated challenges
// (`Basic realm="x", Bearer error="insufficient_scope", scope="admin"`).
std::vector<AuthChallenge> parse_www_authenticate(std::string_view header_value);

// RFC 6750 §3: the parameters of a Bearer challenge. Empty strings mean "not sent".
struct BearerChallenge {
  std::string realm;
  std::string scope;
  std::string error;  // invalid_request, invalid_token, insufficient_scope, or other
  std::string error_description;
  std::string error_uri;
};

// The first Bearer challenge (scheme compared case-insensitively) across all the given
// WWW-Authenticate header values; nullopt when there is none.
std::optional<BearerChallenge> find_bearer_challenge(const std::vector<std::string>& header_values);

// RFC 9449 §7.1: the parameters of a DPoP challenge. Empty strings mean "not sent".
struct DpopChallenge {
  std::string realm;
  std::string scope;
  std::string error;  // invalid_token, invalid_dpop_proof, use_dpop_nonce, insufficient_scope, ...
  std::string error_description;
  std::string error_uri;
  std::vector<std::string> algs;  // the space-separated algs parameter, split
};

// The first DPoP challenge across all the given WWW-Authenticate header values.
std::optional<DpopChallenge> find_dpop_challenge(const std::vector<std::string>& header_values);

// RFC 9449 §8: a DPoP-Nonce value is 1*NQCHAR (%x21 / %x23-5B / %x5D-7E), surrounding
// whitespace aside; at most 1024 bytes. nullopt for anything else.
std::optional<std::string> parse_dpop_nonce(std::string_view header_value);

}  // namespace freshtoken::detail
