// util::parse_form: the one strict application/x-www-form-urlencoded decoder that the mock
// server (bodies and query strings) and the loopback listener (the redirect's query) share.
#include <gtest/gtest.h>

#include <string>

#include "util/encoding.hpp"

namespace freshtoken::util {
namespace {

using Status = ParsedForm::Status;

TEST(ParseForm, DecodesPlusAsSpaceAndPercentEscapesInOrder) {
  auto form = parse_form("b=x+y&a=%41%2b%2F&c=%e2%82%AC&d");
  ASSERT_TRUE(form) << form.describe();
  EXPECT_EQ(form.fields,
            (FormFields{{"b", "x y"}, {"a", "A+/"}, {"c", "\xe2\x82\xac"}, {"d", ""}}));
  ASSERT_NE(form.find("a"), nullptr);
  EXPECT_EQ(*form.find("a"), "A+/");
  EXPECT_EQ(form.find("missing"), nullptr);
  EXPECT_EQ(form.describe(), "");
}

TEST(ParseForm, EmptyInputPartsAndNamesNameNoParameter) {
  EXPECT_TRUE(parse_form("").fields.empty());
  auto form = parse_form("&&a=1&&=orphan&=&b=2&");
  ASSERT_TRUE(form);
  EXPECT_EQ(form.fields, (FormFields{{"a", "1"}, {"b", "2"}}));
}

TEST(ParseForm, MalformedEscapesAreRefusedWithTheirOffset) {
  struct Case {
    const char* text;
    std::size_t offset;
  };
  for (const Case& c : {Case{"%", 0}, Case{"a=%4", 2}, Case{"a=1&b=%zz", 6}, Case{"a%G1=1", 1},
                        Case{"a=%%41", 2}, Case{"a=1&b=2%", 7}}) {
    auto form = parse_form(c.text);
    EXPECT_FALSE(form) << c.text;
    EXPECT_EQ(form.status, Status::malformed_escape) << c.text;
    EXPECT_EQ(form.offset, c.offset) << c.text;
    EXPECT_TRUE(form.fields.empty()) << c.text;
    EXPECT_EQ(form.describe(), "malformed percent-escape at byte " + std::to_string(c.offset));
  }
}

TEST(ParseForm, ARepeatedNameIsRefusedEvenWhenEncodedDifferently) {
  for (const char* text : {"grant_type=a&grant_type=b", "state=x&state=x", "scope=&scope=x",
                           "a=1&%61=2", "a+b=1&a%20b=2"}) {
    auto form = parse_form(text);
    EXPECT_EQ(form.status, Status::repeated_name) << text;
    EXPECT_TRUE(form.fields.empty()) << text;
  }
  // A malformed escape after the repeat makes the whole input malformed.
  EXPECT_EQ(parse_form("a=1&a=2&b=%zz").status, Status::malformed_escape);
  auto form = parse_form("code=SECRET1&code=SECRET2");
  EXPECT_EQ(form.name, "code");
  EXPECT_EQ(form.describe(), "parameter 'code' is repeated");
}

TEST(ParseForm, DescribeNamesOnlyOAuthParametersAndNeverAValue) {
  // Any other name is text from the peer that could be anything, a secret included.
  auto form = parse_form("SECRET=1&SECRET=2");
  ASSERT_EQ(form.status, Status::repeated_name);
  EXPECT_EQ(form.name, "SECRET");
  EXPECT_EQ(form.describe(), "a parameter is repeated");
  EXPECT_EQ(parse_form("state=1&st%61te=2").describe(), "parameter 'state' is repeated");
  auto bad = parse_form("token=SECRET%zz");
  EXPECT_EQ(bad.describe().find("SECRET"), std::string::npos);
}

TEST(ParseForm, RoundTripsWhatFormEncodeWrites) {
  const FormFields fields = {{"redirect_uri", "http://127.0.0.1:5/cb?x=1&y=2"},
                             {"scope", "openid profile"},
                             {"weird *-._~!", std::string("\0\x01\xff", 3)}};
  auto form = parse_form(form_encode(fields));
  ASSERT_TRUE(form);
  EXPECT_EQ(form.fields, fields);
}

TEST(FormDecodeFields, StaysLenientAboutRepeatsButNotAboutEscapes) {
  EXPECT_EQ(form_decode_fields("a=1&a=2"), (FormFields{{"a", "1"}, {"a", "2"}}));
  EXPECT_FALSE(form_decode_fields("a=1&a=%2"));
}

}  // namespace
}  // namespace freshtoken::util
