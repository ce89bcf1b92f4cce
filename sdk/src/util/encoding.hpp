// Encodings that OAuth speaks (internal): base64url (RFC 4648 §5, no padding), standard
// base64, and application/x-www-form-urlencoded (WHATWG URL §5).
#pragma once

#include <cstddef>
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
// Parses "a=1&b=2" keeping repeats and empty names; nullopt when any part is malformed.
// For reading protocol parameters use parse_form, which also refuses repeats.
std::optional<FormFields> form_decode_fields(std::string_view body);

// What parse_form read, or why it refused.
struct ParsedForm {
  enum class Status { ok, malformed_escape, repeated_name };
  Status status = Status::ok;
  FormFields fields;       // ok: the parameters in order, each name once, none empty
  std::string name;        // repeated_name: the name (decoded) that appears twice; from the
                           // peer, so never put it in a message: use describe()
  std::size_t offset = 0;  // malformed_escape: byte offset of the bad '%' in the input

  explicit operator bool() const { return status == Status::ok; }
  // The value of `name`, nullptr when absent.
  const std::string* find(std::string_view name) const;
  // "" when ok, else a short reason: the offset, or the repeated parameter's name when it is
  // a registered OAuth parameter name. Never a value, never other text from the peer.
  std::string describe() const;
};

// The strict decoder of an application/x-www-form-urlencoded body or query string, as OAuth
// reads requests and redirects: '+' is a space, %XX a byte, any other '%' is refused, and a
// parameter name that appears twice is refused (RFC 6749 §3.1, §3.2). Empty parts
// ("a=1&&b=2") and parts with an empty name ("=x") name no parameter and are skipped. A
// malformed escape anywhere is reported before a repeat.
ParsedForm parse_form(std::string_view text);

// Untrusted text made safe to print in a message or a terminal: every control character (C0,
// DEL, and the C1 range U+0080..U+009F, which terminals read as escape sequences) and every
// byte that is not part of valid UTF-8 becomes '?'; cut after `max` bytes (on a character
// boundary) with "..." added. Only for values that cannot be secrets.
std::string printable(std::string_view text, std::size_t max = 200);

// Text for an HTML page's body or attribute value: & < > " ' as character references.
std::string html_escape(std::string_view text);

}  // namespace freshtoken::util
