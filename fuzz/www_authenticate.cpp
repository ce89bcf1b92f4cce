// Fuzzes the WWW-Authenticate parser (RFC 9110 §11.6.1), the Bearer challenge lookup
// (RFC 6750 §3), the DPoP challenge lookup (RFC 9449 §7.1) and the DPoP-Nonce header value
// (RFC 9449 §8). Each input line is one header value, as a 401 may carry several; each line is
// also read as a DPoP-Nonce value.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "freshtoken/http.hpp"
#include "fuzz_support.hpp"
#include "www_authenticate.hpp"

using namespace freshtoken;
using namespace freshtoken::detail;

namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = fuzz::as_text(data, size);
  std::vector<std::string> values;
  while (true) {
    const auto newline = rest.find('\n');
    values.emplace_back(rest.substr(0, newline));
    if (newline == std::string_view::npos) break;
    rest.remove_prefix(newline + 1);
  }

  const AuthChallenge* first_bearer = nullptr;
  const AuthChallenge* first_dpop = nullptr;
  std::vector<std::vector<AuthChallenge>> parsed;
  parsed.reserve(values.size());
  for (const auto& value : values) {
    parsed.push_back(parse_www_authenticate(value));
    for (const auto& challenge : parsed.back()) {
      FUZZ_CHECK(is_token(challenge.scheme));
      FUZZ_CHECK(challenge.token68.empty() || challenge.params.empty());
      for (const auto& [name, param_value] : challenge.params) {
        FUZZ_CHECK(is_token(name));
        for (char c : name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
        FUZZ_CHECK(challenge.param(name).has_value());
      }
      // Everything parsed came from the value: nothing grows out of thin air.
      FUZZ_CHECK(challenge.scheme.size() <= value.size());
      if (first_bearer == nullptr && iequals(challenge.scheme, "Bearer")) {
        first_bearer = &challenge;
      }
      if (first_dpop == nullptr && iequals(challenge.scheme, "DPoP")) first_dpop = &challenge;
    }
  }

  const auto bearer = find_bearer_challenge(values);
  FUZZ_CHECK(bearer.has_value() == (first_bearer != nullptr));
  if (bearer) {
    FUZZ_CHECK(bearer->error == first_bearer->param("error").value_or(""));
    FUZZ_CHECK(bearer->scope == first_bearer->param("scope").value_or(""));
    FUZZ_CHECK(bearer->realm == first_bearer->param("realm").value_or(""));
    FUZZ_CHECK(bearer->error_description == first_bearer->param("error_description").value_or(""));
    FUZZ_CHECK(bearer->error_uri == first_bearer->param("error_uri").value_or(""));
  }

  const auto dpop = find_dpop_challenge(values);
  FUZZ_CHECK(dpop.has_value() == (first_dpop != nullptr));
  if (dpop) {
    FUZZ_CHECK(dpop->error == first_dpop->param("error").value_or(""));
    FUZZ_CHECK(dpop->error_description == first_dpop->param("error_description").value_or(""));
    FUZZ_CHECK(dpop->error_uri == first_dpop->param("error_uri").value_or(""));
    FUZZ_CHECK(dpop->scope == first_dpop->param("scope").value_or(""));
    FUZZ_CHECK(dpop->realm == first_dpop->param("realm").value_or(""));
    const std::string algs = first_dpop->param("algs").value_or("");
    std::size_t total = 0;
    for (const auto& alg : dpop->algs) {
      FUZZ_CHECK(!alg.empty());
      FUZZ_CHECK(alg.find(' ') == std::string::npos);
      FUZZ_CHECK(algs.find(alg) != std::string::npos);
      total += alg.size();
    }
    FUZZ_CHECK(total <= algs.size());
  }

  for (const auto& value : values) {
    const auto nonce = parse_dpop_nonce(value);
    if (!nonce) continue;
    // 1*NQCHAR, taken from the value: never empty, never longer, no quote, backslash or space.
    FUZZ_CHECK(!nonce->empty() && nonce->size() <= 1024 && nonce->size() <= value.size());
    FUZZ_CHECK(value.find(*nonce) != std::string::npos);
    for (char c : *nonce) {
      const auto u = static_cast<unsigned char>(c);
      FUZZ_CHECK(u > 0x20 && u < 0x7F && c != '"' && c != '\\');
    }
  }
  return 0;
}
