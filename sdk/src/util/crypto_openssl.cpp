// util/crypto.hpp on OpenSSL 3 (Linux).
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <string.h>  // explicit_bzero

#include <cstdlib>
#include <memory>
#include <optional>

#include "util/crypto.hpp"

namespace freshtoken::util {

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  if (count > 0 &&
      RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    std::abort();
  }
  return out;
}

// explicit_bzero: a vectorised memset, several times cheaper than OPENSSL_cleanse's byte loop
// on the per-request path.
void wipe(char* data, std::size_t size) noexcept {
  if (size > 0) explicit_bzero(data, size);
}

bool constant_time_equal(const void* a, const void* b, std::size_t size) noexcept {
  return CRYPTO_memcmp(a, b, size) == 0;
}

namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
void free_bn(BIGNUM* p) { BN_free(p); }
void free_bld(OSSL_PARAM_BLD* p) { OSSL_PARAM_BLD_free(p); }
void clear_free_bn(BIGNUM* p) { BN_clear_free(p); }
void free_params(OSSL_PARAM* p) { OSSL_PARAM_free(p); }
void free_pkey_ctx(EVP_PKEY_CTX* p) { EVP_PKEY_CTX_free(p); }
void free_pkey(EVP_PKEY* p) { EVP_PKEY_free(p); }
void free_md_ctx(EVP_MD_CTX* p) { EVP_MD_CTX_free(p); }
void free_ecdsa_sig(ECDSA_SIG* p) { ECDSA_SIG_free(p); }
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, free_bn>>;
// For a private scalar: zeroed before it is freed.
using SecretBnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, clear_free_bn>>;
using BldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, free_bld>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, free_params>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, free_pkey_ctx>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, free_pkey>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, free_md_ctx>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, free_ecdsa_sig>>;

BnPtr to_bn(std::string_view bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
}

PkeyPtr key_from_params(const char* type, OSSL_PARAM_BLD* bld,
                        int selection = EVP_PKEY_PUBLIC_KEY) {
  ParamsPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &pkey, selection, params.get()) != 1) return nullptr;
  return PkeyPtr(pkey);
}

PkeyPtr rsa_key(std::string_view modulus, std::string_view exponent) {
  BnPtr n = to_bn(modulus), e = to_bn(exponent);
  BldPtr bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return nullptr;
  }
  return key_from_params("RSA", bld.get());
}

// The public key (x, y), or with `d` the key pair.
PkeyPtr p256_key(std::string_view x, std::string_view y, std::string_view d = {}) {
  if (x.size() != 32 || y.size() != 32) return nullptr;
  std::string point = "\x04";  // SEC 1 uncompressed point
  point.append(x).append(y);
  BldPtr bld(OSSL_PARAM_BLD_new());
  char group[] = "prime256v1";
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return nullptr;
  }
  if (d.empty())
    return key_from_params("EC", bld.get());  // decoding checks the point is on the curve
  if (d.size() != 32) return nullptr;
  // Secure, so that the parameter array built from it is cleared when it is freed too.
  SecretBnPtr priv(BN_secure_new());
  if (!priv || !BN_bin2bn(reinterpret_cast<const unsigned char*>(d.data()), 32, priv.get()) ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) != 1) {
    return nullptr;
  }
  return key_from_params("EC", bld.get(), EVP_PKEY_KEYPAIR);
}

// A BIGNUM parameter of `key` as `size` big-endian bytes; empty if it is missing or too long.
std::string bn_param(const EVP_PKEY* key, const char* name, std::size_t size) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return {};
  SecretBnPtr bn(raw);
  std::string out(size, '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()),
                   static_cast<int>(size)) != static_cast<int>(size)) {
    return {};
  }
  return out;
}

// OpenSSL wants an ECDSA signature in DER; JWS wants R || S.
std::optional<std::string> ecdsa_raw_to_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  BnPtr r = to_bn(raw.substr(0, 32)), s = to_bn(raw.substr(32));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  r.release();  // now owned by sig
  s.release();
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

std::optional<std::string> ecdsa_der_to_raw(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return std::nullopt;
  std::string out(64, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), bytes, 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), bytes + 32, 32) != 32) {
    return std::nullopt;
  }
  return out;
}

SignatureCheck verify_sha256(EVP_PKEY* key, std::string_view signing_input,
                             std::string_view signature) {
  MdCtxPtr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return SignatureCheck::bad_key;
  }
  int ok = EVP_DigestVerify(
      md.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
  return ok == 1 ? SignatureCheck::valid : SignatureCheck::bad_signature;
}

// Leaves nothing on this thread's OpenSSL error queue for unrelated code (libcurl) to find.
SignatureCheck cleared(SignatureCheck check) {
  ERR_clear_error();
  return check;
}

}  // namespace

SignatureCheck verify_rs256(std::string_view modulus, std::string_view exponent,
                            std::string_view signing_input, std::string_view signature) {
  // OpenSSL takes a zero modulus or exponent for a (weak, or merely failing) key.
  if (modulus.find_first_not_of('\0') == std::string_view::npos ||
      exponent.find_first_not_of('\0') == std::string_view::npos) {
    return SignatureCheck::bad_key;
  }
  PkeyPtr key = rsa_key(modulus, exponent);
  if (!key) return cleared(SignatureCheck::bad_key);
  if (EVP_PKEY_get_bits(key.get()) < 2048) return cleared(SignatureCheck::weak_key);
  return cleared(verify_sha256(key.get(), signing_input, signature));
}

SignatureCheck verify_es256(std::string_view x, std::string_view y, std::string_view signing_input,
                            std::string_view signature) {
  PkeyPtr key = p256_key(x, y);
  if (!key) return cleared(SignatureCheck::bad_key);
  auto der = ecdsa_raw_to_der(signature);
  if (!der) return cleared(SignatureCheck::bad_signature);
  return cleared(verify_sha256(key.get(), signing_input, *der));
}

P256Key generate_p256_key() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) std::abort();
  P256Key out(bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, 32),
              bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32),
              bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32));
  if (out.d().empty() || out.x().empty() || out.y().empty()) std::abort();
  ERR_clear_error();
  return out;
}

std::optional<std::string> sign_es256(const P256Key& key, std::string_view signing_input) {
  if (key.d().size() != 32) return std::nullopt;
  PkeyPtr pkey = p256_key(key.x(), key.y(), key.d());
  MdCtxPtr md(EVP_MD_CTX_new());
  if (!pkey || !md ||
      EVP_DigestSignInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, pkey.get(), nullptr) !=
          1) {
    ERR_clear_error();
    return std::nullopt;
  }
  unsigned char der[80];  // an ECDSA-Sig-Value for P-256 is at most 72 bytes
  std::size_t length = sizeof der;
  if (EVP_DigestSign(md.get(), der, &length,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return ecdsa_der_to_raw(std::string_view(reinterpret_cast<const char*>(der), length));
}

}  // namespace freshtoken::util
