// /token: client authentication, then one of the four grants (RFC 6749 §4.1.3, §6, §4.4 and
// RFC 8628 §3.4). The grants' rules live in MockState; this file checks the request's shape.
#include "client_auth.hpp"
#include "server_impl.hpp"

namespace freshtoken::mock {

using namespace detail;

namespace detail {

json token_json(const IssuedTokens& tokens) {
  json answer = {{"access_token", tokens.access_token},
                 {"token_type", tokens.token_type},
                 {"expires_in", tokens.expires_in.count()},
                 {"scope", tokens.scope}};
  if (!tokens.refresh_token.empty()) answer["refresh_token"] = tokens.refresh_token;
  if (!tokens.id_token.empty()) answer["id_token"] = tokens.id_token;
  return answer;
}

Outcome<std::vector<ApiId>> find_apis(const MockState& state,
                                      const std::vector<std::string>& resources) {
  std::vector<ApiId> apis;
  for (const auto& resource : resources) {
    const auto api = state.find_api(resource);
    // RFC 8707 §2: the value is not echoed; it is the client's text.
    if (!api) return OAuthError{400, "invalid_target", "The resource is not a known API"};
    apis.push_back(*api);
  }
  return apis;
}

void answer_oauth_error(httplib::Response& res, const OAuthError& error) {
  oauth_error(res, error.status, error.error, error.description);
}

}  // namespace detail

namespace {

void answer_tokens(httplib::Response& res, const Outcome<IssuedTokens>& outcome) {
  if (!outcome) return answer_oauth_error(res, outcome.error());
  send_json(res, 200, token_json(outcome.value()));
}

}  // namespace

void MockServer::Impl::token(const Request& req, Response& res) {
  const auto form = read_form_post(req, res);
  if (!form) return;
  const std::string grant = get(*form, "grant_type");
  if (grant.empty()) return oauth_error(res, 400, "invalid_request", "grant_type is missing");
  const ClientAuth auth = authenticate_client(req, *form);
  if (auth.client == nullptr) return answer_client_error(res, auth);
  if (!known_grant(grant)) {
    return oauth_error(res, 400, "unsupported_grant_type", "Unsupported grant_type");
  }
  if (auth.client->grants.count(grant) == 0) {
    return oauth_error(res, 400, "unauthorized_client", "This client may not use this grant");
  }
  // RFC 8707 §2: one `resource` here (a repeat is refused as any repeated parameter); the
  // grant decides whether its authorization allows it.
  const std::string resource = get(*form, "resource");
  ApiId api = ApiId::api;
  if (form->count("resource") != 0) {
    const auto apis = find_apis(state_, {resource});
    if (!apis) return answer_oauth_error(res, apis.error());
    api = apis.value().front();
  }
  state_.count_resource_token_request(api, grant == kGrantRefresh);
  // The proof is checked before the grant: a refused proof (or a nonce retry) spends no code
  // and rotates no refresh token.
  std::string jkt;
  if (!authorization_dpop(req, res, *auth.client, jkt)) return;
  if (grant == kGrantCode) return grant_authorization_code(*auth.client, *form, jkt, res);
  if (grant == kGrantRefresh) return grant_refresh_token(*auth.client, *form, jkt, res);
  if (grant == kGrantClientCredentials) {
    return grant_client_credentials(*auth.client, *form, jkt, res);
  }
  grant_device_code(*auth.client, *form, jkt, res);
}

void MockServer::Impl::grant_authorization_code(const ClientInfo& client, const Params& form,
                                                const std::string& jkt, Response& res) {
  const std::string code = get(form, "code");
  const std::string verifier = get(form, "code_verifier");
  if (code.empty()) return oauth_error(res, 400, "invalid_request", "code is missing");
  if (form.count("redirect_uri") == 0) {
    return oauth_error(res, 400, "invalid_request", "redirect_uri is missing");
  }
  if (verifier.empty()) {
    return oauth_error(res, 400, "invalid_request", "code_verifier is missing (PKCE)");
  }
  answer_tokens(res, state_.redeem_code(client.id, code, get(form, "redirect_uri"), verifier, jkt,
                                        get(form, "resource")));
}

void MockServer::Impl::grant_refresh_token(const ClientInfo& client, const Params& form,
                                           const std::string& jkt, Response& res) {
  const std::string presented = get(form, "refresh_token");
  if (presented.empty()) {
    return oauth_error(res, 400, "invalid_request", "refresh_token is missing");
  }
  std::optional<std::string> scope;
  if (form.count("scope") != 0) scope = get(form, "scope");
  answer_tokens(res, state_.refresh(client.id, presented, scope, jkt, get(form, "resource")));
}

void MockServer::Impl::grant_client_credentials(const ClientInfo& client, const Params& form,
                                                const std::string& jkt, Response& res) {
  std::string scope = form.count("scope") ? get(form, "scope") : client.default_scope;
  const auto items = split_scope(scope);
  if (items.empty()) return oauth_error(res, 400, "invalid_scope", "The scope is empty");
  for (const auto& s : items) {
    if (client.scopes.count(s) == 0) {
      return oauth_error(res, 400, "invalid_scope", "Scope not allowed for this client: " + s);
    }
  }
  send_json(res, 200,
            token_json(state_.client_credentials(client.id, join_scope(items), jkt,
                                                 get(form, "resource"))));
}

void MockServer::Impl::grant_device_code(const ClientInfo& client, const Params& form,
                                         const std::string& jkt, Response& res) {
  const std::string device_code = get(form, "device_code");
  if (device_code.empty()) {
    return oauth_error(res, 400, "invalid_request", "device_code is missing");
  }
  answer_tokens(res, state_.poll_device(client.id, device_code, jkt, get(form, "resource")));
}

}  // namespace freshtoken::mock
