// The bearer-protected resources: /userinfo (OpenID Connect) and the two demo APIs, /api/ on
// the issuer's port and /files/ on its own (RFC 6750 answers for missing, bad, under-scoped and
// other APIs' tokens; RFC 9449 §7 for DPoP-bound ones).
#include <algorithm>
#include <cctype>
#include <vector>

#include "server_impl.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken::mock {

using namespace detail;

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// What /api/echo answers: the request as the server saw it, the token itself redacted.
json echo_of(const httplib::Request& req, const json& claims) {
  json headers = json::object();
  for (const auto& [name, value] : req.headers) {
    const std::string key = lower(name);
    // The token itself never comes back in a body that a demo might print.
    const std::string shown =
        key == "authorization" ? value.substr(0, value.find(' ')) + " [redacted]" : value;
    if (headers.contains(key)) {
      headers[key] = headers[key].get<std::string>() + ", " + shown;
    } else {
      headers[key] = shown;
    }
  }
  json query = json::object();
  for (const auto& [name, value] : req.params) query[name] = value;
  const std::string authorization = req.get_header_value("Authorization");
  std::string token = authorization.substr(std::min(authorization.size(), authorization.find(' ')));
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  return {{"method", req.method},
          {"path", req.path},
          {"query", query},
          {"headers", headers},
          {"body", req.body},
          {"sub", string_member(claims, "sub")},
          {"jti", string_member(claims, "jti")},
          {"token_sha256", util::hex(util::sha256(token))}};
}

}  // namespace

std::optional<json> MockServer::Impl::check_bearer(const Request& req, Response& res,
                                                   const std::string& required_scope,
                                                   std::optional<ApiId> api) {
  const bool dpop_on = dpop_enabled();
  // RFC 8707 / RFC 9068 §4: an API takes only tokens whose aud is its own resource.
  const std::optional<ApiLocation> location =
      api ? std::optional<ApiLocation>(state_.api_location(*api)) : std::nullopt;
  // `challenges`: the WWW-Authenticate values, one header each (RFC 9110 §11.6.1).
  auto refuse = [&](int status, const std::vector<std::string>& challenges,
                    const std::string& error, const std::string& description) {
    for (const auto& challenge : challenges) res.headers.emplace("WWW-Authenticate", challenge);
    if (error.empty()) {
      send_json(res, status, {{"error", "unauthorized"}, {"error_description", description}});
    } else {
      oauth_error(res, status, error, description);
    }
    if (api) state_.count_api_refusal(*api, status);
    return std::nullopt;
  };
  // RFC 9449 §7.1: a DPoP challenge names the algorithms the server takes.
  auto dpop_challenge = [](const std::string& error, const std::string& description) {
    std::string challenge = "DPoP ";
    if (!error.empty()) {
      challenge += "error=\"" + error + "\", error_description=\"" + description + "\", ";
    }
    return challenge + "algs=\"ES256\"";
  };
  const std::string header = req.get_header_value("Authorization");
  const std::size_t headers = req.get_header_value_count("Authorization");
  const std::string scheme = lower(header.substr(0, header.find(' ')));
  const bool dpop_scheme = dpop_on && scheme == "dpop";
  if (headers == 0 || (scheme != "bearer" && !dpop_scheme)) {
    std::vector<std::string> challenges;
    if (options().dpop != DpopMode::required) challenges.emplace_back("Bearer");
    if (dpop_on) challenges.push_back(dpop_challenge("", ""));
    return refuse(401, challenges, "", "An access token is required");
  }
  std::string token = header.substr(std::min(header.size(), scheme.size()));
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  if (headers > 1 || token.empty() || token.find(' ') != std::string::npos) {
    res.set_header("WWW-Authenticate", dpop_scheme
                                           ? "DPoP error=\"invalid_request\", algs=\"ES256\""
                                           : "Bearer error=\"invalid_request\"");
    oauth_error(res, 400, "invalid_request", "Malformed Authorization header");
    return std::nullopt;
  }
  if (dpop_scheme && options().dpop_nonce) {
    res.set_header("DPoP-Nonce", state_.dpop_nonce(DpopServer::resource));
  }
  auto claims = state_.valid_access_claims(token, location ? &location->resource : nullptr);
  const std::string bad_token = "The access token is invalid, expired or revoked";
  if (!claims) {
    return refuse(401,
                  {dpop_scheme ? dpop_challenge("invalid_token", bad_token)
                               : "Bearer error=\"invalid_token\""},
                  "invalid_token", bad_token);
  }
  const auto cnf = claims->find("cnf");
  const std::string bound_jkt =
      cnf != claims->end() && cnf->is_object() ? string_member(*cnf, "jkt") : std::string();
  if (!dpop_scheme && !bound_jkt.empty()) {
    // RFC 9449 §7.2: a DPoP-bound token presented as a bearer token is refused; without the
    // key, a copy of it is worth nothing.
    state_.count_dpop_rejection(DpopReject::missing);
    const std::string text = "The access token is DPoP-bound: present it with a DPoP proof";
    return refuse(401, {dpop_challenge("invalid_token", text)}, "invalid_token", text);
  }
  if (dpop_scheme) {
    if (bound_jkt.empty()) {
      const std::string text = "The access token is not DPoP-bound";
      return refuse(401, {dpop_challenge("invalid_token", text)}, "invalid_token", text);
    }
    DpopProof proof =
        check_dpop(req, DpopServer::resource, &token, location ? &location->origin : nullptr);
    if (proof.reason == DpopReject::none && proof.jkt != bound_jkt) {
      proof.reason = DpopReject::key_mismatch;
      proof.description = "The DPoP proof's key is not the one the access token is bound to";
      state_.count_dpop_rejection(proof.reason);
    }
    if (proof.reason == DpopReject::nonce) {
      return refuse(401, {dpop_challenge("use_dpop_nonce", proof.description)}, "use_dpop_nonce",
                    proof.description);
    }
    if (proof.reason != DpopReject::none) {
      return refuse(401, {dpop_challenge("invalid_dpop_proof", proof.description)},
                    "invalid_dpop_proof", proof.description);
    }
  }
  if (!required_scope.empty() && !has_scope(string_member(*claims, "scope"), required_scope)) {
    const std::string description = "This needs scope " + required_scope;
    const std::string params = "error=\"insufficient_scope\", scope=\"" + required_scope + "\"";
    return refuse(403, {dpop_scheme ? "DPoP " + params + ", algs=\"ES256\"" : "Bearer " + params},
                  "insufficient_scope", description);
  }
  return claims;
}

