// DPoP proof checks (RFC 9449 §4.3) for the mock server (internal): the parts of a proof's
// validation that need no server state. The nonce and the jti replay cache live in MockState;
// the endpoints combine both (see MockServer::Impl::check_dpop).
// The mock parses proofs with its own code rather than the SDK's JWS parser, so that a bug in
// the SDK's parsing cannot be mirrored by the server that tests it.
// Thread safety: free functions without shared state.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "freshtoken/mock_server.hpp"

namespace freshtoken::mock::detail {

// Why a proof was refused; `none` for an accepted one.
enum class DpopReject {
  none,
  missing,
  malformed,
  typ,
  alg,
  jwk,
  signature,
  htm,
  htu,
  iat,
  jti_replay,
  ath,
  nonce,
  key_mismatch
};

// The name /mock/stats uses for `reason` ("jti_replay", ...).
const char* dpop_reject_name(DpopReject reason);
// The counter of `reason` in `counts`; nullptr for none.
long* dpop_counter(DpopRejectionCounts& counts, DpopReject reason);

// The iat window: how old and how far ahead of the server's clock a proof may be.
inline constexpr std::chrono::seconds kDpopMaxAge{60};
inline constexpr std::chrono::seconds kDpopMaxSkew{5};

// What the request a proof came with must match.
struct DpopExpectation {
  std::string method;  // the request's method
  std::string uri;     // the request's URI without query and fragment, as the issuer shows it
  std::chrono::system_clock::time_point now;  // the server's clock
  const std::string* access_token = nullptr;  // set on resource requests: ath must match
};

// What an accepted proof says (and, for refusals, `reason` and a description without secrets).
struct DpopProof {
  DpopReject reason = DpopReject::none;
  std::string description;
  std::string jkt;    // RFC 7638 thumbprint of the proof's jwk
  std::string jti;    // as sent
  std::string nonce;  // empty when the proof has none
  std::chrono::system_clock::time_point iat;
};

// Checks `proof` (the DPoP header's value): shape, typ, alg (ES256 only), a public P-256 jwk,
// the signature, htm, htu, the iat window and, when expected.access_token is set, ath.
DpopProof check_dpop_proof(std::string_view proof, const DpopExpectation& expected);

// The RFC 7638 JWK SHA-256 thumbprint of a P-256 key given as base64url coordinates.
std::string ec_jwk_thumbprint(const std::string& x, const std::string& y);

// An http(s) URI reduced to what htu is compared on: scheme and host in lower case, the default
// port dropped, an empty path as "/", query and fragment cut off. nullopt when not http(s).
std::optional<std::string> normalize_htu(std::string_view uri);

}  // namespace freshtoken::mock::detail
