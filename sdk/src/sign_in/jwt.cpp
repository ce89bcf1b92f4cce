#include "sign_in/jwt.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <cmath>
#include <memory>
#include <optional>

#include "util/encoding.hpp"

namespace freshtoken::detail {

namespace {

Error invalid(std::string message) {
  return Error(ErrorCode::invalid_response, std::move(message));
}

std::optional<std::string> decode_part(std::string_view part) {
  // JWS uses base64url without padding (RFC 7515 §2).
  if (part.find('=') != std::string_view::npos) return std::nullopt;
  return util::base64url_decode(part);
}

std::optional<nlohmann::json> parse_object(std::string_view text) {
  auto json = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  return json;
}

std::string string_member(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
void free_bn(BIGNUM* p) { BN_free(p); }
void free_bld(OSSL_PARAM_BLD* p) { OSSL_PARAM_BLD_free(p); }
void free_params(OSSL_PARAM* p) { OSSL_PARAM_free(p); }
void free_pkey_ctx(EVP_PKEY_CTX* p) { EVP_PKEY_CTX_free(p); }
void free_pkey(EVP_PKEY* p) { EVP_PKEY_free(p); }
void free_md_ctx(EVP_MD_CTX* p) { EVP_MD_CTX_free(p); }
void free_ecdsa_sig(ECDSA_SIG* p) { ECDSA_SIG_free(p); }
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, free_bn>>;
using BldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, free_bld>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, free_params>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, free_pkey_ctx>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, free_pkey>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, free_md_ctx>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, free_ecdsa_sig>>;

BnPtr to_bn(std::string_view bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
}

PkeyPtr key_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  ParamsPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) return nullptr;
  return PkeyPtr(pkey);
}

PkeyPtr rsa_key(const Jwk& jwk) {
  BnPtr n = to_bn(jwk.n), e = to_bn(jwk.e);
  BldPtr bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return nullptr;
  }
  return key_from_params("RSA", bld.get());
}

PkeyPtr p256_key(const Jwk& jwk) {
  if (jwk.x.size() != 32 || jwk.y.size() != 32) return nullptr;
  std::string point = "\x04" + jwk.x + jwk.y;  // SEC 1 uncompressed point
  BldPtr bld(OSSL_PARAM_BLD_new());
  char group[] = "prime256v1";
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return nullptr;
  }
  return key_from_params("EC", bld.get());  // decoding the point checks that it is on the curve
}

// JWS ES256 signatures are R || S, 32 bytes each (RFC 7518 §3.4); OpenSSL wants DER.
std::optional<std::string> ecdsa_raw_to_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  BnPtr r = to_bn(raw.substr(0, 32)), s = to_bn(raw.substr(32));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  r.release();  // now owned by sig
  s.release();
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

Result<void> verify_signature(const Jws& jws, const Jwk& jwk) {
  PkeyPtr key;
  std::string signature = jws.signature;
  if (jws.alg == "RS256") {
    key = rsa_key(jwk);
    if (!key) return invalid("the JWKS RSA key is malformed");
    if (EVP_PKEY_get_bits(key.get()) < 2048)
      return invalid("the JWKS RSA key is shorter than 2048 bits");
  } else {
    key = p256_key(jwk);
    if (!key) return invalid("the JWKS EC key is not a valid P-256 public key");
    auto der = ecdsa_raw_to_der(jws.signature);
    if (!der) return invalid("the ID token's ES256 signature is not 64 bytes");
    signature = std::move(*der);
  }
  MdCtxPtr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
    return invalid("cannot set up signature verification");
  }
  int ok = EVP_DigestVerify(
      md.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(jws.signing_input.data()), jws.signing_input.size());
  if (ok != 1) return invalid("the ID token's signature does not verify");
  return {};
}

