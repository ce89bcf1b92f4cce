// Fuzzes error_from_response: a non-2xx answer (status, Retry-After, body) turned into an
// Error. Input format, so that seeds stay readable: "<status>\n<Retry-After>\n<body>"; an
// empty second line means no Retry-After header.
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "freshtoken/http.hpp"
#include "fuzz_support.hpp"
#include "oauth_parsing.hpp"

using namespace freshtoken;
using namespace freshtoken::detail;

namespace {

std::string_view take_line(std::string_view& rest) {
  const auto newline = rest.find('\n');
  std::string_view line = rest.substr(0, newline);
  rest = newline == std::string_view::npos ? std::string_view{} : rest.substr(newline + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = fuzz::as_text(data, size);
  const std::string_view status_line = take_line(rest);
  const std::string_view retry_after = take_line(rest);
  const std::string_view body = rest;

  Response response;
  for (char c : status_line.substr(0, 3)) {
    if (c < '0' || c > '9') break;
    response.status = response.status * 10 + (c - '0');
  }
  if (!retry_after.empty()) response.headers.add("Retry-After", std::string(retry_after));
  response.body = std::string(body);

  const TimePoint now{std::chrono::seconds(1'700'000'000)};
  const Error error = error_from_response(response, now, "refresh_token grant");

  FUZZ_CHECK(error.http_status() == response.status);
  FUZZ_CHECK(error.code() == ErrorCode::token_endpoint ||
             error.code() == ErrorCode::invalid_response);
  FUZZ_CHECK(error.message().rfind("refresh_token grant", 0) == 0);
  FUZZ_CHECK(!fuzz::leaks_canary(fuzz::as_text(data, size), error.message()));

  // An OAuth body on a 4xx/5xx always wins, and is then a token_endpoint error.
  const auto oauth = response.status >= 400 ? parse_oauth_error(body) : std::nullopt;
  FUZZ_CHECK(oauth.has_value() == error.oauth().has_value());
  if (oauth) {
    FUZZ_CHECK(error.code() == ErrorCode::token_endpoint);
    FUZZ_CHECK(error.oauth()->error == oauth->error);
  }
  const bool transient = response.status == 408 || response.status == 429 ||
                         (response.status >= 500 && response.status <= 599);
  if (!oauth) {
    FUZZ_CHECK((error.code() == ErrorCode::token_endpoint) == transient);
  }

  const auto expected_delay =
      retry_after.empty() ? std::nullopt : parse_retry_after(retry_after, now);
  FUZZ_CHECK(error.retry_after() == expected_delay);
  if (error.retry_after()) {
    FUZZ_CHECK(error.retry_after()->count() >= 0);
    FUZZ_CHECK(*error.retry_after() <= kMaxRetryAfter);
  }
  (void)error.to_string();
  return 0;
}
