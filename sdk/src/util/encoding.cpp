#include "util/encoding.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <utility>

#include "util/crypto.hpp"

namespace freshtoken::util {

namespace {

constexpr char kBase64Std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = (std::uint8_t(bytes[i]) << 16) | (std::uint8_t(bytes[i + 1]) << 8) |
                      std::uint8_t(bytes[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = std::uint8_t(bytes[i]) << 16;
    if (rest == 2) n |= std::uint8_t(bytes[i + 1]) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    if (rest == 2) out += alphabet[(n >> 6) & 63];
    if (pad) out.append(rest == 1 ? 2 : 1, '=');
  }
  return out;
}

std::optional<std::string> decode(std::string_view text, const char* alphabet) {
  std::array<int, 256> value;
  value.fill(-1);
  for (int i = 0; i < 64; ++i) value[static_cast<unsigned char>(alphabet[i])] = i;
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : text) {
    int v = value[c];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | std::uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes '+' and %XX into `out`; npos on success, else the offset of the bad '%'. `out` may
// hold the previous value (a code, a token): it is wiped before it is reused or reallocated.
std::size_t decode_component(std::string_view text, std::string& out) {
  wipe(out);
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) return i;
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return i;
      out += char(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return std::string_view::npos;
}

// Calls on_field(name, value) for every non-empty part of "a=1&b=2"; npos on success, else
// the offset of the first malformed escape (or what on_field returned when not npos).
template <typename OnField>
std::size_t for_each_field(std::string_view body, OnField&& on_field) {
  std::string name;
  std::string value;
  // What on_field did not take may be a code or a token.
  struct WipeScratch {
    std::string& name;
    std::string& value;
    ~WipeScratch() {
      wipe(name);
      wipe(value);
    }
  } wipe_scratch{name, value};
  std::size_t start = 0;
  while (start < body.size()) {
    auto amp = body.find('&', start);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view part = body.substr(start, amp - start);
    if (!part.empty()) {
      auto eq = part.find('=');
      std::string_view raw_name = part.substr(0, eq);
      std::string_view raw_value =
          eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
      if (auto bad = decode_component(raw_name, name); bad != std::string_view::npos) {
        return start + bad;
      }
      if (auto bad = decode_component(raw_value, value); bad != std::string_view::npos) {
        return start + eq + 1 + bad;
      }
      if (auto stop = on_field(name, value); stop != std::string_view::npos) return stop;
    }
    start = amp + 1;
  }
  return std::string_view::npos;
}

// Parameter names from the IANA "OAuth Parameters" registry that freshtoken and the mock
// server read or send.
bool is_oauth_parameter_name(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      // RFC 6749
      "client_id", "client_secret", "response_type", "redirect_uri", "scope", "state", "code",
      "error", "error_description", "error_uri", "grant_type", "access_token", "token_type",
      "expires_in", "refresh_token",
      // RFC 7009, 7636, 8628, 8707, 9207
      "token", "token_type_hint", "code_verifier", "code_challenge", "code_challenge_method",
      "device_code", "user_code", "resource", "iss",
      // OpenID Connect Core
      "nonce", "prompt", "login_hint", "id_token_hint", "max_age", "response_mode"};
  for (std::string_view known : kNames) {
    if (name == known) return true;
  }
  return false;
}

bool is_form_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '*' ||
         c == '-' || c == '.' || c == '_';
}

std::size_t form_encoded_size(std::string_view text) {
  std::size_t size = 0;
  for (unsigned char c : text) size += is_form_unreserved(c) || c == ' ' ? 1 : 3;
  return size;
}

void append_form_encoded(std::string& out, std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if (is_form_unreserved(c)) {
      out += char(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xf];
    }
  }
}

}  // namespace

std::string base64url_encode(std::string_view bytes) { return encode(bytes, kBase64Url, false); }
std::optional<std::string> base64url_decode(std::string_view text) {
  return decode(text, kBase64Url);
}
std::string base64_encode(std::string_view bytes) { return encode(bytes, kBase64Std, true); }
std::optional<std::string> base64_decode(std::string_view text) { return decode(text, kBase64Std); }

std::string form_encode(std::string_view text) {
  std::string out;
  out.reserve(form_encoded_size(text));
  append_form_encoded(out, text);
  return out;
}