std::optional<std::chrono::system_clock::time_point> numeric_date(const nlohmann::json& payload,
                                                                  const char* name) {
  auto it = payload.find(name);
  if (it == payload.end() || !it->is_number()) return std::nullopt;
  double seconds = it->get<double>();
  // Before 1970 or beyond about 2223 is not a real token: refuse rather than overflow
  // system_clock's nanoseconds (which end in 2262).
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 8'000'000'000.0) return std::nullopt;
  return std::chrono::system_clock::time_point(
      std::chrono::seconds(static_cast<long long>(seconds)));
}

}  // namespace

Result<Jws> parse_jws(std::string_view compact) {
  if (compact.empty()) return invalid("the ID token is empty");
  if (compact.size() > kMaxJwsBytes) return invalid("the ID token is too large");
  auto dot1 = compact.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : compact.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || compact.find('.', dot2 + 1) != std::string_view::npos) {
    return invalid("the ID token is not a JWS in compact form (three dot-separated parts)");
  }
  auto header_text = decode_part(compact.substr(0, dot1));
  auto payload_text = decode_part(compact.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = decode_part(compact.substr(dot2 + 1));
  if (!header_text || !payload_text || !signature) {
    return invalid("the ID token has a part that is not base64url");
  }
  auto header = parse_object(*header_text);
  if (!header) return invalid("the ID token's header is not a JSON object");
  auto alg_it = header->find("alg");
  if (alg_it == header->end() || !alg_it->is_string()) return invalid("the ID token has no alg");
  std::string alg = alg_it->get<std::string>();
  if (alg == "none") return invalid("the ID token is unsigned (alg none), refused");
  if (alg.rfind("HS", 0) == 0) {
    return invalid("the ID token uses a symmetric alg (" + alg.substr(0, 8) + "), refused");
  }
  if (alg != "RS256" && alg != "ES256") {
    return invalid("the ID token's alg is not RS256 or ES256, refused");
  }
  if (header->contains("crit")) {
    return invalid("the ID token has critical header parameters the SDK does not understand");
  }
  Jws jws;
  if (auto kid = header->find("kid"); kid != header->end()) {
    if (!kid->is_string()) return invalid("the ID token's kid is not a string");
    jws.kid = kid->get<std::string>();
  }
  auto payload = parse_object(*payload_text);
  if (!payload) return invalid("the ID token's payload is not a JSON object");
  if (signature->empty()) return invalid("the ID token has no signature");
  jws.header = std::move(*header);
  jws.payload = std::move(*payload);
  jws.payload_text = std::move(*payload_text);
  jws.alg = std::move(alg);
  jws.signing_input = std::string(compact.substr(0, dot2));
  jws.signature = std::move(*signature);
  return jws;
}

Result<std::vector<Jwk>> parse_jwks(std::string_view json) {
  if (json.size() > kMaxJwksBytes) return invalid("the JWKS is too large");
  auto document = parse_object(json);
  if (!document) return invalid("the JWKS is not a JSON object");
  auto keys = document->find("keys");
  if (keys == document->end() || !keys->is_array()) return invalid("the JWKS has no keys array");
  std::vector<Jwk> out;
  for (const auto& entry : *keys) {
    if (!entry.is_object()) continue;
    Jwk jwk;
    jwk.kid = string_member(entry, "kid");
    jwk.kty = string_member(entry, "kty");
    jwk.alg = string_member(entry, "alg");
    jwk.use = string_member(entry, "use");
    jwk.crv = string_member(entry, "crv");
    auto member = [&](const char* name, std::string* target) {
      auto bytes = decode_part(string_member(entry, name));
      if (!bytes || bytes->empty()) return false;
      *target = std::move(*bytes);
      return true;
    };
    if (jwk.kty == "RSA") {
      if (!member("n", &jwk.n) || !member("e", &jwk.e)) continue;
    } else if (jwk.kty == "EC") {
      if (!member("x", &jwk.x) || !member("y", &jwk.y)) continue;
    } else {
      continue;
    }
    out.push_back(std::move(jwk));
  }
  return out;
}

