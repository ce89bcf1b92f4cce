#include "dpop.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken::mock::detail {
namespace {

using json = nlohmann::json;

// Larger than any honest proof (an ES256 header with its jwk, a few claims).
constexpr std::size_t kMaxProofBytes = 8 * 1024;

DpopProof refuse(DpopReject reason, std::string description) {
  DpopProof proof;
  proof.reason = reason;
  proof.description = std::move(description);
  return proof;
}

// JWS uses base64url without padding (RFC 7515 §2).
std::optional<std::string> decode_part(std::string_view part) {
  if (part.find('=') != std::string_view::npos) return std::nullopt;
  return util::base64url_decode(part);
}

std::optional<json> object_of(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  json value = json::parse(*text, nullptr, false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

const json* member(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

bool is_string_member(const json& object, const char* key) {
  const json* value = member(object, key);
  return value != nullptr && value->is_string();
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The P-256 public key of the header's jwk as raw coordinates; the refusal otherwise.
std::optional<DpopProof> check_jwk(const json& header, std::string& x, std::string& y) {
  const json* jwk = member(header, "jwk");
  if (jwk == nullptr || !jwk->is_object()) return refuse(DpopReject::jwk, "The proof has no jwk");
  // RFC 9449 §4.3 step 7: the key in the proof must be public; a private one was leaked.
  if (jwk->contains("d")) return refuse(DpopReject::jwk, "The jwk holds a private key");
  if (!is_string_member(*jwk, "kty") || (*jwk)["kty"] != "EC" || !is_string_member(*jwk, "crv") ||
      (*jwk)["crv"] != "P-256") {
    return refuse(DpopReject::jwk, "The jwk is not an EC P-256 key");
  }
  if (!is_string_member(*jwk, "x") || !is_string_member(*jwk, "y")) {
    return refuse(DpopReject::jwk, "The jwk has no x or y");
  }
  const auto x_bytes = decode_part((*jwk)["x"].get<std::string>());
  const auto y_bytes = decode_part((*jwk)["y"].get<std::string>());
  if (!x_bytes || !y_bytes || x_bytes->size() != 32 || y_bytes->size() != 32) {
    return refuse(DpopReject::jwk, "The jwk's x and y are not 32-byte base64url values");
  }
  x = *x_bytes;
  y = *y_bytes;
  return std::nullopt;
}

// jti, htm, htu and iat must be there with the right types (RFC 9449 §4.2).
bool has_required_claims(const json& claims) {
  const json* jti = member(claims, "jti");
  const json* iat = member(claims, "iat");
  return jti != nullptr && jti->is_string() && !jti->get<std::string>().empty() &&
         is_string_member(claims, "htm") && is_string_member(claims, "htu") && iat != nullptr &&
         iat->is_number_integer() &&
         (!claims.contains("nonce") || is_string_member(claims, "nonce")) &&
         (!claims.contains("ath") || is_string_member(claims, "ath"));
}

}  // namespace

const char* dpop_reject_name(DpopReject reason) {
  switch (reason) {
    case DpopReject::none:
      return "none";
    case DpopReject::missing:
      return "missing";
    case DpopReject::malformed:
      return "malformed";
    case DpopReject::typ:
      return "typ";
    case DpopReject::alg:
      return "alg";
    case DpopReject::jwk:
      return "jwk";
    case DpopReject::signature:
      return "signature";
    case DpopReject::htm:
      return "htm";
    case DpopReject::htu:
      return "htu";
    case DpopReject::iat:
      return "iat";
    case DpopReject::jti_replay:
      return "jti_replay";
    case DpopReject::ath:
      return "ath";
    case DpopReject::nonce:
      return "nonce";
    case DpopReject::key_mismatch:
      return "key_mismatch";
  }
  return "none";
}

long* dpop_counter(DpopRejectionCounts& counts, DpopReject reason) {
  switch (reason) {
    case DpopReject::none:
      return nullptr;
    case DpopReject::missing:
      return &counts.missing;
    case DpopReject::malformed:
      return &counts.malformed;
    case DpopReject::typ:
      return &counts.typ;
    case DpopReject::alg:
      return &counts.alg;
    case DpopReject::jwk:
      return &counts.jwk;
    case DpopReject::signature:
      return &counts.signature;
    case DpopReject::htm:
      return &counts.htm;
    case DpopReject::htu:
      return &counts.htu;
    case DpopReject::iat:
      return &counts.iat;
    case DpopReject::jti_replay:
      return &counts.jti_replay;
    case DpopReject::ath:
      return &counts.ath;
    case DpopReject::nonce:
      return &counts.nonce;
    case DpopReject::key_mismatch:
      return &counts.key_mismatch;
  }
  return nullptr;
}

std::string ec_jwk_thumbprint(const std::string& x, const std::string& y) {
  // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
  const std::string input = R"({"crv":"P-256","kty":"EC","x":")" + x + R"(","y":")" + y + R"("})";
  return util::base64url_encode(util::sha256(input));
}

std::optional<std::string> normalize_htu(std::string_view uri) {
  const auto end = uri.find_first_of("?#");
  if (end != std::string_view::npos) uri = uri.substr(0, end);
  const auto colon = uri.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string scheme = lower(std::string(uri.substr(0, colon)));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  const std::string_view rest = uri.substr(colon + 3);
  const auto slash = rest.find('/');
  std::string authority = lower(std::string(rest.substr(0, slash)));
  std::string path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty() || authority.find('@') != std::string::npos) return std::nullopt;
  // RFC 3986 §6.2.3: an empty or default port is the same as none.
  const auto port = authority.rfind(':');
  if (port != std::string::npos && authority.find(']', port) == std::string::npos) {
    const std::string digits = authority.substr(port + 1);
    if (digits.empty() || (scheme == "http" && digits == "80") ||
        (scheme == "https" && digits == "443")) {
      authority.erase(port);
    }
  }
  return scheme + "://" + authority + path;
}

DpopProof check_dpop_proof(std::string_view text, const DpopExpectation& expected) {
  if (text.empty() || text.size() > kMaxProofBytes) {
    return refuse(DpopReject::malformed, "The DPoP proof is empty or too large");
  }
  const auto dot1 = text.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : text.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || text.find('.', dot2 + 1) != std::string_view::npos) {
    return refuse(DpopReject::malformed, "The DPoP proof is not a compact JWS");
  }
  const auto header = object_of(decode_part(text.substr(0, dot1)));
  const auto claims = object_of(decode_part(text.substr(dot1 + 1, dot2 - dot1 - 1)));
  const auto signature = decode_part(text.substr(dot2 + 1));
  if (!header || !claims || !signature) {
    return refuse(DpopReject::malformed, "The DPoP proof's parts are not base64url JSON objects");
  }
  if (!is_string_member(*header, "typ") || (*header)["typ"] != "dpop+jwt") {
    return refuse(DpopReject::typ, "The DPoP proof's typ is not dpop+jwt");
  }
  if (!is_string_member(*header, "alg") || (*header)["alg"] != "ES256") {
    return refuse(DpopReject::alg, "The DPoP proof's alg is not ES256 (the only one supported)");
  }
  std::string x, y;
  if (auto refused = check_jwk(*header, x, y)) return *refused;
  if (!has_required_claims(*claims)) {
    return refuse(DpopReject::malformed, "The DPoP proof lacks jti, htm, htu or iat");
  }
  switch (util::verify_es256(x, y, text.substr(0, dot2), *signature)) {
    case util::SignatureCheck::valid:
      break;
    case util::SignatureCheck::bad_key:
    case util::SignatureCheck::weak_key:
      return refuse(DpopReject::jwk, "The jwk is not a point on P-256");
    case util::SignatureCheck::bad_signature:
      return refuse(DpopReject::signature, "The DPoP proof's signature does not verify");
  }
  if ((*claims)["htm"] != expected.method) {
    return refuse(DpopReject::htm, "The DPoP proof's htm is not the request's method");
  }
  const auto htu = normalize_htu((*claims)["htu"].get<std::string>());
  if (!htu || htu != normalize_htu(expected.uri)) {
    return refuse(DpopReject::htu, "The DPoP proof's htu is not the request's URI");
  }
  // Before 1970 or far beyond any clock is not a time: refuse rather than overflow the clock.
  const json& iat_value = (*claims)["iat"];
  const bool iat_sane =
      iat_value.is_number_unsigned()
          ? iat_value.get<std::uint64_t>() < 8'000'000'000ULL
          : iat_value.get<std::int64_t>() >= 0 && iat_value.get<std::int64_t>() < 8'000'000'000LL;
  const auto iat = std::chrono::system_clock::time_point(
      std::chrono::seconds(iat_sane ? iat_value.get<std::int64_t>() : 0));
  if (!iat_sane || iat < expected.now - kDpopMaxAge || iat > expected.now + kDpopMaxSkew) {
    return refuse(DpopReject::iat, "The DPoP proof's iat is outside the accepted window");
  }
  if (expected.access_token != nullptr) {
    const std::string ath = util::base64url_encode(util::sha256(*expected.access_token));
    if (!is_string_member(*claims, "ath") || (*claims)["ath"] != ath) {
      return refuse(DpopReject::ath, "The DPoP proof's ath is not the access token's hash");
    }
  }
  DpopProof proof;
  proof.jkt = ec_jwk_thumbprint(util::base64url_encode(x), util::base64url_encode(y));
  proof.jti = (*claims)["jti"].get<std::string>();
  proof.nonce = claims->value("nonce", std::string());
  proof.iat = iat;
  return proof;
}

}  // namespace freshtoken::mock::detail
