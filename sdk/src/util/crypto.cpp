// The parts of util/crypto.hpp that no platform library provides.
#include "util/crypto.hpp"

namespace freshtoken::util {

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

void wipe(std::string& text) noexcept {
  // The whole capacity: bytes past the size may still hold what a longer value left there.
  // Growing to the capacity does not reallocate.
  text.resize(text.capacity());
  wipe(text.data(), text.size());
  text.clear();
}

}  // namespace freshtoken::util
