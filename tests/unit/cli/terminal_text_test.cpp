#include "terminal_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace freshtoken::cli {
namespace {

using namespace std::string_literals;

TEST(EscapeControls, PlainTextAndUtf8AreKept) {
  EXPECT_EQ(escape_controls("https://as.example/device?x=1&y=2"),
            "https://as.example/device?x=1&y=2");
  EXPECT_EQ(escape_controls("WDJB-MJHT"), "WDJB-MJHT");
  EXPECT_EQ(escape_controls("Zoë Ångström 名前 \xf0\x9f\x94\x91"),
            "Zoë Ångström 名前 \xf0\x9f\x94\x91");
  EXPECT_EQ(escape_controls("\xc2\xa0"), "\xc2\xa0") << "U+00A0, the first after C1, is kept";
  EXPECT_EQ(escape_controls(""), "");
}

TEST(EscapeControls, C0ControlsAndDelAreWrittenOut) {
  EXPECT_EQ(escape_controls("\x1b[2J\x1b]0;owned\x07"), "\\x1b[2J\\x1b]0;owned\\x07");
  EXPECT_EQ(escape_controls("a\rb\nc\td\x7f"), "a\\x0db\\x0ac\\x09d\\x7f");
  EXPECT_EQ(escape_controls("nul\0x"s), "nul\\x00x");
  EXPECT_EQ(escape_controls("\x1f"), "\\x1f");
}

TEST(EscapeControls, C1ControlsAreWrittenOut) {
  // U+009B is CSI on its own: "\xc2\x9b" "31m" would turn a UTF-8 terminal red.
  EXPECT_EQ(escape_controls("a\xc2\x9b"
                            "31mb"),
            "a\\u009b31mb");
  EXPECT_EQ(escape_controls("\xc2\x80\xc2\x9f"), "\\u0080\\u009f");
}

TEST(EscapeControls, BytesThatAreNotUtf8AreWrittenOut) {
  EXPECT_EQ(escape_controls("\x9b"
                            "31m"),
            "\\x9b31m")
      << "a lone C1 byte (8-bit terminals)";
  EXPECT_EQ(escape_controls("\xc0\x9b"), "\\xc0\\x9b") << "overlong";
  EXPECT_EQ(escape_controls("\xe0\x82\x9b"), "\\xe0\\x82\\x9b") << "overlong, three bytes";
  EXPECT_EQ(escape_controls("\xed\xa0\x80"), "\\xed\\xa0\\x80") << "a UTF-16 surrogate";
  EXPECT_EQ(escape_controls("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80") << "beyond U+10FFFF";
  EXPECT_EQ(escape_controls("\xe2\x82"), "\\xe2\\x82") << "cut short";
  EXPECT_EQ(escape_controls("\xff"), "\\xff");
}

TEST(EscapeControls, BackslashIsDoubledSoThatEscapesAreUnambiguous) {
  EXPECT_EQ(escape_controls("\\x1b"), "\\\\x1b");
}

TEST(EscapeControls, OutputHasNoControlByteLeft) {
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
  const std::string escaped = escape_controls(every_byte);
  for (unsigned char c : escaped) {
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << static_cast<int>(c) << " left in output";
  }
}

}  // namespace
}  // namespace freshtoken::cli
