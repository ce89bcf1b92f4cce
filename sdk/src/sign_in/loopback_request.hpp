// The loopback redirect listener's request handling as pure functions (internal): parsing the
// request head a browser sends, and deciding what one request means for the sign-in. No I/O
// here, so a fuzzer can drive it directly.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "freshtoken/error.hpp"
#include "freshtoken/secret.hpp"

namespace freshtoken::detail {

// A request head (request line and header fields) larger than this is refused.
constexpr std::size_t kMaxRequestHeadBytes = 8 * 1024;

struct RequestLine {
  std::string method;
  std::string path;   // the request-target up to '?'
  std::string query;  // after '?', still form-encoded; empty when absent
};

// Parses "GET /callback?a=b HTTP/1.1" (no CRLF). nullopt for anything else: a missing part,
// control characters, a target not in origin-form, or a version other than HTTP/1.x.
std::optional<RequestLine> parse_request_line(std::string_view line);

enum class HeadStatus { incomplete, complete, too_large };
// Whether `received` holds a whole request head (ended by an empty line). On `complete`,
// `request_line` is set to the first line without its line ending.
HeadStatus find_request_head(std::string_view received, std::string_view* request_line);

struct RedirectExpectation {
  std::string path = "/callback";
  Secret state;
  std::string issuer;
  // The server advertised authorization_response_iss_parameter_supported: `iss` is required.
  bool require_iss = false;
};

struct RedirectOutcome {
  enum class Kind {
    bad_request,         // unparseable: answer 400, keep waiting
    not_found,           // another path: answer 404, keep waiting
    method_not_allowed,  // the right path with another method: answer 405, keep waiting
    unsolicited,         // no state or another one: not this sign-in's; answer 400, keep waiting
    failed,              // the redirect arrived (right state) and says no: fail the sign-in
    accepted,            // the redirect with a code and the right state
  };
  Kind kind = Kind::bad_request;
  Secret code;                 // accepted only
  std::optional<Error> error;  // failed only
  std::string reason;          // failed only: safe to show on the page (contains no secret)
};

// Decides what the request with this request line means for the sign-in. Only a redirect that
// carries this sign-in's state can end it: anyone on the machine can send the others. The
// parsed query's copies of the code and state are wiped before it returns.
RedirectOutcome evaluate_redirect(std::string_view request_line,
                                  const RedirectExpectation& expected);

// The full HTTP response for the browser: a small HTML page. `message` is HTML-escaped here.
std::string http_page(int status, std::string_view title, std::string_view message);

}  // namespace freshtoken::detail
