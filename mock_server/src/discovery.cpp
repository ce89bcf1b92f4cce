// The discovery document (OpenID Connect Discovery / RFC 8414) and the JWKS.
#include "server_impl.hpp"
#include "signing_key.hpp"

namespace freshtoken::mock {

using namespace detail;

void MockServer::Impl::discovery(const Request&, Response& res) {
  const std::string iss = state_.issuer();
  const json client_auth = {"none", "client_secret_basic", "client_secret_post"};
  json document = {
      {"issuer", iss},
      {"authorization_endpoint", iss + "/authorize"},
      {"token_endpoint", iss + "/token"},
      {"device_authorization_endpoint", iss + "/device_authorization"},
      {"revocation_endpoint", iss + "/revoke"},
      {"introspection_endpoint", iss + "/introspect"},
      {"userinfo_endpoint", iss + "/userinfo"},
      {"jwks_uri", iss + "/jwks"},
      {"scopes_supported", known_scopes()},
      {"response_types_supported", {"code"}},
      {"response_modes_supported", {"query"}},
      {"grant_types_supported", {kGrantCode, kGrantRefresh, kGrantClientCredentials, kGrantDevice}},
      {"code_challenge_methods_supported", {"S256"}},
      {"token_endpoint_auth_methods_supported", client_auth},
      {"revocation_endpoint_auth_methods_supported", client_auth},
      {"introspection_endpoint_auth_methods_supported", client_auth},
      {"subject_types_supported", {"public"}},
      {"id_token_signing_alg_values_supported", {"RS256"}},
      {"claims_supported",
       {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "name", "preferred_username"}},
      {"authorization_response_iss_parameter_supported", true}};
  if (dpop_enabled())
    document["dpop_signing_alg_values_supported"] = json::array({"ES256"});  // RFC 9449 §5.1
  send_json(res, 200, document);
}

namespace detail {

json jwks_json() { return {{"keys", json::array({SigningKey::instance().jwk()})}}; }

}  // namespace detail

}  // namespace freshtoken::mock
