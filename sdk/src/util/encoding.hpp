// Encodings that OAuth speaks (internal): base64url (RFC 4648 §5, no padding), standard
// base64, and application/x-www-form-urlencoded (WHATWG URL §5).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace freshtoken::util {

std::string base64url_encode(std::string_view bytes);
// Accepts unpadded input (and tolerates padding); nullopt on any other character.
std::optional<std::string> base64url_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// Percent-encodes everything but ALPHA / DIGIT / "*-._" and turns spaces into '+'.
std::string form_encode(std::string_view text);
// Decodes '+' and %XX; nullopt on a malformed escape.
std::optional<std::string> form_decode(std::string_view text);

using FormFields = std::vector<std::pair<std::string, std::string>>;
// "a=1&b=2"
std::string form_encode(const FormFields& fields);
// Parses "a=1&b=2"; nullopt when any part is malformed.
std::optional<FormFields> form_decode_fields(std::string_view body);

}  // namespace freshtoken::util
