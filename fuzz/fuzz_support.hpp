// Shared by the fuzz targets: invariant checks that abort (so libFuzzer records a crash with
// the input), and the canary that stands for a secret planted in the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace freshtoken::fuzz {

// Seeds and dictionaries plant this string where a token would be; whenever the input holds
// it, no error message may.
inline constexpr std::string_view kCanary = "c4n4ry5ecret";

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz invariant violated at %s:%d: %s\n", file, line, what);
  std::abort();
}

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// An error message may name what was wrong but never repeat a planted secret.
inline bool leaks_canary(std::string_view input, std::string_view message) {
  return contains(input, kCanary) && contains(message, kCanary);
}

}  // namespace freshtoken::fuzz

#define FUZZ_CHECK(condition)                                                   \
  do {                                                                          \
    if (!(condition)) ::freshtoken::fuzz::fail(#condition, __FILE__, __LINE__); \
  } while (false)