void MockServer::Impl::userinfo(const Request& req, Response& res) {
  const auto claims = check_bearer(req, res, "openid", std::nullopt);
  if (!claims) return;
  const std::string sub = string_member(*claims, "sub");
  json answer = {{"sub", sub}};
  if (has_scope(string_member(*claims, "scope"), "profile") && known_user(sub)) {
    answer["name"] = display_name(sub);
    answer["preferred_username"] = sub;
  }
  send_json(res, 200, answer);
}

// Both APIs answer alike under their own prefix: `me`, `echo`, and `admin` (scope admin).
void MockServer::Impl::api(ApiId which, const Request& req, Response& res) {
  const char* prefix = which == ApiId::files ? "/files/" : "/api/";
  const std::string path = req.path.substr(std::char_traits<char>::length(prefix));
  const bool admin = path == "admin" || path.rfind("admin/", 0) == 0;
  const auto claims = check_bearer(req, res, admin ? "admin" : "api", which);
  if (!claims) return;
  if (path == "me") {
    if (req.method != "GET") return oauth_error(res, 405, "invalid_request", "GET only");
    return send_json(res, 200,
                     {{"sub", string_member(*claims, "sub")},
                      {"client_id", string_member(*claims, "client_id")},
                      {"scope", string_member(*claims, "scope")},
                      {"resource", string_member(*claims, "aud")}});
  }
  if (path == "echo" || admin) return send_json(res, 200, echo_of(req, *claims));
  oauth_error(res, 404, "not_found", "No such API resource");
}

}  // namespace freshtoken::mock
