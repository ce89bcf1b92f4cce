// Signing keys for ID token tests: generated with OpenSSL once per program, published as JWKs,
// and used to sign compact JWS strings.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <memory>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "util/encoding.hpp"

namespace freshtoken::testing {

class TestKey {
 public:
  // alg: "RS256" (RSA, `bits`) or "ES256" (P-256).
  TestKey(std::string alg, std::string kid, int bits = 2048)
      : alg_(std::move(alg)), kid_(std::move(kid)) {
    EVP_PKEY* key = alg_ == "RS256"
                        ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits))
                        : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    if (!key) throw std::runtime_error("key generation failed");
    key_.reset(key);
  }

  const std::string& kid() const { return kid_; }
  const std::string& alg() const { return alg_; }

  nlohmann::json jwk() const {
    nlohmann::json out = {{"kid", kid_}, {"use", "sig"}, {"alg", alg_}};
    if (alg_ == "RS256") {
      out["kty"] = "RSA";
      out["n"] = bn_param(OSSL_PKEY_PARAM_RSA_N, 0);
      out["e"] = bn_param(OSSL_PKEY_PARAM_RSA_E, 0);
    } else {
      out["kty"] = "EC";
      out["crv"] = "P-256";
      out["x"] = bn_param(OSSL_PKEY_PARAM_EC_PUB_X, 32);
      out["y"] = bn_param(OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    }
    return out;
  }

  // A compact JWS of `payload` with header {"alg": alg, "kid": kid} merged with `header`.
  std::string sign(const nlohmann::json& payload, nlohmann::json header = nlohmann::json::object(),
                   bool with_kid = true) const {
    nlohmann::json h = {{"alg", alg_}, {"typ", "JWT"}};
    if (with_kid) h["kid"] = kid_;
    h.update(header);
    std::string input =
        util::base64url_encode(h.dump()) + "." + util::base64url_encode(payload.dump());
    return input + "." + util::base64url_encode(signature(input));
  }

  // The raw signature of `input` (R||S for ES256).
  std::string signature(const std::string& input) const {
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    size_t length = 0;
    auto data = reinterpret_cast<const unsigned char*>(input.data());
    if (EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
        EVP_DigestSign(md.get(), nullptr, &length, data, input.size()) != 1) {
      throw std::runtime_error("sign failed");
    }
    std::string out(length, '\0');
    if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(out.data()), &length, data,
                       input.size()) != 1) {
      throw std::runtime_error("sign failed");
    }
    out.resize(length);
    if (alg_ == "RS256") return out;
    auto der = reinterpret_cast<const unsigned char*>(out.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(out.size()));
    const BIGNUM *r = nullptr, *s = nullptr;
    ECDSA_SIG_get0(sig, &r, &s);
    std::string raw(64, '\0');
    BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(sig);
    return raw;
  }

  // The DER signature as OpenSSL makes it (what a wrong ES256 implementation would send).
  std::string der_signature(const std::string& input) const {
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    size_t length = 0;
    auto data = reinterpret_cast<const unsigned char*>(input.data());
    EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key_.get());
    EVP_DigestSign(md.get(), nullptr, &length, data, input.size());
    std::string out(length, '\0');
    EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(out.data()), &length, data,
                   input.size());
    out.resize(length);
    return out;
  }

 private:
  std::string bn_param(const char* name, int pad) const {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(key_.get(), name, &bn) != 1) throw std::runtime_error("no key param");
    int size = pad > 0 ? pad : BN_num_bytes(bn);
    std::string bytes(static_cast<size_t>(size), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), size);
    BN_free(bn);
    return util::base64url_encode(bytes);
  }

  std::string alg_;
  std::string kid_;
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> key_{nullptr, EVP_PKEY_free};
};

// Keys made once per test program: RSA key generation takes a moment.
inline const TestKey& rsa_key() {
  static const TestKey key("RS256", "rsa-1");
  return key;
}
inline const TestKey& rsa_key_2() {
  static const TestKey key("RS256", "rsa-2");
  return key;
}
inline const TestKey& ec_key() {
  static const TestKey key("ES256", "ec-1");
  return key;
}

inline nlohmann::json jwks_of(std::initializer_list<const TestKey*> keys) {
  nlohmann::json list = nlohmann::json::array();
  for (auto* k : keys) list.push_back(k->jwk());
  return {{"keys", list}};
}

// An HS256 JWS (refused by the SDK whatever the key).
inline std::string hs256_jws(const nlohmann::json& payload, const std::string& secret,
                             const std::string& kid) {
  nlohmann::json h = {{"alg", "HS256"}, {"kid", kid}};
  std::string input =
      util::base64url_encode(h.dump()) + "." + util::base64url_encode(payload.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  return input + "." + util::base64url_encode(std::string(reinterpret_cast<char*>(mac), length));
}

}  // namespace freshtoken::testing
