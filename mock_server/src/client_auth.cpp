#include "client_auth.hpp"

#include <algorithm>
#include <cctype>

#include "util/encoding.hpp"

namespace freshtoken::mock::detail {

ClientAuth authenticate_client(const httplib::Request& req, const Params& form) {
  ClientAuth auth;
  auto fail = [&](int status, const std::string& error, const std::string& description) {
    auth.client = nullptr;
    auth.status = status;
    auth.error = error;
    auth.description = description;
    return auth;
  };
  std::string id = get(form, "client_id");
  std::string secret;
  const bool has_post_secret = form.count("client_secret") != 0;
  const std::string header = req.get_header_value("Authorization");
  if (!header.empty()) {
    if (header.size() < 6 ||
        !std::equal(header.begin(), header.begin() + 6, "Basic ",
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return fail(401, "invalid_client", "Unsupported client authentication scheme");
    }
    auth.used_basic = true;
    const auto decoded = util::base64_decode(header.substr(6));
    const auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return fail(401, "invalid_client", "Malformed Basic credentials");
    }
    // RFC 6749 §2.3.1: both halves are form-encoded before base64.
    const auto basic_id = util::form_decode(decoded->substr(0, colon));
    const auto basic_secret = util::form_decode(decoded->substr(colon + 1));
    if (!basic_id || !basic_secret)
      return fail(401, "invalid_client", "Malformed Basic credentials");
    if (has_post_secret) {
      return fail(400, "invalid_request", "More than one client authentication method was used");
    }
    if (!id.empty() && id != *basic_id) {
      return fail(400, "invalid_request", "client_id does not match the Basic credentials");
    }
    id = *basic_id;
    secret = *basic_secret;
  } else if (has_post_secret) {
    secret = get(form, "client_secret");
  }
  if (id.empty()) return fail(401, "invalid_client", "Client authentication is required");
  const ClientInfo* client = find_client(id);
  if (client == nullptr) return fail(401, "invalid_client", "Unknown client");
  if (client->confidential()) {
    if (!auth.used_basic && !has_post_secret) {
      return fail(401, "invalid_client", "This client must authenticate");
    }
    if (!equal_secret(secret, client->secret)) {
      return fail(401, "invalid_client", "Client authentication failed");
    }
  } else if (auth.used_basic || has_post_secret) {
    return fail(401, "invalid_client", "A public client has no secret");
  }
  auth.client = client;
  return auth;
}

void answer_client_error(httplib::Response& res, const ClientAuth& auth) {
  oauth_error(res, auth.status, auth.error, auth.description);
  if (auth.status == 401 && auth.used_basic) {
    res.set_header("WWW-Authenticate", "Basic realm=\"freshtoken-mock\"");
  }
}

std::optional<ClientPost> read_client_post(const httplib::Request& req, httplib::Response& res,
                                           std::vector<std::string>* resources) {
  auto form = read_form_post(req, res, resources);
  if (!form) return std::nullopt;
  const ClientAuth auth = authenticate_client(req, *form);
  if (auth.client == nullptr) {
    answer_client_error(res, auth);
    return std::nullopt;
  }
  return ClientPost{std::move(*form), auth.client};
}

}  // namespace freshtoken::mock::detail
