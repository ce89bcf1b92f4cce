// util/crypto.hpp on CNG (bcrypt.dll, Windows).
//
// Algorithm providers are opened once per process and never closed: CNG allows one provider
// handle to be used from many threads, and opening one costs more than any single operation.
// clang-format off
#include <windows.h>
#include <bcrypt.h>
// clang-format on

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "util/crypto.hpp"

namespace freshtoken::util {

namespace {

bool ok(NTSTATUS status) { return status >= 0; }

// A provider for `algorithm`, opened on first use; aborts if the system has none, which only a
// broken installation can make happen.
BCRYPT_ALG_HANDLE open_provider(const wchar_t* algorithm) {
  BCRYPT_ALG_HANDLE handle = nullptr;
  if (!ok(BCryptOpenAlgorithmProvider(&handle, algorithm, nullptr, 0))) std::abort();
  return handle;
}
BCRYPT_ALG_HANDLE sha256_provider() {
  static const BCRYPT_ALG_HANDLE handle = open_provider(BCRYPT_SHA256_ALGORITHM);
  return handle;
}
BCRYPT_ALG_HANDLE rsa_provider() {
  static const BCRYPT_ALG_HANDLE handle = open_provider(BCRYPT_RSA_ALGORITHM);
  return handle;
}
BCRYPT_ALG_HANDLE p256_provider() {
  static const BCRYPT_ALG_HANDLE handle = open_provider(BCRYPT_ECDSA_P256_ALGORITHM);
  return handle;
}

class Key {
 public:
  Key() = default;
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  ~Key() {
    if (handle_) BCryptDestroyKey(handle_);
  }
  BCRYPT_KEY_HANDLE* out() { return &handle_; }
  BCRYPT_KEY_HANDLE get() const { return handle_; }

 private:
  BCRYPT_KEY_HANDLE handle_ = nullptr;
};

// A byte buffer that is zeroed when it goes away, for key blobs that hold a private scalar.
class WipedBytes {
 public:
  explicit WipedBytes(std::size_t size) : bytes_(size) {}
  WipedBytes(WipedBytes&&) = default;  // leaves the source empty
  WipedBytes(const WipedBytes&) = delete;
  WipedBytes& operator=(const WipedBytes&) = delete;
  ~WipedBytes() { SecureZeroMemory(bytes_.data(), bytes_.size()); }
  unsigned char* data() { return bytes_.data(); }
  ULONG size() const { return static_cast<ULONG>(bytes_.size()); }

