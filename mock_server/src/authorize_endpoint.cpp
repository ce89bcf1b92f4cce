// /authorize: the authorization code flow's browser side (RFC 6749 §4.1 with PKCE, RFC 9207's
// iss in the redirect) and its HTML sign-in page.
#include <cctype>
#include <utility>
#include <vector>

#include "server_impl.hpp"
#include "util/encoding.hpp"

namespace freshtoken::mock {

using namespace detail;

namespace {

// RFC 8252 §7.3: http on a loopback IP literal, any port, any path.
bool loopback_redirect_ok(const std::string& uri) {
  std::string rest;
  if (uri.rfind("http://127.0.0.1", 0) == 0) {
    rest = uri.substr(16);
  } else if (uri.rfind("http://[::1]", 0) == 0) {
    rest = uri.substr(12);
  } else {
    return false;
  }
  std::size_t i = 0;
  if (i < rest.size() && rest[i] == ':') {
    ++i;
    const std::size_t digits_start = i;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) ++i;
    const std::size_t digits = i - digits_start;
    if (digits == 0 || digits > 5 || std::stol(rest.substr(digits_start, digits)) > 65535) {
      return false;
    }
  }
  if (i < rest.size() && rest[i] != '/' && rest[i] != '?') return false;
  for (char c : rest) {
    if (c == '#' || static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

// The redirect back to the client: `fields`, then state and iss.
void redirect_to_client(httplib::Response& res, const Params& p, const std::string& iss,
                        util::FormFields fields) {
  const std::string redirect_uri = get(p, "redirect_uri");
  const std::string state = get(p, "state");
  if (!state.empty()) fields.emplace_back("state", state);
  fields.emplace_back("iss", iss);
  const char separator = redirect_uri.find('?') == std::string::npos ? '?' : '&';
  res.status = 302;
  res.set_header("Location", redirect_uri + separator + util::form_encode(fields));
  res.set_header("Cache-Control", "no-store");
}

// response_type, PKCE and scope; the error to redirect with, or nullopt with `scope` set.
std::optional<OAuthError> check_authorize_request(const Params& p, const ClientInfo& client,
                                                  std::vector<std::string>& scope) {
  const std::string response_type = get(p, "response_type");
  if (response_type.empty()) return OAuthError{400, "invalid_request", "response_type is missing"};
  if (response_type != "code") {
    return OAuthError{400, "unsupported_response_type", "Only response_type=code is supported"};
  }
  const std::string challenge = get(p, "code_challenge");
  if (challenge.empty())
    return OAuthError{400, "invalid_request", "PKCE code_challenge is required"};
  if (get(p, "code_challenge_method") != "S256") {
    return OAuthError{400, "invalid_request", "code_challenge_method must be S256"};
  }
  if (challenge.size() != 43 || !util::base64url_decode(challenge)) {
    return OAuthError{400, "invalid_request", "code_challenge is not a base64url SHA-256"};
  }
  scope = split_scope(p.count("scope") == 0 ? client.default_scope : get(p, "scope"));
  if (scope.empty()) return OAuthError{400, "invalid_scope", "The scope is empty"};
  for (const auto& s : scope) {
    if (client.scopes.count(s) == 0) return OAuthError{400, "invalid_scope", "Unknown scope: " + s};
  }
  return std::nullopt;
}

// The sign-in form; the request's parameters (every `resource` too) ride along as hidden
// fields.
void send_sign_in_page(httplib::Response& res, const Params& p,
                       const std::vector<std::string>& resources, const std::string& scope,
                       bool failed) {
  std::string hidden;
  auto add_hidden = [&hidden](const std::string& name, const std::string& value) {
    hidden += "<input type=\"hidden\" name=\"" + util::html_escape(name) + "\" value=\"" +
              util::html_escape(value) + "\">\n";
  };
  for (const auto& [name, value] : p) {
    if (name == "username" || name == "password" || name == "action") continue;
    add_hidden(name, value);
  }
  for (const auto& resource : resources) add_hidden("resource", resource);
  send_html(res, 200, "Sign in to freshtoken mock",
            std::string(failed ? "<p class=\"error\">Wrong user name or password.</p>\n" : "") +
                "<p>Client <b>" + util::html_escape(get(p, "client_id")) +
                "</b> asks for: " + util::html_escape(scope) +
                "</p>\n<form method=\"post\" action=\"/authorize\">\n" + hidden +
                "<label>User <input name=\"username\" value=\"alice\"></label>\n"
                "<label>Password <input name=\"password\" type=\"password\"></label>\n"
                "<button name=\"action\" value=\"approve\">Sign in</button>\n"
                "<button name=\"action\" value=\"deny\">Deny</button>\n</form>");
}

}  // namespace

namespace detail {

std::optional<Params> page_params(const httplib::Request& req, const char* not_form,
                                  httplib::Response& res, std::vector<std::string>* resources) {
  std::string error;
  std::optional<Params> params;
  if (req.method == "POST") {
    params = is_form(req) ? parse_form(req.body, error, resources) : std::nullopt;
    if (!is_form(req)) error = not_form;
  } else {
    params = query_params(req, error, resources);
  }
  if (!params) send_html(res, 400, "Invalid request", "<p>" + util::html_escape(error) + "</p>");
  return params;
}

}  // namespace detail

void MockServer::Impl::authorize(const Request& req, Response& res) {
  std::vector<std::string> resources;
  const auto params = page_params(req, "The sign-in form must be application/x-www-form-urlencoded",
                                  res, &resources);
  if (!params) return;
  const Params& p = *params;
  const ClientInfo* client = find_client(get(p, "client_id"));
  // Without a trustworthy redirect URI the error is shown to the user, never redirected.
  if (client == nullptr) {
    return send_html(res, 400, "Unknown client", "<p>The client_id is missing or unknown.</p>");
  }
  if (client->confidential() || !loopback_redirect_ok(get(p, "redirect_uri"))) {
    return send_html(res, 400, "Invalid redirect URI",
                     "<p>The redirect_uri is not registered for this client (loopback "
                     "http://127.0.0.1:&lt;port&gt;/&lt;path&gt; only).</p>");
  }
  const std::string iss = state_.issuer();
  std::vector<std::string> scope;
  if (const auto error = check_authorize_request(p, *client, scope)) {
    return redirect_to_client(res, p, iss,
                              {{"error", error->error}, {"error_description", error->description}});
  }
  // RFC 8707 §2: every resource must be one of the APIs; the code keeps them for /token.
  if (const auto apis = find_apis(state_, resources); !apis) {
    return redirect_to_client(
        res, p, iss,
        {{"error", apis.error().error}, {"error_description", apis.error().description}});
  }
  // RFC 9449 §10: the code will be bound to this key thumbprint (a base64url SHA-256).
  const std::string dpop_jkt =
      dpop_mode(client->id) == DpopMode::off ? std::string() : get(p, "dpop_jkt");
  if (p.count("dpop_jkt") != 0 && dpop_mode(client->id) != DpopMode::off) {
    const auto bytes = util::base64url_decode(dpop_jkt);
    if (dpop_jkt.size() != 43 || !bytes || bytes->size() != 32) {
      return redirect_to_client(res, p, iss,
                                {{"error", "invalid_request"},
                                 {"error_description", "dpop_jkt is not a JWK thumbprint"}});
    }
  }
  std::string user;
  if (options().auto_approve) {
    user = "alice";
  } else if (req.method == "POST" && get(p, "action") == "deny") {
    return redirect_to_client(
        res, p, iss,
        {{"error", "access_denied"}, {"error_description", "The user denied the request"}});
  } else if (req.method == "POST") {
    user = get(p, "username");
    if (!check_password(user, get(p, "password"))) user.clear();
  }
  if (user.empty()) {
    return send_sign_in_page(res, p, resources, join_scope(scope), req.method == "POST");
  }
  const std::string code = state_.issue_code(
      CodeGrant{client->id, get(p, "redirect_uri"), get(p, "code_challenge"), user,
                join_scope(scope), get(p, "nonce"), dpop_jkt, std::move(resources)});
  redirect_to_client(res, p, iss, {{"code", code}});
}

}  // namespace freshtoken::mock
