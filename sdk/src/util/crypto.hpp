// Small OpenSSL-backed helpers shared by the SDK and the mock server (internal).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace freshtoken::util {

// Raw 32-byte SHA-256 digest.
std::string sha256(std::string_view data);
// `count` bytes from OpenSSL's CSPRNG; aborts if the CSPRNG fails, which only a broken
// system can make happen and which must never yield predictable tokens.
std::string random_bytes(std::size_t count);
// Lower-case hex.
std::string hex(std::string_view bytes);
// Zeroes bytes that held a token, code or password, in a way the compiler cannot drop as a
// dead store (explicit_bzero: a vectorised memset, several times cheaper than
// OPENSSL_cleanse's byte loop on the per-request path).
void wipe(char* data, std::size_t size) noexcept;
// Zeroes the string's bytes up to its capacity (not only its size), then empties it.
void wipe(std::string& text) noexcept;

}  // namespace freshtoken::util