 private:
  std::vector<unsigned char> bytes_;
};

unsigned char* bytes_of(std::string_view text) {
  // CNG's input parameters are not const-qualified, but it does not write to them.
  return reinterpret_cast<unsigned char*>(const_cast<char*>(text.data()));
}

// ---- P-256 field arithmetic, for the on-curve check CNG does not do on every platform ----

// 256-bit unsigned integers, eight 32-bit limbs, least significant first.
using U256 = std::uint32_t[8];

void from_big_endian(std::string_view bytes, U256 out) {  // bytes.size() == 32
  for (int i = 0; i < 8; ++i) {
    std::uint32_t limb = 0;
    for (int j = 0; j < 4; ++j) {
      limb =
          (limb << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(28 - 4 * i + j)]);
    }
    out[i] = limb;
  }
}

bool less_than(const U256 a, const U256 b) {
  for (int i = 7; i >= 0; --i) {
    if (a[i] != b[i]) return a[i] < b[i];
  }
  return false;
}

// a -= b modulo 2^256.
void subtract(U256 a, const U256 b) {
  std::uint64_t borrow = 0;
  for (int i = 0; i < 8; ++i) {
    const std::uint64_t d = std::uint64_t{a[i]} - b[i] - borrow;
    a[i] = static_cast<std::uint32_t>(d);
    borrow = (d >> 32) & 1;
  }
}

// out = a * b mod p, for a, b < p: the 512-bit product, then reduced one bit at a time.
void multiply_mod(const U256 a, const U256 b, const U256 p, U256 out) {
  std::uint32_t product[16] = {};
  for (int i = 0; i < 8; ++i) {
    std::uint64_t carry = 0;
    for (int j = 0; j < 8; ++j) {
      const std::uint64_t t = std::uint64_t{a[i]} * b[j] + product[i + j] + carry;
      product[i + j] = static_cast<std::uint32_t>(t);
      carry = t >> 32;
    }
    product[i + 8] = static_cast<std::uint32_t>(carry);
  }
  U256 r = {};
  for (int bit = 511; bit >= 0; --bit) {
    const bool overflow = (r[7] >> 31) != 0;
    for (int i = 7; i > 0; --i) r[i] = (r[i] << 1) | (r[i - 1] >> 31);
    r[0] = (r[0] << 1) | ((product[bit / 32] >> (bit % 32)) & 1);
    if (overflow || !less_than(r, p)) subtract(r, p);  // 2r + 1 < 2p, so once is enough
  }
  std::memcpy(out, r, sizeof r);
}

// a += b modulo 2^256; true when it carried out.
bool add(U256 a, const U256 b) {
  std::uint64_t carry = 0;
  for (int i = 0; i < 8; ++i) {
    const std::uint64_t t = std::uint64_t{a[i]} + b[i] + carry;
    a[i] = static_cast<std::uint32_t>(t);
    carry = t >> 32;
  }
  return carry != 0;
}

// a = a - b mod p, for a, b < p.
void subtract_mod(U256 a, const U256 b, const U256 p) {
  const bool wraps = less_than(a, b);
  subtract(a, b);
  if (wraps) add(a, p);  // both wrap around 2^256, which cancels
}

// a = a + b mod p, for a, b < p.
void add_mod(U256 a, const U256 b, const U256 p) {
  if (add(a, b) || !less_than(a, p)) subtract(a, p);
}

// Whether (x, y) satisfies y^2 = x^3 - 3x + b over GF(p) for P-256 (SEC 2 §2.4.2), with both
// coordinates in the field. Real Windows refuses such a key on import; Wine does not, and a
// point off the curve must never reach a signature check.
bool on_p256_curve(std::string_view x_bytes, std::string_view y_bytes) {
  static const char kP[] =
      "\xff\xff\xff\xff\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
  static const char kB[] =
      "\x5a\xc6\x35\xd8\xaa\x3a\x93\xe7\xb3\xeb\xbd\x55\x76\x98\x86\xbc"
      "\x65\x1d\x06\xb0\xcc\x53\xb0\xf6\x3b\xce\x3c\x3e\x27\xd2\x60\x4b";
  U256 p, b, x, y;
  from_big_endian(std::string_view(kP, 32), p);
  from_big_endian(std::string_view(kB, 32), b);
  from_big_endian(x_bytes, x);
  from_big_endian(y_bytes, y);
  if (!less_than(x, p) || !less_than(y, p)) return false;
  U256 y2, x2, rhs;
  multiply_mod(y, y, p, y2);
  multiply_mod(x, x, p, x2);
  multiply_mod(x2, x, p, rhs);
  for (int i = 0; i < 3; ++i) subtract_mod(rhs, x, p);
  add_mod(rhs, b, p);
  return std::memcmp(y2, rhs, sizeof y2) == 0;
}

// ---- key import ----

std::string_view strip_leading_zeros(std::string_view bytes) {
  while (!bytes.empty() && bytes.front() == '\0') bytes.remove_prefix(1);
  return bytes;
}

// An ECC key blob: the header, then X, Y and, for a private blob, d.
WipedBytes p256_blob(ULONG magic, std::string_view x, std::string_view y, std::string_view d) {
  WipedBytes blob(sizeof(BCRYPT_ECCKEY_BLOB) + x.size() + y.size() + d.size());
  BCRYPT_ECCKEY_BLOB header{magic, 32};
  std::memcpy(blob.data(), &header, sizeof header);
  unsigned char* at = blob.data() + sizeof header;
  for (std::string_view part : {x, y, d}) {
    std::memcpy(at, part.data(), part.size());
    at += part.size();
  }
  return blob;
}

bool import_key(BCRYPT_ALG_HANDLE provider, const wchar_t* type, WipedBytes& blob, Key& key) {
  return ok(BCryptImportKeyPair(provider, nullptr, type, key.out(), blob.data(), blob.size(), 0));
}

}  // namespace

std::string sha256(std::string_view data) {
  BCRYPT_HASH_HANDLE hash = nullptr;
  if (!ok(BCryptCreateHash(sha256_provider(), &hash, nullptr, 0, nullptr, 0, 0))) std::abort();
  bool hashed = true;
  while (hashed && !data.empty()) {
    // BCryptHashData takes a ULONG length.
    const std::size_t chunk = data.size() < 0x40000000u ? data.size() : 0x40000000u;
    hashed = ok(BCryptHashData(hash, bytes_of(data), static_cast<ULONG>(chunk), 0));
    data.remove_prefix(chunk);
  }
  std::string digest(32, '\0');
  hashed = hashed && ok(BCryptFinishHash(hash, reinterpret_cast<unsigned char*>(digest.data()),
                                         static_cast<ULONG>(digest.size()), 0));
  BCryptDestroyHash(hash);
  if (!hashed) std::abort();
  return digest;
}

