#include "signing_key.hpp"

#include <memory>
#include <stdexcept>
#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken::mock::detail {
namespace {

EVP_PKEY* as_pkey(void* p) { return static_cast<EVP_PKEY*>(p); }

std::string string_member(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string bn_param(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) throw std::runtime_error("RSA parameter");
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return bytes;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

}  // namespace

const SigningKey& SigningKey::instance() {
  static const SigningKey key;
  return key;
}

SigningKey::SigningKey() {
  EVP_PKEY* pkey = EVP_RSA_gen(2048);
  if (pkey == nullptr) throw std::runtime_error("cannot generate the RSA signing key");
  pkey_ = pkey;
  const std::string n = util::base64url_encode(bn_param(pkey, OSSL_PKEY_PARAM_RSA_N));
  const std::string e = util::base64url_encode(bn_param(pkey, OSSL_PKEY_PARAM_RSA_E));
  // RFC 7638: members in lexicographic order, no whitespace.
  const std::string thumbprint_input = R"({"e":")" + e + R"(","kty":"RSA","n":")" + n + R"("})";
  kid_ = util::base64url_encode(util::sha256(thumbprint_input));
  jwk_ = {{"kty", "RSA"}, {"use", "sig"}, {"alg", "RS256"}, {"kid", kid_}, {"n", n}, {"e", e}};
}

SigningKey::~SigningKey() { EVP_PKEY_free(as_pkey(pkey_)); }

std::string SigningKey::sign_jwt(nlohmann::json header, const nlohmann::json& claims) const {
  header["alg"] = "RS256";
  header["kid"] = kid_;
  const std::string input =
      util::base64url_encode(header.dump()) + "." + util::base64url_encode(claims.dump());
  MdCtx ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, as_pkey(pkey_)) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    throw std::runtime_error("RS256 signing failed");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    throw std::runtime_error("RS256 signing failed");
  }
  signature.resize(length);
  return input + "." + util::base64url_encode(signature);
}

std::optional<Jwt> SigningKey::verify_jwt(std::string_view token) const {
  const auto first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const auto header_text = util::base64url_decode(token.substr(0, first));
  const auto claims_text = util::base64url_decode(token.substr(first + 1, second - first - 1));
  const auto signature = util::base64url_decode(token.substr(second + 1));
  if (!header_text || !claims_text || !signature) return std::nullopt;
  Jwt jwt;
  jwt.header = nlohmann::json::parse(*header_text, nullptr, false);
  jwt.claims = nlohmann::json::parse(*claims_text, nullptr, false);
  if (!jwt.header.is_object() || !jwt.claims.is_object()) return std::nullopt;
  if (string_member(jwt.header, "alg") != "RS256" || string_member(jwt.header, "kid") != kid_) {
    return std::nullopt;
  }
  const std::string_view input = token.substr(0, second);
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, as_pkey(pkey_)) != 1) {
    return std::nullopt;
  }
  if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                       signature->size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1) {
    return std::nullopt;
  }
  return jwt;
}

}  // namespace freshtoken::mock::detail
