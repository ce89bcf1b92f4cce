// Client authentication at the mock server's form endpoints (internal): `none` for public
// clients, client_secret_basic and client_secret_post for confidential ones (RFC 6749 §2.3).
// Thread safety: free functions without shared state.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <httplib.h>

#include "http_util.hpp"
#include "registry.hpp"

namespace freshtoken::mock::detail {

// What a successful client authentication (or identification, for public clients) yields.
struct ClientAuth {
  const ClientInfo* client = nullptr;
  int status = 0;  // non-zero: an error to answer
  std::string error, description;
  bool used_basic = false;
};

ClientAuth authenticate_client(const httplib::Request& req, const Params& form);
// Answers the failure `auth` describes (with a Basic challenge when Basic was used).
void answer_client_error(httplib::Response& res, const ClientAuth& auth);

// A form POST from an authenticated client.
struct ClientPost {
  Params form;
  const ClientInfo* client = nullptr;
};
// The form and its client, or nothing once the error (not a form POST, client authentication
// failed) has been answered.
// With `resources`, as read_form_post's.
std::optional<ClientPost> read_client_post(const httplib::Request& req, httplib::Response& res,
                                           std::vector<std::string>* resources = nullptr);

}  // namespace freshtoken::mock::detail
