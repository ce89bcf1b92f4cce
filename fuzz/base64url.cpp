// Fuzzes base64url (RFC 4648 §5; JWS segments, PKCE, state) and standard base64 (HTTP Basic
// credentials at the mock server). Properties: decode(encode(x)) == x for any bytes, and
// whatever decodes re-encodes to text that decodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "util/encoding.hpp"

using namespace freshtoken;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);

  const std::string url = util::base64url_encode(input);
  FUZZ_CHECK(url.find_first_of("+/=") == std::string::npos);
  auto url_back = util::base64url_decode(url);
  FUZZ_CHECK(url_back && *url_back == input);

  const std::string std64 = util::base64_encode(input);
  FUZZ_CHECK(std64.size() % 4 == 0);
  auto std_back = util::base64_decode(std64);
  FUZZ_CHECK(std_back && *std_back == input);

  if (auto decoded = util::base64url_decode(input)) {
    FUZZ_CHECK(decoded->size() <= input.size());
    auto again = util::base64url_decode(util::base64url_encode(*decoded));
    FUZZ_CHECK(again && *again == *decoded);
  }
  if (auto decoded = util::base64_decode(input)) {
    auto again = util::base64_decode(util::base64_encode(*decoded));
    FUZZ_CHECK(again && *again == *decoded);
  }
  return 0;
}
