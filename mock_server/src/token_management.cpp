// /revoke (RFC 7009) and /introspect (RFC 7662).
#include "client_auth.hpp"
#include "server_impl.hpp"

namespace freshtoken::mock {

using namespace detail;

void MockServer::Impl::revoke(const Request& req, Response& res) {
  const auto form = read_form_post(req, res);
  if (!form) return;
  const ClientAuth auth = authenticate_client(req, *form);
  if (auth.client == nullptr) return answer_client_error(res, auth);
  const std::string token = get(*form, "token");
  if (token.empty()) return oauth_error(res, 400, "invalid_request", "token is missing");
  state_.revoke_token(auth.client->id, token);
  res.status = 200;  // RFC 7009 §2.2: also for unknown tokens
}

void MockServer::Impl::introspect(const Request& req, Response& res) {
  const auto form = read_form_post(req, res);
  if (!form) return;
  const ClientAuth auth = authenticate_client(req, *form);
  if (auth.client == nullptr) return answer_client_error(res, auth);
  const std::string token = get(*form, "token");
  if (token.empty()) return oauth_error(res, 400, "invalid_request", "token is missing");
  if (auto claims = state_.valid_access_claims(token)) {
    json answer = *claims;
    answer["active"] = true;
    answer["token_type"] = "Bearer";
    return send_json(res, 200, answer);
  }
  if (auto answer = state_.introspect_refresh_token(token)) return send_json(res, 200, *answer);
  send_json(res, 200, {{"active", false}});
}

}  // namespace freshtoken::mock
