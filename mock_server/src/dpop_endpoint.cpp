// DPoP proofs at the mock server's endpoints (RFC 9449): each client's mode, the check of a
// request's proof with the server's state (nonce, jti replay), and the authorization server's
// answers to a refused proof.
#include <algorithm>

#include "server_impl.hpp"

namespace freshtoken::mock {

using namespace detail;

DpopMode MockServer::Impl::dpop_mode(const std::string& client_id) const {
  const auto it = options().dpop_clients.find(client_id);
  return it == options().dpop_clients.end() ? options().dpop : it->second;
}

bool MockServer::Impl::dpop_enabled() const {
  const auto& clients = options().dpop_clients;
  return options().dpop != DpopMode::off ||
         std::any_of(clients.begin(), clients.end(),
                     [](const auto& client) { return client.second != DpopMode::off; });
}

DpopProof MockServer::Impl::check_dpop(const Request& req, DpopServer server,
                                       const std::string* access_token, const std::string* origin) {
  DpopProof proof;
  const std::size_t headers = req.get_header_value_count("DPoP");
  if (headers == 0) {
    proof.reason = DpopReject::missing;
    proof.description = "A DPoP proof is required";
  } else if (headers > 1) {
    proof.reason = DpopReject::malformed;
    proof.description = "More than one DPoP header";
  } else {
    // htu is compared with the URI as the issuer shows it: the raw target, without its query.
    // iat is compared with the real clock, not the shifted one of /mock/clock: that shift ages
    // tokens, while a client stamps its proofs with its own (real) clock.
    const std::string path = req.target.substr(0, req.target.find_first_of("?#"));
    proof = check_dpop_proof(
        req.get_header_value("DPoP"),
        DpopExpectation{req.method, (origin != nullptr ? *origin : state_.issuer()) + path,
                        Clock::now(), access_token});
    if (proof.reason == DpopReject::none && options().dpop_nonce &&
        !state_.dpop_nonce_valid(server, proof.nonce)) {
      proof.reason = DpopReject::nonce;
      proof.description = server == DpopServer::authorization
                              ? "Authorization server requires nonce in DPoP proof"
                              : "Resource server requires nonce in DPoP proof";
    }
    if (proof.reason == DpopReject::none &&
        !state_.remember_dpop_jti(proof.jkt, proof.jti, proof.iat)) {
      proof.reason = DpopReject::jti_replay;
      proof.description = "The DPoP proof's jti was used before";
    }
  }
  if (proof.reason != DpopReject::none) state_.count_dpop_rejection(proof.reason);
  return proof;
}

bool MockServer::Impl::authorization_dpop(const Request& req, Response& res,
                                          const ClientInfo& client, std::string& jkt) {
  jkt.clear();
  const DpopMode mode = dpop_mode(client.id);
  if (mode == DpopMode::off) return true;  // RFC 9449 §1: a server without DPoP ignores it
  if (options().dpop_nonce) {
    res.set_header("DPoP-Nonce", state_.dpop_nonce(DpopServer::authorization));
  }
  if (mode == DpopMode::allowed && !req.has_header("DPoP")) return true;
  const DpopProof proof = check_dpop(req, DpopServer::authorization, nullptr);
  if (proof.reason == DpopReject::nonce) {
    oauth_error(res, 400, "use_dpop_nonce", proof.description);  // RFC 9449 §8
    return false;
  }
  if (proof.reason != DpopReject::none) {
    oauth_error(res, 400, "invalid_dpop_proof", proof.description);
    return false;
  }
  jkt = proof.jkt;
  return true;
}

}  // namespace freshtoken::mock
