// Fuzzes the WWW-Authenticate parser (RFC 9110 §11.6.1) and the Bearer challenge lookup
// (RFC 6750 §3). Each input line is one header value, as a 401 may carry several.
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
    }
  }

  const auto bearer = find_bearer_challenge(values);
  FUZZ_CHECK(bearer.has_value() == (first_bearer != nullptr));
  if (bearer) {
    FUZZ_CHECK(bearer->error == first_bearer->param("error").value_or(""));
    FUZZ_CHECK(bearer->scope == first_bearer->param("scope").value_or(""));
    FUZZ_CHECK(bearer->realm == first_bearer->param("realm").value_or(""));
  }
  return 0;
}