std::optional<std::string> form_decode(std::string_view text) {
  std::string out;
  if (decode_component(text, out) != std::string_view::npos) return std::nullopt;
  return out;
}

std::string form_encode(const FormFields& fields) {
  // Sized first and encoded in place: the values are codes, tokens and secrets, and a
  // temporary or a reallocation would leave a copy of them behind.
  std::size_t size = 0;
  for (const auto& [name, value] : fields) {
    size += (size == 0 ? 0 : 1) + form_encoded_size(name) + 1 + form_encoded_size(value);
  }
  std::string out;
  out.reserve(size);
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    append_form_encoded(out, name);
    out += '=';
    append_form_encoded(out, value);
  }
  return out;
}

std::optional<FormFields> form_decode_fields(std::string_view body) {
  FormFields fields;
  auto bad = for_each_field(body, [&](std::string& name, std::string& value) {
    fields.emplace_back(std::move(name), std::move(value));
    return std::string_view::npos;
  });
  if (bad != std::string_view::npos) return std::nullopt;
  return fields;
}

const std::string* ParsedForm::find(std::string_view wanted) const {
  for (const auto& field : fields) {
    if (field.first == wanted) return &field.second;
  }
  return nullptr;
}

std::string ParsedForm::describe() const {
  switch (status) {
    case Status::ok:
      return {};
    case Status::malformed_escape:
      return "malformed percent-escape at byte " + std::to_string(offset);
    case Status::repeated_name:
      // The name comes from the peer and could carry anything, a secret included: it is shown
      // only when it is one of the protocol's own parameter names, which are never secret.
      if (is_oauth_parameter_name(name)) return "parameter '" + name + "' is repeated";
      return "a parameter is repeated";
  }
  return {};
}

ParsedForm parse_form(std::string_view text) {
  // A malformed escape anywhere wins over a repeat: the input is then not a form at all.
  ParsedForm out;
  // Room for every part: growing would move short values, whose bytes live inside the
  // vector's storage, and leave them behind.
  out.fields.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '&')) + 1);
  std::set<std::string> seen;
  bool repeated = false;
  auto bad = for_each_field(text, [&](std::string& name, std::string& value) {
    if (name.empty() || repeated) return std::string_view::npos;
    if (!seen.insert(name).second) {
      repeated = true;
      out.name = std::move(name);
    } else {
      out.fields.emplace_back(std::move(name), std::move(value));
    }
    return std::string_view::npos;
  });
  if (bad != std::string_view::npos) {
    out.status = ParsedForm::Status::malformed_escape;
    out.offset = bad;
    wipe(out.name);
  } else if (repeated) {
    out.status = ParsedForm::Status::repeated_name;
  } else {
    return out;
  }
  for (auto& field : out.fields) wipe(field.second);
  out.fields.clear();
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {
// The UTF-8 sequence starting at text[at]: its length and code point, or a length of 0 when it
// is not valid UTF-8 (overlong, a surrogate, out of range, cut short, a stray byte).
std::pair<std::size_t, std::uint32_t> utf8_at(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return {1, lead};
  std::size_t length = 0;
  std::uint32_t code = 0;
  if ((lead & 0xe0) == 0xc0) {
    length = 2;
    code = lead & 0x1f;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3;
    code = lead & 0x0f;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4;
    code = lead & 0x07;
  } else {
    return {0, 0};
  }
  if (at + length > text.size()) return {0, 0};
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xc0) != 0x80) return {0, 0};
    code = (code << 6) | (byte(at + i) & 0x3f);
  }
  static constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kSmallest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
    return {0, 0};
  return {length, code};
}

bool is_control(std::uint32_t code) { return code < 0x20 || (code >= 0x7f && code <= 0x9f); }
}  // namespace

std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  for (std::size_t at = 0; at < text.size();) {
    const auto [length, code] = utf8_at(text, at);
    const bool keep = length > 0 && !is_control(code);
    if (out.size() + (keep ? length : 1) > max) {
      out += "...";
      break;
    }
    if (keep) {
      out.append(text, at, length);
    } else {
      out += '?';  // a control character as one '?', a byte that is not UTF-8 as one each
    }
    at += length > 0 ? length : 1;
  }
  return out;
}

}  // namespace freshtoken::util
