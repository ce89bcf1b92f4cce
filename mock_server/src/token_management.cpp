// /revoke (RFC 7009) and /introspect (RFC 7662).
#include "client_auth.hpp"
#include "server_impl.hpp"

namespace freshtoken::mock {

using namespace detail;

namespace {
// The `token` parameter both endpoints take; empty once its absence has been answered.
std::string token_of(const Params& form, httplib::Response& res) {
  std::string token = get(form, "token");
  if (token.empty()) oauth_error(res, 400, "invalid_request", "token is missing");
  return token;
}
}  // namespace

void MockServer::Impl::revoke(const Request& req, Response& res) {
  const auto post = read_client_post(req, res);
  if (!post) return;
  const std::string token = token_of(post->form, res);
  if (token.empty()) return;
  std::string jkt;  // a proof is checked when one came, but revocation needs none
  if (req.has_header("DPoP") && !authorization_dpop(req, res, *post->client, jkt)) return;
  state_.revoke_token(post->client->id, token);
  res.status = 200;  // RFC 7009 §2.2: also for unknown tokens
}

void MockServer::Impl::introspect(const Request& req, Response& res) {
  const auto post = read_client_post(req, res);
  if (!post) return;
  const std::string token = token_of(post->form, res);
  if (token.empty()) return;
  if (auto claims = state_.valid_access_claims(token)) {
    json answer = *claims;
    answer["active"] = true;
    answer["token_type"] = answer.contains("cnf") ? "DPoP" : "Bearer";
    return send_json(res, 200, answer);
  }
  if (auto answer = state_.introspect_refresh_token(token)) return send_json(res, 200, *answer);
  send_json(res, 200, {{"active", false}});
}

}  // namespace freshtoken::mock
