#include "terminal_text.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>

namespace freshtoken::cli {
namespace {

void append_escape(std::string& out, const char* format, unsigned value) {
  char text[16];
  std::snprintf(text, sizeof text, format, value);
  out += text;
}

// Length of the well-formed UTF-8 sequence (RFC 3629) that starts `text` and its code point,
// or 0 when the first byte does not start one.
std::size_t utf8_sequence(std::string_view text, std::uint32_t* code_point) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  std::uint32_t value = 0;
  std::uint32_t minimum = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    value = lead & 0x1fu;
    minimum = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    value = lead & 0x0fu;
    minimum = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    value = lead & 0x07u;
    minimum = 0x10000;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0u) != 0x80u) return 0;
    value = (value << 6) | (byte(i) & 0x3fu);
  }
  // Overlong forms, UTF-16 surrogates and values beyond Unicode are not well-formed.
  if (value < minimum || (value >= 0xd800 && value <= 0xdfff) || value > 0x10ffff) return 0;
  *code_point = value;
  return length;
}

}  // namespace

std::string escape_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const auto c = static_cast<unsigned char>(text.front());
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) {
        append_escape(out, "\\x%02x", c);
      } else if (c == '\\') {
        out += "\\\\";
      } else {
        out += static_cast<char>(c);
      }
      text.remove_prefix(1);
      continue;
    }
    std::uint32_t code_point = 0;
    const std::size_t length = utf8_sequence(text, &code_point);
    if (length == 0) {
      append_escape(out, "\\x%02x", c);
      text.remove_prefix(1);
    } else if (code_point <= 0x9f) {
      append_escape(out, "\\u%04x", code_point);
      text.remove_prefix(length);
    } else {
      out.append(text.substr(0, length));
      text.remove_prefix(length);
    }
  }
  return out;
}

}  // namespace freshtoken::cli