std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  auto* at = reinterpret_cast<unsigned char*>(out.data());
  while (count > 0) {
    const std::size_t chunk = count < 0x40000000u ? count : 0x40000000u;
    if (!ok(BCryptGenRandom(nullptr, at, static_cast<ULONG>(chunk),
                            BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
      std::abort();
    }
    at += chunk;
    count -= chunk;
  }
  return out;
}

void wipe(char* data, std::size_t size) noexcept {
  if (size > 0) SecureZeroMemory(data, size);
}

bool constant_time_equal(const void* a, const void* b, std::size_t size) noexcept {
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
  // volatile: the compiler may not stop at the first difference.
  volatile unsigned char difference = 0;
  for (std::size_t i = 0; i < size; ++i) difference = difference | (x[i] ^ y[i]);
  return difference == 0;
}

SignatureCheck verify_rs256(std::string_view modulus, std::string_view exponent,
                            std::string_view signing_input, std::string_view signature) {
  modulus = strip_leading_zeros(modulus);
  exponent = strip_leading_zeros(exponent);
  if (modulus.empty() || exponent.empty()) return SignatureCheck::bad_key;
  ULONG bits = static_cast<ULONG>(modulus.size() * 8);
  for (auto top = static_cast<unsigned char>(modulus.front()); (top & 0x80) == 0; top <<= 1) --bits;
  if (bits < 2048) return SignatureCheck::weak_key;

  WipedBytes blob(sizeof(BCRYPT_RSAKEY_BLOB) + exponent.size() + modulus.size());
  BCRYPT_RSAKEY_BLOB header{BCRYPT_RSAPUBLIC_MAGIC,
                            bits,
                            static_cast<ULONG>(exponent.size()),
                            static_cast<ULONG>(modulus.size()),
                            0,
                            0};
  std::memcpy(blob.data(), &header, sizeof header);
  std::memcpy(blob.data() + sizeof header, exponent.data(), exponent.size());
  std::memcpy(blob.data() + sizeof header + exponent.size(), modulus.data(), modulus.size());
  Key key;
  if (!import_key(rsa_provider(), BCRYPT_RSAPUBLIC_BLOB, blob, key)) return SignatureCheck::bad_key;

  if (signature.size() != modulus.size()) return SignatureCheck::bad_signature;
  const std::string digest = sha256(signing_input);
  BCRYPT_PKCS1_PADDING_INFO padding{BCRYPT_SHA256_ALGORITHM};
  const NTSTATUS status = BCryptVerifySignature(
      key.get(), &padding, bytes_of(digest), static_cast<ULONG>(digest.size()), bytes_of(signature),
      static_cast<ULONG>(signature.size()), BCRYPT_PAD_PKCS1);
  return ok(status) ? SignatureCheck::valid : SignatureCheck::bad_signature;
}

SignatureCheck verify_es256(std::string_view x, std::string_view y, std::string_view signing_input,
                            std::string_view signature) {
  if (x.size() != 32 || y.size() != 32 || !on_p256_curve(x, y)) return SignatureCheck::bad_key;
  WipedBytes blob = p256_blob(BCRYPT_ECDSA_PUBLIC_P256_MAGIC, x, y, {});
  Key key;
  if (!import_key(p256_provider(), BCRYPT_ECCPUBLIC_BLOB, blob, key)) {
    return SignatureCheck::bad_key;
  }
  if (signature.size() != 64) return SignatureCheck::bad_signature;
  const std::string digest = sha256(signing_input);
  const NTSTATUS status =
      BCryptVerifySignature(key.get(), nullptr, bytes_of(digest), static_cast<ULONG>(digest.size()),
                            bytes_of(signature), static_cast<ULONG>(signature.size()), 0);
  return ok(status) ? SignatureCheck::valid : SignatureCheck::bad_signature;
}

P256Key generate_p256_key() {
  Key key;
  if (!ok(BCryptGenerateKeyPair(p256_provider(), key.out(), 256, 0)) ||
      !ok(BCryptFinalizeKeyPair(key.get(), 0))) {
    std::abort();
  }
  WipedBytes blob(sizeof(BCRYPT_ECCKEY_BLOB) + 3 * 32);
  ULONG written = 0;
  if (!ok(BCryptExportKey(key.get(), nullptr, BCRYPT_ECCPRIVATE_BLOB, blob.data(), blob.size(),
                          &written, 0)) ||
      written != blob.size()) {
    std::abort();
  }
  const char* at = reinterpret_cast<const char*>(blob.data()) + sizeof(BCRYPT_ECCKEY_BLOB);
  return P256Key(std::string(at + 64, 32), std::string(at, 32), std::string(at + 32, 32));
}

std::optional<std::string> sign_es256(const P256Key& key, std::string_view signing_input) {
  if (key.d().size() != 32 || key.x().size() != 32 || key.y().size() != 32 ||
      !on_p256_curve(key.x(), key.y())) {
    return std::nullopt;
  }
  WipedBytes blob = p256_blob(BCRYPT_ECDSA_PRIVATE_P256_MAGIC, key.x(), key.y(), key.d());
  Key handle;
  if (!import_key(p256_provider(), BCRYPT_ECCPRIVATE_BLOB, blob, handle)) return std::nullopt;
  const std::string digest = sha256(signing_input);
  std::string signature(64, '\0');
  ULONG written = 0;
  if (!ok(BCryptSignHash(handle.get(), nullptr, bytes_of(digest), static_cast<ULONG>(digest.size()),
                         reinterpret_cast<unsigned char*>(signature.data()),
                         static_cast<ULONG>(signature.size()), &written, 0)) ||
      written != signature.size()) {
    return std::nullopt;
  }
  return signature;
}

}  // namespace freshtoken::util
