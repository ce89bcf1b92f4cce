#include "sign_in/pkce.hpp"

#include <array>

#include "oauth_parsing.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken::detail {

std::string s256_challenge(std::string_view verifier) {
  return util::base64url_encode(util::sha256(verifier));
}

Secret random_url_token(std::size_t bytes) {
  std::string raw = util::random_bytes(bytes);
  Secret token(util::base64url_encode(raw));
  Secret wipe(std::move(raw));  // wipes `raw` on the way
  return token;
}

Pkce make_pkce() {
  Pkce pkce;
  pkce.verifier = random_url_token(32);
  pkce.challenge = s256_challenge(pkce.verifier.reveal());
  return pkce;
}

bool scope_contains(std::string_view scope, std::string_view item) {
  while (!scope.empty()) {
    auto space = scope.find(' ');
    if (scope.substr(0, space) == item) return true;
    if (space == std::string_view::npos) break;
    scope.remove_prefix(space + 1);
  }
  return false;
}

Result<std::string> build_authorization_url(const AuthorizationRequest& request) {
  if (request.endpoint.empty()) {
    return Error(ErrorCode::config, "the server metadata has no authorization_endpoint");
  }
  // Discovery checks this too, but metadata may also be built by hand.
  if (auto ok = check_endpoint_url("authorization_endpoint", request.endpoint); !ok) {
    return ok.error();
  }
  static constexpr std::array<std::string_view, 9> reserved = {
      "response_type", "client_id",      "redirect_uri",          "scope",   "state",
      "nonce",         "code_challenge", "code_challenge_method", "dpop_jkt"};
  for (const auto& [name, value] : request.extra) {
    for (auto r : reserved) {
      if (name == r) {
        return Error(ErrorCode::config,
                     "extra authorization parameter '" + name + "' is set by the flow itself");
      }
    }
  }
  util::FormFields fields = {{"response_type", "code"},
                             {"client_id", request.client_id},
                             {"redirect_uri", request.redirect_uri}};
  if (!request.scope.empty()) fields.emplace_back("scope", request.scope);
  fields.emplace_back("state", std::string(request.state.reveal()));
  fields.emplace_back("code_challenge", request.code_challenge);
  fields.emplace_back("code_challenge_method", "S256");
  if (!request.nonce.empty()) fields.emplace_back("nonce", std::string(request.nonce.reveal()));
  if (!request.dpop_jkt.empty()) fields.emplace_back("dpop_jkt", request.dpop_jkt);
  for (const auto& resource : request.resources) fields.emplace_back("resource", resource);
  for (const auto& field : request.extra) fields.push_back(field);

  std::string url = request.endpoint;
  auto hash = url.find('#');  // RFC 6749 §3.1: the endpoint has no fragment; drop one anyway
  if (hash != std::string::npos) url.erase(hash);
  if (url.find('?') == std::string::npos) {
    url += '?';
  } else if (url.back() != '?' && url.back() != '&') {
    url += '&';
  }
  url += util::form_encode(fields);
  return url;
}

}  // namespace freshtoken::detail
