#include <algorithm>

#include "freshtoken/sign_in.hpp"
#include "sign_in/launch_browser.hpp"
#include "sign_in/loopback_listener.hpp"
#include "sign_in/pkce.hpp"

namespace freshtoken {

namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

Result<TokenSet> sign_in_with_browser(const AuthorizationServer& server,
                                      const BrowserSignInOptions& options) {
  auto discovered = server.metadata();
  if (!discovered) return discovered.error();
  const ServerMetadata& metadata = *discovered;
  const auto& methods = metadata.code_challenge_methods_supported;
  if (!methods.empty() && std::find(methods.begin(), methods.end(), "S256") == methods.end()) {
    return Error(ErrorCode::config, "the authorization server does not support PKCE with S256");
  }
  auto listener = detail::LoopbackListener::open();
  if (!listener) return listener.error();
  const std::string redirect_uri = (*listener)->redirect_uri("/callback");

  const bool openid = detail::scope_contains(options.scope, "openid");
  detail::Pkce pkce = detail::make_pkce();
  detail::AuthorizationRequest request;
  request.endpoint = metadata.authorization_endpoint;
  request.client_id = server.client().client_id;
  request.redirect_uri = redirect_uri;
  request.scope = options.scope;
  request.state = detail::random_url_token();
  request.code_challenge = pkce.challenge;
  if (openid) request.nonce = detail::random_url_token();
  // A new key for every sign-in; the server binds the code to it (RFC 9449 §10).
  const auto dpop_key = server.new_dpop_key();
  if (dpop_key) request.dpop_jkt = dpop_key->thumbprint();
  request.extra = options.extra_params;
  request.resources = options.resources;
  auto url = detail::build_authorization_url(request);
  if (!url) return url.error();

  auto opened = options.open_browser ? options.open_browser(*url) : open_system_browser(*url);
  if (!opened) return opened.error();

  detail::RedirectExpectation expected;
  expected.path = "/callback";
  expected.state = request.state;
  expected.issuer = metadata.issuer;
  expected.require_iss = metadata.authorization_response_iss_parameter_supported;
  auto code = (*listener)->wait_for_code(expected, options.timeout, options.cancel);
  if (!code) return code.error();

  auto tokens =
      server.exchange_code(*code, redirect_uri, pkce.verifier, dpop_key,
                           options.resources.empty() ? std::string() : options.resources.front());
  if (!tokens) {
    (*listener)->finish(false, "The application could not redeem the sign-in (" +
                                   std::string(to_string(tokens.error().code())) + ").");
    return tokens.error();
  }
  if (!tokens->id_token.empty()) {
    IdTokenVerifier verifier(server, options.id_token_leeway);
    auto claims = verifier.verify(tokens->id_token,
                                  openid ? std::optional<Secret>(request.nonce) : std::nullopt);
    if (!claims) {
      (*listener)->finish(false, "The identity token from the server failed validation.");
      return claims.error();
    }
  }
  (*listener)->finish(true);
  return tokens;
}

Result<void> open_system_browser(const std::string& url) {
  if (!starts_with(url, "http://") && !starts_with(url, "https://")) {
    return Error(ErrorCode::config, "refusing to open a URL that is not http or https");
  }
  if (std::any_of(url.begin(), url.end(), [](char c) { return c <= 0x20 || c == 0x7f; })) {
    return Error(ErrorCode::config, "refusing to open a URL with spaces or control characters");
  }
  return detail::launch_browser(url);
}

}  // namespace freshtoken
