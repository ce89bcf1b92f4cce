// The device authorization grant's HTTP side (RFC 8628): /device_authorization starts it and
// /device is the verification page where the user approves or denies a user code.
#include <stdexcept>

#include "client_auth.hpp"
#include "server_impl.hpp"
#include "util/encoding.hpp"

namespace freshtoken::mock {

using namespace detail;

void MockServer::Impl::device_authorization(const Request& req, Response& res) {
  std::vector<std::string> resources;
  const auto post = read_client_post(req, res, &resources);
  if (!post) return;
  const ClientInfo* client = post->client;
  const Params& form = post->form;
  if (client->grants.count(kGrantDevice) == 0) {
    return oauth_error(res, 400, "unauthorized_client", "This client may not use the device flow");
  }
  const std::string scope = form.count("scope") ? get(form, "scope") : client->default_scope;
  const auto items = split_scope(scope);
  if (items.empty()) return oauth_error(res, 400, "invalid_scope", "The scope is empty");
  for (const auto& s : items) {
    if (client->scopes.count(s) == 0) {
      return oauth_error(res, 400, "invalid_scope", "Unknown scope: " + s);
    }
  }
  // RFC 8707 §2: every resource must be one of the APIs; the device code keeps them for /token.
  if (const auto apis = find_apis(state_, resources); !apis) {
    return answer_oauth_error(res, apis.error());
  }
  const DeviceCodes codes = state_.start_device(client->id, join_scope(items), resources);
  const std::string iss = state_.issuer();
  send_json(res, 200,
            {{"device_code", codes.device_code},
             {"user_code", codes.user_code},
             {"verification_uri", iss + "/device"},
             {"verification_uri_complete", iss + "/device?user_code=" + codes.user_code},
             {"expires_in", options().device_code_ttl.count()},
             {"interval", options().device_interval.count()}});
}

void MockServer::Impl::device_page(const Request& req, Response& res) {
  const auto params = page_params(req, "The form must be application/x-www-form-urlencoded", res);
  if (!params) return;
  const std::string user_code = get(*params, "user_code");
  if (req.method == "POST") {
    const std::string user = get(*params, "username");
    try {
      if (get(*params, "action") == "deny") {
        state_.deny_device(user_code);
        return send_html(res, 200, "Request denied", "<p>You may close this window.</p>");
      }
      if (!check_password(user, get(*params, "password"))) {
        return send_html(res, 401, "Sign-in failed", "<p>Wrong user name or password.</p>");
      }
      state_.approve_device(user_code, user);
      return send_html(res, 200, "Device approved", "<p>Return to your device.</p>");
    } catch (const std::invalid_argument&) {
      return send_html(res, 400, "Unknown code", "<p>That code is unknown or already used.</p>");
    }
  }
  send_html(res, 200, "Connect a device",
            "<form method=\"post\" action=\"/device\">\n"
            "<label>Code <input name=\"user_code\" value=\"" +
                util::html_escape(user_code) +
                "\"></label>\n"
                "<label>User <input name=\"username\" value=\"alice\"></label>\n"
                "<label>Password <input name=\"password\" type=\"password\"></label>\n"
                "<button name=\"action\" value=\"approve\">Approve</button>\n"
                "<button name=\"action\" value=\"deny\">Deny</button>\n</form>");
}

}  // namespace freshtoken::mock
