// Fuzzes the loopback redirect listener's request handling: finding the request head in what
// a browser (or anything else on 127.0.0.1) sent, parsing the request line, and deciding what
// the redirect means. Properties: a sign-in is accepted only with the expected state and a
// code; the page text never repeats the code or the state; HTML escaping leaves no markup.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "sign_in/loopback_request.hpp"
#include "util/encoding.hpp"

using namespace freshtoken;
using namespace freshtoken::detail;

namespace {

// The state the listener waits for contains the canary, as a secret would.
const std::string kState = "st-" + std::string(fuzz::kCanary);

bool has_control_characters(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// Whether the canary reached the decision through a field that is shown by design (the
// server's own error and error_description), rather than through the code or the state.
bool canary_in_shown_fields(std::string_view query) {
  auto fields = util::form_decode_fields(query);
  if (!fields) return false;
  for (const auto& [name, value] : *fields) {
    if ((name == "error" || name == "error_description") && fuzz::contains(value, fuzz::kCanary))
      return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view received = fuzz::as_text(data, size);

  std::string_view line;
  const HeadStatus status = find_request_head(received, &line);
  if (status == HeadStatus::too_large) FUZZ_CHECK(received.size() >= kMaxRequestHeadBytes);
  if (status != HeadStatus::complete) {
    // Still decide on the first line: the parser must take any bytes.
    line = received.substr(0, received.find('\n'));
  } else {
    FUZZ_CHECK(line.find('\n') == std::string_view::npos);
    FUZZ_CHECK(received.substr(0, line.size()) == line);
  }

  const auto request = parse_request_line(line);
  if (request) {
    FUZZ_CHECK(!request->method.empty());
    FUZZ_CHECK(!request->path.empty() && request->path.front() == '/');
    FUZZ_CHECK(request->path.find('?') == std::string::npos);
    FUZZ_CHECK(!has_control_characters(request->path) && !has_control_characters(request->query));
  }

  for (const bool require_iss : {false, true}) {
    RedirectExpectation expected;
    expected.state = Secret(std::string_view(kState));
    expected.issuer = "https://issuer.example";
    expected.require_iss = require_iss;
    const RedirectOutcome outcome = evaluate_redirect(line, expected);
    using Kind = RedirectOutcome::Kind;
    FUZZ_CHECK(outcome.error.has_value() == (outcome.kind == Kind::failed));
    FUZZ_CHECK(!outcome.code.empty() == (outcome.kind == Kind::accepted));
    if (outcome.kind != Kind::bad_request) FUZZ_CHECK(request.has_value());
    if (outcome.kind == Kind::accepted) {
      FUZZ_CHECK(request->method == "GET" && request->path == expected.path);
      FUZZ_CHECK(fuzz::contains(request->query, "state="));
    }
    if (outcome.kind == Kind::failed) {
      FUZZ_CHECK(!outcome.reason.empty() && !has_control_characters(outcome.reason));
      if (!canary_in_shown_fields(request->query)) {
        FUZZ_CHECK(!fuzz::contains(outcome.reason, fuzz::kCanary));
        FUZZ_CHECK(!fuzz::contains(outcome.error->message(), fuzz::kCanary));
        if (outcome.error->oauth()) {
          FUZZ_CHECK(!fuzz::contains(outcome.error->oauth()->description, fuzz::kCanary));
        }
      }
      const std::string page = http_page(400, "Sign-in failed", outcome.reason);
      FUZZ_CHECK(page.rfind("HTTP/1.1 400 ", 0) == 0);
    }
  }

  const std::string escaped = util::html_escape(received);
  FUZZ_CHECK(escaped.find_first_of("<>\"'") == std::string::npos);
  return 0;
}
