// RS256 signing for the mock server (internal): one RSA-2048 key per process, generated on
// first use, published as a JWK with an RFC 7638 thumbprint as its kid.
// Thread safety: all functions may be called concurrently.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace freshtoken::mock::detail {

struct Jwt {
  nlohmann::json header;
  nlohmann::json claims;
};

class SigningKey {
 public:
  // The process-wide key; generating it takes a few milliseconds, once.
  static const SigningKey& instance();

  const std::string& kid() const { return kid_; }
  const nlohmann::json& jwk() const { return jwk_; }

  // header.claims.signature, header gets alg=RS256 and kid added.
  std::string sign_jwt(nlohmann::json header, const nlohmann::json& claims) const;
  // Parses a compact JWS and verifies its RS256 signature against this key (alg and kid
  // must match); nullopt when malformed or the signature fails.
  std::optional<Jwt> verify_jwt(std::string_view token) const;

  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

 private:
  SigningKey();
  void* pkey_ = nullptr;  // EVP_PKEY*
  std::string kid_;
  nlohmann::json jwk_;
};

}  // namespace freshtoken::mock::detail
