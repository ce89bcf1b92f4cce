// read_dpop_proof: splits a DPoP proof (RFC 9449 §4.2) into its header and claims and checks
// its ES256 signature against the jwk in its own header, for tests. Needs nlohmann_json and the
// SDK's util sources on the include path.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken::testing {

struct DpopProof {
  nlohmann::json header;
  nlohmann::json claims;
  bool signature_valid = false;
};

inline std::optional<DpopProof> read_dpop_proof(std::string_view proof) {
  const auto first = proof.find('.');
  const auto second = proof.find('.', first == std::string_view::npos ? 0 : first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos) return std::nullopt;
  auto header = util::base64url_decode(proof.substr(0, first));
  auto claims = util::base64url_decode(proof.substr(first + 1, second - first - 1));
  auto signature = util::base64url_decode(proof.substr(second + 1));
  if (!header || !claims || !signature) return std::nullopt;
  DpopProof out;
  out.header = nlohmann::json::parse(*header, nullptr, false);
  out.claims = nlohmann::json::parse(*claims, nullptr, false);
  if (out.header.is_discarded() || out.claims.is_discarded()) return std::nullopt;
  const auto& jwk = out.header["jwk"];
  if (!jwk.is_object() || !jwk["x"].is_string() || !jwk["y"].is_string()) return out;
  auto x = util::base64url_decode(jwk["x"].get<std::string>());
  auto y = util::base64url_decode(jwk["y"].get<std::string>());
  if (!x || !y) return out;
  out.signature_valid = util::verify_es256(*x, *y, proof.substr(0, second), *signature) ==
                        util::SignatureCheck::valid;
  return out;
}

}  // namespace freshtoken::testing
