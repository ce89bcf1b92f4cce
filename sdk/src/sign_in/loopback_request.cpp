#include "sign_in/loopback_request.hpp"

#include <array>
#include <utility>

#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken::detail {

namespace {

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_visible(char c) { return c > 0x20 && c < 0x7f; }

RedirectOutcome failed(ErrorCode code, std::string message, std::string reason) {
  RedirectOutcome out;
  out.kind = RedirectOutcome::Kind::failed;
  out.error = Error(code, std::move(message));
  out.reason = std::move(reason);
  return out;
}

ErrorCode code_for_authorization_error(std::string_view error) {
  static constexpr std::array<std::string_view, 4> config_errors = {
      "invalid_request", "unauthorized_client", "unsupported_response_type", "invalid_scope"};
  for (auto e : config_errors)
    if (error == e) return ErrorCode::config;
  if (error == "server_error" || error == "temporarily_unavailable") {
    return ErrorCode::token_endpoint;
  }
  // access_denied, login_required, consent_required, interaction_required, and unknown ones.
  return ErrorCode::login_required;
}

// Zeroes a string that held a code or state when the scope ends, however it ends.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& text) : text_(text) {}
  ~WipeOnExit() { util::wipe(text_); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::string& text_;
};

// A parsed query whose values (the code, the state) are zeroed when it goes.
struct WipedForm {
  util::ParsedForm form;
  ~WipedForm() {
    for (auto& field : form.fields) util::wipe(field.second);
    util::wipe(form.name);
  }
};

RedirectOutcome unsolicited() {
  RedirectOutcome out;
  out.kind = RedirectOutcome::Kind::unsolicited;
  return out;
}

// Whether any `state` in a query with repeated parameters is this sign-in's.
bool carries_state(std::string_view query, const Secret& expected) {
  auto fields = util::form_decode_fields(query);
  if (!fields) return false;
  bool found = false;
  for (auto& [name, value] : *fields) {
    if (name == "state" && !value.empty() && Secret(std::move(value)) == expected) found = true;
    util::wipe(value);
  }
  return found;
}

// The redirect with this sign-in's state: the server's answer, which ends the sign-in.
RedirectOutcome evaluate_response(const util::ParsedForm& form,
                                  const RedirectExpectation& expected) {
  const std::string* code = form.find("code");
  const std::string* iss = form.find("iss");
  const std::string* error = form.find("error");
  const std::string* description = form.find("error_description");
  if (iss) {
    if (*iss != expected.issuer) {
      return failed(ErrorCode::invalid_response,
                    "the authorization response's iss is not the expected issuer (RFC 9207)",
                    "The response came from another server than expected.");
    }
  } else if (expected.require_iss) {
    return failed(ErrorCode::invalid_response,
                  "the authorization response has no iss although the server supports it "
                  "(RFC 9207)",
                  "The response did not say which server sent it.");
  }
  if (error) {
    OAuthError oauth{util::printable(*error, 64),
                     util::printable(description ? *description : "", 200), "", ""};
    std::string reason = "The authorization server answered " + oauth.error;
    if (!oauth.description.empty()) reason += ": " + oauth.description;
    reason += ".";
    auto out_failed = failed(code_for_authorization_error(*error),
                             "the authorization server refused the sign-in", std::move(reason));
    out_failed.error->with_oauth(std::move(oauth));
    return out_failed;
  }
  if (!code || code->empty()) {
    return failed(ErrorCode::invalid_response, "the authorization response has no code",
                  "The response carried no authorization code.");
  }
  RedirectOutcome out;
  out.kind = RedirectOutcome::Kind::accepted;
  out.code = Secret(std::string_view(*code));
  return out;
}

// The query of a GET to the redirect path. Without this sign-in's state it is not the
// server's answer to it, whatever it says (RFC 6749 §10.12): it is refused and the sign-in
// goes on, so that another local process or a web page cannot end it with one request.
RedirectOutcome evaluate_query(std::string_view query, const RedirectExpectation& expected) {
  WipedForm parsed{util::parse_form(query)};
  const util::ParsedForm& form = parsed.form;
  if (form.status == util::ParsedForm::Status::malformed_escape) return RedirectOutcome{};
  if (form.status == util::ParsedForm::Status::repeated_name) {
    if (!carries_state(query, expected.state)) return unsolicited();
    // RFC 6749 §3.1: parameters must not be repeated; a repeat smells of injection.
    return failed(ErrorCode::invalid_response,
                  "the authorization response is malformed: " + form.describe(),
                  "The response from the sign-in page was malformed.");
  }
  const std::string* state = form.find("state");
  if (!state || state->empty() || Secret(std::string_view(*state)) != expected.state) {
    return unsolicited();
  }
  return evaluate_response(form, expected);
}

}  // namespace

