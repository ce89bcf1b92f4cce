// Fuzzes ID token decoding: the JWS compact serialization (RFC 7515), key selection from a
// fixed JWKS, signature verification and the OpenID Connect claim checks. Properties: a
// signature verifies only for a signing input that really was signed (see jwt_keys.hpp), and
// accepted claims are the expected issuer, audience and a current time window.
//
// Input: a compact JWS, or, when it starts with '{', JSON that the harness wraps into one so
// that mutations reach the claims without going through base64url: "<payload>" (with the
// header {"alg":"ES256","kid":"ec1"}) or "<header>\n<payload>".
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "jwt_keys.hpp"
#include "sign_in/jwt.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"

using namespace freshtoken;
using namespace freshtoken::detail;

namespace {

const std::vector<Jwk>& keys() {
  static const std::vector<Jwk> parsed = parse_jwks(fuzz::kJwks).value();
  return parsed;
}

std::string wrap_json(std::string_view input) {
  std::string_view header = R"({"alg":"ES256","kid":"ec1"})";
  std::string_view payload = input;
  if (const auto newline = input.find('\n'); newline != std::string_view::npos) {
    header = input.substr(0, newline);
    payload = input.substr(newline + 1);
  }
  return util::base64url_encode(header) + "." + util::base64url_encode(payload) + "." +
         util::base64url_encode(std::string(64, 's'));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (keys().size() != 2) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  const std::string wrapped = !input.empty() && input.front() == '{' ? wrap_json(input) : "";
  const std::string_view compact = wrapped.empty() ? input : std::string_view(wrapped);
  auto jws = parse_jws(compact);
  if (!jws) {
    FUZZ_CHECK(jws.error().code() == ErrorCode::invalid_response);
    FUZZ_CHECK(!fuzz::leaks_canary(input, jws.error().message()));
    return 0;
  }
  FUZZ_CHECK(jws->alg == "RS256" || jws->alg == "ES256");
  FUZZ_CHECK(jws->header.is_object() && jws->payload.is_object());
  FUZZ_CHECK(!jws->signature.empty());
  FUZZ_CHECK(compact.substr(0, jws->signing_input.size()) == jws->signing_input);
  FUZZ_CHECK(compact.size() > jws->signing_input.size() &&
             compact[jws->signing_input.size()] == '.');

  if (const Jwk* key = select_jwk(keys(), *jws)) {
    FUZZ_CHECK(jws->kid.empty() || key->kid == jws->kid);
    auto verified = verify_jws_signature(*jws, *key);
    if (verified) {
      const std::string digest = util::hex(util::sha256(jws->signing_input));
      FUZZ_CHECK(std::find(fuzz::kSignedInputs.begin(), fuzz::kSignedInputs.end(), digest) !=
                 fuzz::kSignedInputs.end());
    } else {
      FUZZ_CHECK(!fuzz::leaks_canary(input, verified.error().message()));
    }
  }

  const Secret nonce(fuzz::kNonce);
  IdTokenExpectations expected;
  expected.issuer = std::string(fuzz::kIssuer);
  expected.client_id = std::string(fuzz::kClientId);
  expected.nonce = &nonce;
  expected.now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'100));
  for (const bool with_nonce : {true, false}) {
    if (!with_nonce) expected.nonce = nullptr;
    auto claims = check_id_token_claims(*jws, expected);
    if (!claims) {
      FUZZ_CHECK(claims.error().code() == ErrorCode::invalid_response);
      FUZZ_CHECK(!fuzz::leaks_canary(input, claims.error().message()));
      continue;
    }
    FUZZ_CHECK(claims->issuer == fuzz::kIssuer);
    FUZZ_CHECK(!claims->subject.empty());
    FUZZ_CHECK(std::find(claims->audience.begin(), claims->audience.end(), fuzz::kClientId) !=
               claims->audience.end());
    FUZZ_CHECK(claims->audience.size() == 1 || claims->authorized_party == fuzz::kClientId);
    FUZZ_CHECK(expected.now < claims->expires_at + expected.leeway);
    FUZZ_CHECK(claims->issued_at <= expected.now + expected.leeway);
    if (with_nonce) FUZZ_CHECK(jws->payload.value("nonce", std::string()) == fuzz::kNonce);
  }
  return 0;
}
