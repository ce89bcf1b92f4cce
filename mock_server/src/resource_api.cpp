// The bearer-protected resources: /userinfo (OpenID Connect) and the demo API under /api/
// (RFC 6750 answers for missing, bad and under-scoped tokens).
#include <algorithm>
#include <cctype>

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
    const std::string shown = key == "authorization" ? "Bearer [redacted]" : value;
    if (headers.contains(key)) {
      headers[key] = headers[key].get<std::string>() + ", " + shown;
    } else {
      headers[key] = shown;
    }
  }
  json query = json::object();
  for (const auto& [name, value] : req.params) query[name] = value;
  const std::string token = req.get_header_value("Authorization").substr(7);
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
                                                   bool count_api) {
  auto refuse = [&](int status, const std::string& challenge, const std::string& error,
                    const std::string& description) {
    res.set_header("WWW-Authenticate", challenge);
    if (error.empty()) {
      send_json(res, status, {{"error", "unauthorized"}, {"error_description", description}});
    } else {
      oauth_error(res, status, error, description);
    }
    if (count_api) state_.count_api_refusal(status);
    return std::nullopt;
  };
  const std::string header = req.get_header_value("Authorization");
  const std::size_t headers = req.get_header_value_count("Authorization");
  if (headers == 0 || lower(header.substr(0, header.find(' '))) != "bearer") {
    return refuse(401, "Bearer", "", "An access token is required");
  }
  std::string token = header.size() > 7 ? header.substr(7) : std::string();
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  if (headers > 1 || token.empty() || token.find(' ') != std::string::npos) {
    res.set_header("WWW-Authenticate", "Bearer error=\"invalid_request\"");
    oauth_error(res, 400, "invalid_request", "Malformed Authorization header");
    return std::nullopt;
  }
  auto claims = state_.valid_access_claims(token);
  if (!claims) {
    return refuse(401, "Bearer error=\"invalid_token\"", "invalid_token",
                  "The access token is invalid, expired or revoked");
  }
  if (!required_scope.empty() && !has_scope(string_member(*claims, "scope"), required_scope)) {
    return refuse(403, "Bearer error=\"insufficient_scope\", scope=\"" + required_scope + "\"",
                  "insufficient_scope", "This needs scope " + required_scope);
  }
  return claims;
}

void MockServer::Impl::userinfo(const Request& req, Response& res) {
  const auto claims = check_bearer(req, res, "openid", false);
  if (!claims) return;
  const std::string sub = string_member(*claims, "sub");
  json answer = {{"sub", sub}};
  if (has_scope(string_member(*claims, "scope"), "profile") && known_user(sub)) {
    answer["name"] = display_name(sub);
    answer["preferred_username"] = sub;
  }
  send_json(res, 200, answer);
}

void MockServer::Impl::api(const Request& req, Response& res) {
  const bool admin = req.path == "/api/admin" || req.path.rfind("/api/admin/", 0) == 0;
  const auto claims = check_bearer(req, res, admin ? "admin" : "api", true);
  if (!claims) return;
  if (req.path == "/api/me") {
    if (req.method != "GET") return oauth_error(res, 405, "invalid_request", "GET only");
    return send_json(res, 200,
                     {{"sub", string_member(*claims, "sub")},
                      {"client_id", string_member(*claims, "client_id")},
                      {"scope", string_member(*claims, "scope")}});
  }
  if (req.path == "/api/echo" || admin) return send_json(res, 200, echo_of(req, *claims));
  oauth_error(res, 404, "not_found", "No such API resource");
}

}  // namespace freshtoken::mock
