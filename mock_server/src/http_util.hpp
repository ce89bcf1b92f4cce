// Request and answer helpers the mock server's endpoints share (internal): strict form and
// query decoding, JSON, OAuth error and HTML answers.
// Thread safety: free functions without shared state.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace freshtoken::mock::detail {

using json = nlohmann::json;
using Params = std::map<std::string, std::string>;

// The largest request body the server reads.
inline constexpr std::size_t kMaxPayload = 1024 * 1024;

// The strict shared decoder (util::parse_form): malformed escapes and repeated parameters
// (RFC 6749 §3.1/§3.2) are refused with `error` saying which. With `resources`, `resource` may
// repeat (RFC 8707 §2): its values go there in order, not into the Params.
std::optional<Params> parse_form(const std::string& body, std::string& error,
                                 std::vector<std::string>* resources = nullptr);
// The query of the raw request target, decoded as strictly as parse_form.
std::optional<Params> query_params(const httplib::Request& req, std::string& error,
                                   std::vector<std::string>* resources = nullptr);
// The parameter's value; empty when absent.
std::string get(const Params& params, const std::string& name);
// The member's value when it is a string; empty otherwise.
std::string string_member(const json& object, const char* key);

bool is_form(const httplib::Request& req);
// The parameters of a form POST to an OAuth endpoint (token, device authorization,
// revocation, introspection), or nullopt after answering invalid_request.
std::optional<Params> read_form_post(const httplib::Request& req, httplib::Response& res,
                                     std::vector<std::string>* resources = nullptr);

void send_json(httplib::Response& res, int status, const json& body);
// An RFC 6749 §5.2 error answer.
void oauth_error(httplib::Response& res, int status, const std::string& code,
                 const std::string& description);
// A small HTML page; `title` is escaped here, `body` is HTML already.
void send_html(httplib::Response& res, int status, const std::string& title,
               const std::string& body);

}  // namespace freshtoken::mock::detail
