// JWS compact serialization, JWKS and ID token claim checks as pure functions (internal),
// so that a fuzzer can drive them directly. Only what ID tokens need: RS256 and ES256.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "freshtoken/error.hpp"
#include "freshtoken/secret.hpp"
#include "freshtoken/sign_in.hpp"

namespace freshtoken::detail {

constexpr std::size_t kMaxJwsBytes = 64 * 1024;
constexpr std::size_t kMaxJwksBytes = 512 * 1024;

struct Jws {
  nlohmann::json header;   // an object
  nlohmann::json payload;  // an object
  std::string payload_text;
  std::string alg;            // "RS256" or "ES256": parse_jws refuses everything else
  std::string kid;            // empty when the header has none
  std::string signing_input;  // ASCII(BASE64URL(header) || '.' || BASE64URL(payload))
  std::string signature;      // raw bytes
};

// Parses "header.payload.signature". Errors (invalid_response) name the problem: the shape,
// the encoding, the JSON, an alg other than RS256/ES256 ("none" and HS* said explicitly), a
// "crit" header.
Result<Jws> parse_jws(std::string_view compact);

// One JSON Web Key (RFC 7517) with its base64url members decoded to bytes.
struct Jwk {
  std::string kid, kty, alg, use, crv;
  std::string n, e;  // RSA
  std::string x, y;  // EC
};

// Parses {"keys": [...]}. Keys that are malformed or of a type the SDK does not use are
// skipped. Errors: invalid_response when the document itself is not a JWKS.
Result<std::vector<Jwk>> parse_jwks(std::string_view json);

// The key that verifies `jws`: the one with its kid and a matching type, or, when the token
// has no kid, the only key of a matching type. nullptr when there is none.
const Jwk* select_jwk(const std::vector<Jwk>& keys, const Jws& jws);

// Checks the signature with OpenSSL. Errors: invalid_response.
Result<void> verify_jws_signature(const Jws& jws, const Jwk& key);

struct IdTokenExpectations {
  std::string issuer;
  std::string client_id;
  const Secret* nonce = nullptr;  // when set, the token must carry exactly this nonce
  std::chrono::system_clock::time_point now;
  std::chrono::seconds leeway{60};
};

// OpenID Connect Core §3.1.3.7 steps 2-5, 9-11 (the signature is verify_jws_signature's).
Result<IdTokenClaims> check_id_token_claims(const Jws& jws, const IdTokenExpectations& expected);

}  // namespace freshtoken::detail
