// The cryptography the SDK and the mock server use (internal): the platform seam for it.
// One implementation per platform: crypto_openssl.cpp (OpenSSL 3, Linux) and
// platform/windows/crypto_cng.cpp (CNG, Windows); crypto.cpp holds what both share. Each is
// checked by the same test vectors (tests/unit/core/crypto_test.cpp).
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace freshtoken::util {

// Raw 32-byte SHA-256 digest.
std::string sha256(std::string_view data);
// `count` bytes from the platform's CSPRNG; aborts if the CSPRNG fails, which only a broken
// system can make happen and which must never yield predictable tokens.
std::string random_bytes(std::size_t count);
// Lower-case hex.
std::string hex(std::string_view bytes);
// Zeroes bytes that held a token, code or password, in a way the compiler cannot drop as a
// dead store.
void wipe(char* data, std::size_t size) noexcept;
// Zeroes the string's bytes up to its capacity (not only its size), then empties it.
void wipe(std::string& text) noexcept;
// Compares two buffers of `size` bytes in time that does not depend on where they differ.
bool constant_time_equal(const void* a, const void* b, std::size_t size) noexcept;

// What a JWS signature check (RFC 7518 §3.3, §3.4) found.
enum class SignatureCheck {
  valid,
  bad_signature,  // well-formed key, but the signature does not verify (or has the wrong size)
  bad_key,        // the key cannot be used: malformed, not on the curve, or not decodable
  weak_key,       // an RSA modulus shorter than 2048 bits
};
// RS256: RSASSA-PKCS1-v1_5 with SHA-256. `modulus` and `exponent` are big-endian bytes.
SignatureCheck verify_rs256(std::string_view modulus, std::string_view exponent,
                            std::string_view signing_input, std::string_view signature);
// ES256: ECDSA P-256 with SHA-256. `x` and `y` are the 32-byte coordinates; `signature` is
// R || S, 32 bytes each (the JWS form, not DER).
SignatureCheck verify_es256(std::string_view x, std::string_view y, std::string_view signing_input,
                            std::string_view signature);

}  // namespace freshtoken::util
