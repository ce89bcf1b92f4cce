#include "sign_in/jwt.hpp"

#include <cmath>
#include <memory>
#include <optional>

#include "util/crypto.hpp"
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
  // ES256 signatures are R || S, 32 bytes each (RFC 7518 §3.4), never DER.
  if (jws.alg == "ES256" && jws.signature.size() != 64)
    return invalid("the ID token's ES256 signature is not 64 bytes");
  util::SignatureCheck check =
      jws.alg == "RS256" ? util::verify_rs256(key.n, key.e, jws.signing_input, jws.signature)
                         : util::verify_es256(key.x, key.y, jws.signing_input, jws.signature);
  switch (check) {
    case util::SignatureCheck::valid:
      return {};
    case util::SignatureCheck::weak_key:
      return invalid("the JWKS RSA key is shorter than 2048 bits");
    case util::SignatureCheck::bad_key:
      return invalid(jws.alg == "RS256" ? "the JWKS RSA key is malformed"
                                        : "the JWKS EC key is not a valid P-256 public key");
    case util::SignatureCheck::bad_signature:
      break;
  }
  return invalid("the ID token's signature does not verify");
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
