// The cryptography the SDK and the mock server use (internal): the platform seam for it.
// One implementation per platform: crypto_openssl.cpp (OpenSSL 3, Linux) and
// platform/windows/crypto_cng.cpp (CNG, Windows); crypto.cpp holds what both share. Each is
// checked by the same test vectors (tests/unit/core/crypto_test.cpp).
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

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
// RS256: RSASSA-PKCS1-v1_5 with SHA-256. `modulus` and `exponent` are big-endian bytes (leading
// zero bytes allowed); either one zero or empty is bad_key.
SignatureCheck verify_rs256(std::string_view modulus, std::string_view exponent,
                            std::string_view signing_input, std::string_view signature);
// ES256: ECDSA P-256 with SHA-256. `x` and `y` are the 32-byte coordinates; `signature` is
// R || S, 32 bytes each (the JWS form, not DER).
SignatureCheck verify_es256(std::string_view x, std::string_view y, std::string_view signing_input,
                            std::string_view signature);

// A P-256 key pair as raw big-endian bytes, 32 each: the private scalar `d` and the public point
// (x, y), the JWK's "d", "x" and "y". Move-only; `d` is wiped when the key is destroyed.
class P256Key {
 public:
  P256Key(std::string d, std::string x, std::string y)
      : d_(std::move(d)), x_(std::move(x)), y_(std::move(y)) {}
  P256Key(P256Key&&) = default;
  P256Key& operator=(P256Key&& other) noexcept {
    wipe(d_);
    d_ = std::move(other.d_);
    x_ = std::move(other.x_);
    y_ = std::move(other.y_);
    return *this;
  }
  P256Key(const P256Key&) = delete;
  P256Key& operator=(const P256Key&) = delete;
  ~P256Key() { wipe(d_); }

  std::string_view d() const { return d_; }
  std::string_view x() const { return x_; }
  std::string_view y() const { return y_; }

 private:
  std::string d_, x_, y_;
};
// A new key from the platform's CSPRNG; aborts like random_bytes() if the platform cannot make
// one.
P256Key generate_p256_key();
// ES256 signature of `signing_input` (ECDSA P-256 with SHA-256, a fresh random nonce each
// call): R || S, 32 bytes each. nullopt when the key is unusable: a part that is not 32 bytes
// long, or a point not on the curve. That `d` belongs to (x, y) is the caller's to know.
std::optional<std::string> sign_es256(const P256Key& key, std::string_view signing_input);

}  // namespace freshtoken::util
