// Test support: DPoP proofs (RFC 9449 §4.2) built by hand, valid or deliberately broken in one
// chosen way, to drive a server's proof checks. Independent of the SDK's own proof code, so
// that the two cannot share a mistake.
// Thread safety: a DpopForger may be used from one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken::testing {

// One proof's contents. The defaults (with htm and htu filled in) make a valid proof.
struct DpopForgery {
  std::string htm = "POST";
  std::string htu;
  std::optional<std::int64_t> iat;    // default: the real clock's now
  std::string jti;                    // empty: a fresh random one
  std::optional<std::string> ath;     // base64url SHA-256 of the access token (DpopForger::ath)
  std::optional<std::string> nonce;   // the server's DPoP-Nonce
  std::string typ = "dpop+jwt";       // a wrong one for the typ check
  std::string alg = "ES256";          // "none", "HS256", "RS256" for the alg check
  bool private_jwk = false;           // the jwk carries "d" too
  std::optional<nlohmann::json> jwk;  // replaces the header's jwk
  bool bad_signature = false;         // one bit of the signature flipped
};

class DpopForger {
 public:
  DpopForger() : key_(util::generate_p256_key()) {}

  // The public JWK: {"kty":"EC","crv":"P-256","x":...,"y":...}.
  nlohmann::json public_jwk() const {
    return {{"kty", "EC"},
            {"crv", "P-256"},
            {"x", util::base64url_encode(key_.x())},
            {"y", util::base64url_encode(key_.y())}};
  }

  // RFC 7638 §3: SHA-256 of the required members in lexicographic order, no whitespace.
  std::string thumbprint() const {
    return util::base64url_encode(util::sha256(R"({"crv":"P-256","kty":"EC","x":")" +
                                               util::base64url_encode(key_.x()) + R"(","y":")" +
                                               util::base64url_encode(key_.y()) + R"("})"));
  }

  static std::string ath(const std::string& access_token) {
    return util::base64url_encode(util::sha256(access_token));
  }

  static std::int64_t now_seconds(std::chrono::seconds offset = std::chrono::seconds(0)) {
    return std::chrono::duration_cast<std::chrono::seconds>(
               (std::chrono::system_clock::now() + offset).time_since_epoch())
        .count();
  }

  std::string proof(const DpopForgery& f) const {
    nlohmann::json jwk = f.jwk ? *f.jwk : public_jwk();
    if (f.private_jwk) jwk["d"] = util::base64url_encode(key_.d());
    const nlohmann::json header = {{"typ", f.typ}, {"alg", f.alg}, {"jwk", jwk}};
    nlohmann::json claims = {
        {"jti", f.jti.empty() ? util::base64url_encode(util::random_bytes(16)) : f.jti},
        {"htm", f.htm},
        {"htu", f.htu},
        {"iat", f.iat ? *f.iat : now_seconds()}};
    if (f.ath) claims["ath"] = *f.ath;
    if (f.nonce) claims["nonce"] = *f.nonce;
    const std::string input =
        util::base64url_encode(header.dump()) + "." + util::base64url_encode(claims.dump());
    if (f.alg == "none") return input + ".";
    std::string signature;
    if (f.alg.rfind("HS", 0) == 0) {
      signature = util::sha256(input);  // any bytes: a symmetric alg must be refused unread
    } else {
      signature = util::sign_es256(key_, input).value_or(std::string());
    }
    if (f.bad_signature && !signature.empty()) signature[5] = static_cast<char>(signature[5] ^ 1);
    return input + "." + util::base64url_encode(signature);
  }

 private:
  util::P256Key key_;
};

}  // namespace freshtoken::testing