std::optional<RequestLine> parse_request_line(std::string_view line) {
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return std::nullopt;
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return std::nullopt;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  for (char c : method)
    if (!is_token_char(c)) return std::nullopt;
  if (target.empty() || target.front() != '/') return std::nullopt;
  for (char c : target)
    if (!is_visible(c)) return std::nullopt;
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return std::nullopt;
  RequestLine out;
  out.method = std::string(method);
  auto q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  return out;
}

HeadStatus find_request_head(std::string_view received, std::string_view* request_line) {
  // A head ends with an empty line; tolerate bare LF line endings as RFC 9112 §2.2 allows.
  std::size_t end = std::string_view::npos;
  for (std::size_t i = 0; i < received.size() && i < kMaxRequestHeadBytes; ++i) {
    if (received[i] != '\n') continue;
    if (i >= 1 && received[i - 1] == '\n') {
      end = i;
      break;
    }
    if (i >= 2 && received[i - 1] == '\r' && received[i - 2] == '\n') {
      end = i;
      break;
    }
  }
  if (end == std::string_view::npos) {
    return received.size() >= kMaxRequestHeadBytes ? HeadStatus::too_large : HeadStatus::incomplete;
  }
  std::string_view line = received.substr(0, received.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (request_line) *request_line = line;
  return HeadStatus::complete;
}

RedirectOutcome evaluate_redirect(std::string_view request_line,
                                  const RedirectExpectation& expected) {
  RedirectOutcome out;
  auto line = parse_request_line(request_line);
  if (!line) return out;  // bad_request
  WipeOnExit query(line->query);
  if (line->path != expected.path) {
    out.kind = RedirectOutcome::Kind::not_found;
    return out;
  }
  if (line->method != "GET") {
    out.kind = RedirectOutcome::Kind::method_not_allowed;
    return out;
  }
  return evaluate_query(line->query, expected);
}

std::string http_page(int status, std::string_view title, std::string_view message) {
  std::string_view status_text = "OK";
  switch (status) {
    case 200:
      status_text = "OK";
      break;
    case 400:
      status_text = "Bad Request";
      break;
    case 404:
      status_text = "Not Found";
      break;
    case 405:
      status_text = "Method Not Allowed";
      break;
    case 431:
      status_text = "Request Header Fields Too Large";
      break;
    default:
      status_text = "Error";
      break;
  }
  std::string body = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" +
                     util::html_escape(title) + "</title></head>\n<body><h1>" +
                     util::html_escape(title) + "</h1>\n<p>" + util::html_escape(message) +
                     "</p></body></html>\n";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(status_text) +
                    "\r\n"
                    "Content-Type: text/html; charset=utf-8\r\n"
                    "Content-Length: " +
                    std::to_string(body.size()) +
                    "\r\n"
                    "Cache-Control: no-store\r\n"
                    "Referrer-Policy: no-referrer\r\n"
                    "X-Content-Type-Options: nosniff\r\n"
                    "Connection: close\r\n\r\n";
  if (status == 405) out.insert(out.find("Connection:"), "Allow: GET\r\n");
  return out + body;
}

}  // namespace freshtoken::detail
