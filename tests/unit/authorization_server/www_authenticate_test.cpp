// WWW-Authenticate parsing (RFC 9110 §11.6.1) and the RFC 6750 Bearer challenge.
#include "www_authenticate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace freshtoken::detail {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

TEST(WwwAuthenticate, BearerWithErrorAndDescription) {
  auto challenges =
      parse_www_authenticate(R"(Bearer error="invalid_token", error_description="x")");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].scheme, "Bearer");
  EXPECT_EQ(challenges[0].params, (Params{{"error", "invalid_token"}, {"error_description", "x"}}));

  auto bearer = find_bearer_challenge({R"(Bearer error="invalid_token", error_description="x")"});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->error, "invalid_token");
  EXPECT_EQ(bearer->error_description, "x");
}

TEST(WwwAuthenticate, BareBearerIsAChallengeWithoutParameters) {
  auto challenges = parse_www_authenticate("Bearer");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_TRUE(challenges[0].params.empty());
  auto bearer = find_bearer_challenge({"Bearer"});
  ASSERT_TRUE(bearer);
  EXPECT_TRUE(bearer->error.empty());
}

TEST(WwwAuthenticate, BearerWithRealmOnly) {
  auto bearer = find_bearer_challenge({R"(Bearer realm="api")"});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->realm, "api");
  EXPECT_TRUE(bearer->error.empty());
}

TEST(WwwAuthenticate, SchemeAndParameterNamesAreCaseInsensitive) {
  auto bearer = find_bearer_challenge({R"(bearer ERROR="invalid_token", Realm=api)"});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->error, "invalid_token");
  EXPECT_EQ(bearer->realm, "api");
  EXPECT_TRUE(find_bearer_challenge({"BEARER"}).has_value());
}

TEST(WwwAuthenticate, SeveralChallengesInOneHeader) {
  auto challenges = parse_www_authenticate(
      R"(Basic realm="x", Bearer error="insufficient_scope", scope="admin")");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challenges[0].scheme, "Basic");
  EXPECT_EQ(challenges[0].params, (Params{{"realm", "x"}}));
  EXPECT_EQ(challenges[1].scheme, "Bearer");
  EXPECT_EQ(challenges[1].params, (Params{{"error", "insufficient_scope"}, {"scope", "admin"}}));

  auto bearer = find_bearer_challenge(
      {R"(Basic realm="x", Bearer error="insufficient_scope", scope="admin")"});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->error, "insufficient_scope");
  EXPECT_EQ(bearer->scope, "admin");
}

TEST(WwwAuthenticate, DpopChallengeReadsTheRfc6750FieldsOfAnInsufficientScope) {
  auto dpop = find_dpop_challenge(
      {R"(Bearer realm="x", DPoP algs="ES256", error="insufficient_scope", scope="files.write", )"
       R"(error_description="needs write", error_uri="https://docs.example/scopes")"});
  ASSERT_TRUE(dpop);
  EXPECT_EQ(dpop->error, "insufficient_scope");
  EXPECT_EQ(dpop->scope, "files.write");
  EXPECT_EQ(dpop->error_description, "needs write");
  EXPECT_EQ(dpop->error_uri, "https://docs.example/scopes");
}

TEST(WwwAuthenticate, BearerFoundInALaterHeaderField) {
  auto bearer = find_bearer_challenge({R"(Basic realm="x")", R"(Bearer error="invalid_token")"});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->error, "invalid_token");
  EXPECT_FALSE(find_bearer_challenge({R"(Basic realm="x")", "Negotiate"}).has_value());
  EXPECT_FALSE(find_bearer_challenge({}).has_value());
}

TEST(WwwAuthenticate, QuotedStringsKeepCommasAndUnescapeQuotedPairs) {
  auto challenges =
      parse_www_authenticate(R"(Bearer scope="read, write", error_description="say \"hi\"\\")");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].param("scope"), "read, write");
  EXPECT_EQ(challenges[0].param("error_description"), R"(say "hi"\)");
}

TEST(WwwAuthenticate, Token68AndSpacesAroundEquals) {
  auto challenges = parse_www_authenticate("Negotiate abc+/==, Bearer realm = \"r\" ,error=x");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challenges[0].scheme, "Negotiate");
  EXPECT_EQ(challenges[0].token68, "abc+/==");
  EXPECT_EQ(challenges[1].params, (Params{{"realm", "r"}, {"error", "x"}}));
}

TEST(WwwAuthenticate, SchemesWithoutParametersSeparatedByCommas) {
  auto challenges = parse_www_authenticate("Negotiate, NTLM ,Bearer");
  ASSERT_EQ(challenges.size(), 3u);
  EXPECT_EQ(challenges[2].scheme, "Bearer");
}

TEST(WwwAuthenticate, MalformedInputYieldsWhatCanBeReadAndNeverCrashes) {
  // An unterminated quoted string ends the parse, keeping what came before it.
  auto cut = parse_www_authenticate(R"(Bearer realm="api", error="invalid_to)");
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].param("realm"), "api");
  EXPECT_FALSE(cut[0].param("error").has_value());

  // Junk in one challenge does not hide the next.
  auto junk = parse_www_authenticate(R"(Basic realm="x" junk, Bearer error="invalid_token")");
  auto bearer = find_bearer_challenge({R"(Basic realm="x" junk, Bearer error="invalid_token")"});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->error, "invalid_token");
  EXPECT_GE(junk.size(), 2u);

  const std::string full =
      R"(Basic realm="x", Bearer error="insufficient_scope", scope="a b", error_description="q\"\\", Negotiate abc==)";
  std::vector<std::string> inputs = {"",
                                     ",",
                                     ",,,",
                                     "=",
                                     "\"",
                                     "\\",
                                     "Bearer =",
                                     "Bearer a=",
                                     "Bearer a=\"",
                                     "Bearer \"x\"",
                                     "Bearer,=,=",
                                     "\t \t",
                                     "Bearer\x01 x=y",
                                     std::string("Bearer\0x", 8)};
  for (std::size_t i = 0; i <= full.size(); ++i) inputs.push_back(full.substr(0, i));
  for (std::size_t i = 0; i < full.size(); ++i) inputs.push_back(full.substr(i));
  for (const auto& input : inputs) {
    SCOPED_TRACE(input);
    auto challenges = parse_www_authenticate(input);
    EXPECT_LE(challenges.size(), input.size());
    (void)find_bearer_challenge({input});
  }
}

}  // namespace
}  // namespace freshtoken::detail
