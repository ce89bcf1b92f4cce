#include "util/encoding.hpp"

#include <gtest/gtest.h>

#include "util/crypto.hpp"

namespace freshtoken::util {
namespace {

TEST(Base64Url, MatchesRfc4648Vectors) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64url_decode("Zm9vYg"), "foob");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
}

TEST(Base64Url, RejectsForeignCharactersAndImpossibleLengths) {
  EXPECT_FALSE(base64url_decode("Zm9v+").has_value());
  EXPECT_FALSE(base64url_decode("Z").has_value());
  EXPECT_FALSE(base64url_decode("Zm 9v").has_value());
}

TEST(Pkce, S256ChallengeMatchesRfc7636AppendixB) {
  EXPECT_EQ(base64url_encode(sha256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(FormEncoding, RoundTripsReservedCharacters) {
  FormFields fields{
      {"grant_type", "refresh_token"}, {"scope", "openid profile"}, {"x", "a&b=c%d+é"}};
  std::string body = form_encode(fields);
  EXPECT_EQ(body, "grant_type=refresh_token&scope=openid+profile&x=a%26b%3Dc%25d%2B%C3%A9");
  EXPECT_EQ(form_decode_fields(body), fields);
}

TEST(FormEncoding, RejectsMalformedEscapes) {
  EXPECT_FALSE(form_decode("%").has_value());
  EXPECT_FALSE(form_decode("%4").has_value());
  EXPECT_FALSE(form_decode("%zz").has_value());
  EXPECT_FALSE(form_decode_fields("a=%G1").has_value());
  EXPECT_EQ(form_decode("%41"), "A");
}

TEST(Random, BytesDifferBetweenCalls) {
  EXPECT_EQ(random_bytes(32).size(), 32u);
  EXPECT_NE(random_bytes(32), random_bytes(32));
}

}  // namespace
}  // namespace freshtoken::util

namespace freshtoken::util {
namespace {

TEST(Printable, ControlCharactersOfEveryKindBecomeQuestionMarks) {
  EXPECT_EQ(printable("a\x1b[31mb\x07\r\n\x7f"), "a?[31mb????");
  // U+009B (CSI as a C1 control) in UTF-8, and a raw 0x9b byte.
  EXPECT_EQ(printable("x\xc2\x9b"
                      "2Jy"),
            "x?2Jy");
  EXPECT_EQ(printable("x\x9b"
                      "2J"),
            "x?2J");
}

TEST(Printable, ValidUtf8IsKeptAndInvalidBytesAreNot) {
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x9c\x93"), "caf\xc3\xa9 \xe2\x9c\x93");
  EXPECT_EQ(printable("\xc0\xaf"), "??");       // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "???");  // a surrogate
  EXPECT_EQ(printable("\xe2\x9c"), "??");       // cut short
}

TEST(Printable, CutsOnACharacterBoundary) {
  EXPECT_EQ(printable("abcdef", 4), "abcd...");
  EXPECT_EQ(printable("ab\xc3\xa9", 3), "ab...");
  EXPECT_EQ(printable("abc", 3), "abc");
}

}  // namespace
}  // namespace freshtoken::util
