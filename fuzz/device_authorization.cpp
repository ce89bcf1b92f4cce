// Fuzzes the device authorization response parser (RFC 8628 §3.2).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "oauth_parsing.hpp"

using namespace freshtoken;
using namespace freshtoken::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = fuzz::as_text(data, size);
  auto device = parse_device_authorization(body);
  if (!device) {
    FUZZ_CHECK(device.error().code() == ErrorCode::invalid_response);
    FUZZ_CHECK(device.error().message().rfind("device authorization response: ", 0) == 0);
    FUZZ_CHECK(!fuzz::leaks_canary(body, device.error().message()));
    return 0;
  }
  FUZZ_CHECK(!device->device_code.empty());
  FUZZ_CHECK(!device->user_code.empty());
  FUZZ_CHECK(!device->verification_uri.empty());
  FUZZ_CHECK(device->expires_in.count() >= 0);
  FUZZ_CHECK(device->expires_in <= kMaxExpiresIn);
  // 0 is kept as the server sent it ("no minimum"); the device flow polls it once a second.
  FUZZ_CHECK(device->interval.count() >= 0 && device->interval.count() <= 3600);
  return 0;
}
