// Fuzzes the JWKS parser (RFC 7517) and turning its keys into OpenSSL keys: every key that
// is selected for one of the fixed, validly signed tokens is used to verify it. Property: a
// fuzzed key verifies a token only if it is the genuine key (same modulus and exponent, or
// the same point).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "jwt_keys.hpp"
#include "sign_in/jwt.hpp"

using namespace freshtoken;
using namespace freshtoken::detail;

namespace {

// Two of the validly signed seeds of corpus/jws, re-created from their parts: the RS256
// token (kid rsa1) and the ES256 token without kid.
const std::vector<Jws>& tokens() {
  static const std::vector<Jws> parsed = [] {
    std::vector<Jws> out;
    for (const char* path : {FRESHTOKEN_FUZZ_CORPUS "/jws/rs256_valid.txt",
                             FRESHTOKEN_FUZZ_CORPUS "/jws/es256_no_kid.txt"}) {
      std::FILE* file = std::fopen(path, "rb");
      if (file == nullptr) std::abort();
      std::string text(4096, '\0');
      text.resize(std::fread(text.data(), 1, text.size(), file));
      std::fclose(file);
      out.push_back(parse_jws(text).value());
    }
    return out;
  }();
  return parsed;
}

const std::vector<Jwk>& genuine_keys() {
  static const std::vector<Jwk> parsed = parse_jwks(fuzz::kJwks).value();
  return parsed;
}

std::string_view strip_leading_zeros(std::string_view bytes) {
  while (!bytes.empty() && bytes.front() == '\0') bytes.remove_prefix(1);
  return bytes;
}

bool same_key(const Jwk& a, const Jwk& b) {
  if (a.kty != b.kty) return false;
  if (a.kty == "RSA") {
    return strip_leading_zeros(a.n) == strip_leading_zeros(b.n) &&
           strip_leading_zeros(a.e) == strip_leading_zeros(b.e);
  }
  return a.x == b.x && a.y == b.y;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (tokens().size() != 2 || genuine_keys().size() != 2) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view document = fuzz::as_text(data, size);
  auto keys = parse_jwks(document);
  if (!keys) {
    FUZZ_CHECK(keys.error().code() == ErrorCode::invalid_response);
    FUZZ_CHECK(!fuzz::leaks_canary(document, keys.error().message()));
    return 0;
  }
  for (const Jwk& key : *keys) {
    FUZZ_CHECK(key.kty == "RSA" || key.kty == "EC");
    if (key.kty == "RSA") FUZZ_CHECK(!key.n.empty() && !key.e.empty());
    if (key.kty == "EC") FUZZ_CHECK(!key.x.empty() && !key.y.empty());
  }
  for (const Jws& jws : tokens()) {
    const Jwk* key = select_jwk(*keys, jws);
    if (key == nullptr) continue;
    auto verified = verify_jws_signature(jws, *key);
    if (verified) {
      bool genuine = false;
      for (const Jwk& real : genuine_keys()) genuine = genuine || same_key(*key, real);
      FUZZ_CHECK(genuine);
    } else {
      FUZZ_CHECK(!fuzz::leaks_canary(document, verified.error().message()));
    }
  }
  return 0;
}
