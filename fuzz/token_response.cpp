// Fuzzes the token endpoint's success body (RFC 6749 §5.1) and, on the same bytes, the
// error body parser (§5.2), which reads whatever a 4xx/5xx carried.
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "oauth_parsing.hpp"

using namespace freshtoken;
using namespace freshtoken::detail;

namespace {

bool has_control_characters(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = fuzz::as_text(data, size);
  const TimePoint received_at{std::chrono::seconds(1'700'000'000)};

  auto tokens = parse_token_response(body, received_at);
  if (tokens) {
    FUZZ_CHECK(!tokens->access_token.empty());
    FUZZ_CHECK(tokens->token_type == "Bearer");
    FUZZ_CHECK(tokens->issued_at == received_at);
    if (tokens->expires_at) {
      FUZZ_CHECK(*tokens->expires_at >= received_at);
      FUZZ_CHECK(*tokens->expires_at <= received_at + kMaxExpiresIn);
    }
  } else {
    FUZZ_CHECK(tokens.error().code() == ErrorCode::invalid_response);
    FUZZ_CHECK(tokens.error().message().rfind("token response: ", 0) == 0);
    FUZZ_CHECK(!fuzz::leaks_canary(body, tokens.error().message()));
  }

  if (auto oauth = parse_oauth_error(body)) {
    FUZZ_CHECK(!oauth->error.empty());
    // printable() bounds and cleans what the server sent before it reaches a message.
    FUZZ_CHECK(oauth->error.size() <= 100 + 3);
    FUZZ_CHECK(oauth->description.size() <= 500 + 3);
    FUZZ_CHECK(oauth->uri.size() <= 500 + 3);
    FUZZ_CHECK(!has_control_characters(oauth->error));
    FUZZ_CHECK(!has_control_characters(oauth->description));
    FUZZ_CHECK(!has_control_characters(oauth->uri));
  }
  return 0;
}