const Jwk* select_jwk(const std::vector<Jwk>& keys, const Jws& jws) {
  auto fits = [&](const Jwk& k) {
    if (!k.use.empty() && k.use != "sig") return false;
    if (!k.alg.empty() && k.alg != jws.alg) return false;
    if (jws.alg == "RS256") return k.kty == "RSA";
    return k.kty == "EC" && k.crv == "P-256";
  };
  const Jwk* only = nullptr;
  int candidates = 0;
  for (const auto& k : keys) {
    if (!fits(k)) continue;
    if (!jws.kid.empty()) {
      if (k.kid == jws.kid) return &k;
      continue;
    }
    only = &k;
    ++candidates;
  }
  return candidates == 1 ? only : nullptr;
}

Result<void> verify_jws_signature(const Jws& jws, const Jwk& key) {
  auto result = verify_signature(jws, key);
  // Leave nothing on this thread's OpenSSL error queue for unrelated code (libcurl) to find.
  ERR_clear_error();
  return result;
}

Result<IdTokenClaims> check_id_token_claims(const Jws& jws, const IdTokenExpectations& expected) {
  const auto& p = jws.payload;
  IdTokenClaims claims;
  claims.issuer = string_member(p, "iss");
  if (claims.issuer.empty() || claims.issuer != expected.issuer) {
    return invalid("the ID token's iss is not the expected issuer");
  }
  claims.subject = string_member(p, "sub");
  if (claims.subject.empty()) return invalid("the ID token has no sub");

  auto aud = p.find("aud");
  if (aud != p.end() && aud->is_string()) {
    claims.audience.push_back(aud->get<std::string>());
  } else if (aud != p.end() && aud->is_array()) {
    for (const auto& a : *aud) {
      if (!a.is_string()) return invalid("the ID token's aud contains a non-string");
      claims.audience.push_back(a.get<std::string>());
    }
  }
  if (claims.audience.empty()) return invalid("the ID token has no aud");
  bool ours = false;
  for (const auto& a : claims.audience) ours = ours || a == expected.client_id;
  if (!ours) return invalid("the ID token's aud does not contain this client_id");
  if (auto azp = p.find("azp"); azp != p.end()) {
    if (!azp->is_string() || azp->get<std::string>() != expected.client_id) {
      return invalid("the ID token's azp is not this client_id");
    }
    claims.authorized_party = azp->get<std::string>();
  } else if (claims.audience.size() > 1) {
    return invalid("the ID token has several audiences but no azp");
  }

  auto exp = numeric_date(p, "exp");
  if (!exp) return invalid("the ID token has no valid exp");
  auto iat = numeric_date(p, "iat");
  if (!iat) return invalid("the ID token has no valid iat");
  if (expected.now >= *exp + expected.leeway) return invalid("the ID token has expired (exp)");
  if (*iat > expected.now + expected.leeway)
    return invalid("the ID token is issued in the future (iat)");
  // nbf is optional (RFC 7519 §4.1.5), but when present the token is not valid before it.
  if (p.contains("nbf")) {
    auto nbf = numeric_date(p, "nbf");
    if (!nbf) return invalid("the ID token has an invalid nbf");
    if (*nbf > expected.now + expected.leeway)
      return invalid("the ID token is not yet valid (nbf)");
  }
  claims.expires_at = *exp;
  claims.issued_at = *iat;

  if (expected.nonce) {
    auto nonce = p.find("nonce");
    if (nonce == p.end() || !nonce->is_string()) return invalid("the ID token has no nonce");
    if (Secret(std::string_view(nonce->get_ref<const std::string&>())) != *expected.nonce) {
      return invalid("the ID token's nonce does not match the request");
    }
  }
  claims.json = jws.payload_text;
  return claims;
}

}  // namespace freshtoken::detail
