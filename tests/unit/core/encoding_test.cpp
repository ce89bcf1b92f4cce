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
