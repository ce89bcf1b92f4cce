// Fuzzes the discovery document parser (RFC 8414 / OpenID Connect Discovery) and what the
// SDK does next with a parsed document: validate_metadata and the URL helpers.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "oauth_parsing.hpp"

using namespace freshtoken;
using namespace freshtoken::detail;

namespace {

constexpr std::string_view kIssuer = "https://issuer.example";

bool has_control_characters(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

void check_url_parts(std::string_view url) {
  auto parsed = parse_url(url);
  if (!parsed) {
    FUZZ_CHECK(!check_endpoint_url("endpoint", url));
    return;
  }
  FUZZ_CHECK(!parsed->host.empty());
  for (char c : parsed->scheme) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  for (char c : parsed->host) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  // The endpoint check accepts exactly https, or http to a loopback host.
  const bool allowed =
      parsed->scheme == "https" || (parsed->scheme == "http" && is_loopback_host(parsed->host));
  FUZZ_CHECK(static_cast<bool>(check_endpoint_url("endpoint", url)) == allowed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = fuzz::as_text(data, size);
  auto metadata = parse_discovery_document(body);
  if (!metadata) {
    FUZZ_CHECK(metadata.error().code() == ErrorCode::invalid_response);
    FUZZ_CHECK(metadata.error().message().rfind("discovery document: ", 0) == 0);
    FUZZ_CHECK(!fuzz::leaks_canary(body, metadata.error().message()));
    return 0;
  }
  FUZZ_CHECK(!metadata->issuer.empty());

  // Against its own issuer only the endpoints can be wrong; against another issuer the
  // mismatch is reported, with both issuers made printable.
  auto own = validate_metadata(*metadata, metadata->issuer);
  if (metadata->token_endpoint.empty()) FUZZ_CHECK(!own);
  if (!own) FUZZ_CHECK(!has_control_characters(own.error().message()));
  auto other = validate_metadata(*metadata, kIssuer);
  if (metadata->issuer != kIssuer) {
    FUZZ_CHECK(!other && other.error().code() == ErrorCode::invalid_response);
  }
  if (!other) FUZZ_CHECK(!has_control_characters(other.error().message()));

  for (const std::string* url :
       {&metadata->issuer, &metadata->authorization_endpoint, &metadata->token_endpoint,
        &metadata->device_authorization_endpoint, &metadata->revocation_endpoint,
        &metadata->introspection_endpoint, &metadata->userinfo_endpoint, &metadata->jwks_uri}) {
    check_url_parts(*url);
  }
  (void)openid_configuration_url(metadata->issuer);
  (void)oauth_metadata_url(metadata->issuer);
  return 0;
}
