// The pure parsers behind AuthorizationServer: RFC 6749 §5.1/§5.2 bodies, discovery and
// device authorization documents, Retry-After and HTTP-date, URL helpers.
#include "oauth_parsing.hpp"

#include <gtest/gtest.h>

#include <string>

namespace freshtoken::detail {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kNow = TimePoint(seconds(1'700'000'000));

std::string token_body(const std::string& extra) {
  return R"({"access_token":"at","token_type":"Bearer")" + extra + "}";
}

TEST(ParseTokenResponse, TokenTypeIsCaseInsensitiveAndNormalisedToBearer) {
  for (const char* type : {"Bearer", "bearer", "BEARER", "bEaReR"}) {
    SCOPED_TRACE(type);
    auto tokens = parse_token_response(
        std::string(R"({"access_token":"at","token_type":")") + type + R"("})", kNow);
    ASSERT_TRUE(tokens);
    EXPECT_EQ(tokens->token_type, "Bearer");
  }
}

TEST(ParseTokenResponse, OtherTokenTypesAreRefused) {
  for (const char* type : {"mac", "DPoP", "Bearer ", "N_A"}) {
    SCOPED_TRACE(type);
    auto tokens = parse_token_response(
        std::string(R"({"access_token":"at","token_type":")") + type + R"("})", kNow);
    ASSERT_FALSE(tokens);
    EXPECT_EQ(tokens.error().code(), ErrorCode::invalid_response);
  }
}

TEST(ParseTokenResponse, ExpiresInAsNumberOrNumericString) {
  auto number = parse_token_response(token_body(R"(,"expires_in":3600)"), kNow);
  auto text = parse_token_response(token_body(R"(,"expires_in":"3600")"), kNow);
  auto fraction = parse_token_response(token_body(R"(,"expires_in":3600.9)"), kNow);
  ASSERT_TRUE(number);
  ASSERT_TRUE(text);
  ASSERT_TRUE(fraction);
  EXPECT_EQ(number->expires_at, kNow + seconds(3600));
  EXPECT_EQ(text->expires_at, kNow + seconds(3600));
  EXPECT_EQ(fraction->expires_at, kNow + seconds(3600));
  EXPECT_EQ(number->issued_at, kNow);
}

TEST(ParseTokenResponse, MissingOrNullExpiresInLeavesExpiryUnknown) {
  auto missing = parse_token_response(token_body(""), kNow);
  auto null = parse_token_response(token_body(R"(,"expires_in":null)"), kNow);
  ASSERT_TRUE(missing);
  ASSERT_TRUE(null);
  EXPECT_FALSE(missing->expires_at.has_value());
  EXPECT_FALSE(null->expires_at.has_value());
}

TEST(ParseTokenResponse, ZeroOrNegativeExpiresInMeansAlreadyExpired) {
  for (const char* value : {"0", "-30", "\"-5\"", "-1e300"}) {
    SCOPED_TRACE(value);
    auto tokens = parse_token_response(token_body(std::string(R"(,"expires_in":)") + value), kNow);
    ASSERT_TRUE(tokens);
    EXPECT_EQ(tokens->expires_at, kNow);
  }
}

TEST(ParseTokenResponse, AbsurdlyLargeExpiresInIsClampedToTenYears) {
  for (const char* value :
       {"999999999999999999999999", "1e300", "\"99999999999999999999\"", "18446744073709551615"}) {
    SCOPED_TRACE(value);
    auto tokens = parse_token_response(token_body(std::string(R"(,"expires_in":)") + value), kNow);
    ASSERT_TRUE(tokens);
    EXPECT_EQ(tokens->expires_at, kNow + kMaxExpiresIn);
  }
}

TEST(ParseTokenResponse, OptionalFieldsAreReadAndUnknownFieldsIgnored) {
  auto tokens = parse_token_response(
      R"({"access_token":"at","token_type":"bearer","expires_in":60,"refresh_token":"rt",
          "scope":"openid profile","id_token":"a.b.c","x_vendor":{"nested":[1,2,{"k":null}]},
          "another":false})",
      kNow);
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  EXPECT_EQ(tokens->access_token.reveal(), "at");
  EXPECT_EQ(tokens->refresh_token.reveal(), "rt");
  EXPECT_EQ(tokens->scope, "openid profile");
  EXPECT_EQ(tokens->id_token.reveal(), "a.b.c");
}

TEST(ParseTokenResponse, NullOptionalFieldsCountAsAbsent) {
  auto tokens = parse_token_response(
      token_body(R"(,"refresh_token":null,"scope":null,"id_token":null)"), kNow);
  ASSERT_TRUE(tokens);
  EXPECT_TRUE(tokens->refresh_token.empty());
  EXPECT_TRUE(tokens->scope.empty());
  EXPECT_TRUE(tokens->id_token.empty());
}

TEST(ParseTokenResponse, DeeplyNestedGarbageIsAnErrorNotACrash) {
  std::string deep(100'000, '[');
  auto tokens = parse_token_response(deep, kNow);
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::invalid_response);
}

TEST(ParseOAuthError, ReadsErrorDescriptionAndUri) {
  auto e = parse_oauth_error(
      R"({"error":"invalid_grant","error_description":"expired","error_uri":"https://x/e"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->error, "invalid_grant");
  EXPECT_EQ(e->description, "expired");
  EXPECT_EQ(e->uri, "https://x/e");
}

TEST(ParseOAuthError, OnlyErrorIsRequiredAndMistypedExtrasAreDropped) {
  auto e = parse_oauth_error(R"({"error":"slow_down","error_description":5})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->error, "slow_down");
  EXPECT_TRUE(e->description.empty());
}

TEST(ParseOAuthError, AnythingElseIsNotAnOAuthError) {
  for (const char* body : {"", "<html>", R"({"error":5})", R"({"error":""})", R"(["error"])",
                           R"({"message":"x"})", R"({"error":"x")"}) {
    SCOPED_TRACE(body);
    EXPECT_FALSE(parse_oauth_error(body).has_value());
  }
}

TEST(ParseOAuthError, ControlCharactersInTheDescriptionAreNeutralised) {
  auto e = parse_oauth_error(R"({"error":"x","error_description":"line1\nline2\u001b[31m"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->description.find('\n'), std::string::npos);
  EXPECT_EQ(e->description.find('\x1b'), std::string::npos);
}

TEST(ParseDeviceAuthorization, AcceptsVerificationUrlAndDefaultsTheInterval) {
  auto d = parse_device_authorization(
      R"({"device_code":"dc","user_code":"ABCD","verification_url":"https://g.co/device",
          "expires_in":"900"})");
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(d->verification_uri, "https://g.co/device");
  EXPECT_TRUE(d->verification_uri_complete.empty());
  EXPECT_EQ(d->expires_in, seconds(900));
  EXPECT_EQ(d->interval, seconds(5));
}

TEST(ParseDeviceAuthorization, ZeroIntervalIsKeptAndANegativeOneFallsBackToFiveSeconds) {
  auto zero = parse_device_authorization(
      R"({"device_code":"dc","user_code":"U","verification_uri":"https://x","expires_in":60,
          "interval":0})");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->interval, seconds(0));
  auto negative = parse_device_authorization(
      R"({"device_code":"dc","user_code":"U","verification_uri":"https://x","expires_in":60,
          "interval":-3})");
  ASSERT_TRUE(negative);
  EXPECT_EQ(negative->interval, seconds(5));
}

TEST(ParseDeviceAuthorization, MissingRequiredFieldsAreNamed) {
  struct Case {
    const char* body;
    const char* message;
  } cases[] = {
      {R"({"user_code":"U","verification_uri":"https://x","expires_in":60})",
       "device_code missing"},
      {R"({"device_code":"SECRET-DC","verification_uri":"https://x","expires_in":60})",
       "user_code missing"},
      {R"({"device_code":"SECRET-DC","user_code":"U","expires_in":60})",
       "verification_uri missing"},
      {R"({"device_code":"SECRET-DC","user_code":"U","verification_uri":"https://x"})",
       "expires_in missing"},
      {R"({"device_code":"SECRET-DC","user_code":"U","verification_uri":"https://x",
           "expires_in":60,"interval":"fast"})",
       "interval is not a number"},
      {"<html>SECRET-DC</html>", "not valid JSON"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    auto d = parse_device_authorization(c.body);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code(), ErrorCode::invalid_response);
    EXPECT_NE(d.error().message().find(c.message), std::string::npos) << d.error().message();
    EXPECT_EQ(d.error().message().find("SECRET-DC"), std::string::npos);
  }
}

TEST(ParseDiscoveryDocument, RequiresAnIssuer) {
  auto m = parse_discovery_document(R"({"token_endpoint":"https://x/token"})");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("issuer missing"), std::string::npos);
}

TEST(ParseDiscoveryDocument, ArraysMustHoldStrings) {
  auto m = parse_discovery_document(
      R"({"issuer":"https://x","code_challenge_methods_supported":["S256",1]})");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("code_challenge_methods_supported"), std::string::npos);
}

TEST(RetryAfter, DeltaSeconds) {
  EXPECT_EQ(parse_retry_after("120", kNow), milliseconds(120'000));
  EXPECT_EQ(parse_retry_after(" 5 ", kNow), milliseconds(5'000));
  EXPECT_EQ(parse_retry_after("0", kNow), milliseconds(0));
}

TEST(RetryAfter, HugeDelaysAreClampedToADay) {
  EXPECT_EQ(parse_retry_after("999999999999999999999", kNow), milliseconds(kMaxRetryAfter));
  EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", kNow), milliseconds(kMaxRetryAfter));
}

TEST(RetryAfter, HttpDateIsRelativeToNow) {
  // kNow is Tue, 14 Nov 2023 22:13:20 GMT.
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:14:20 GMT", kNow), milliseconds(60'000));
  EXPECT_EQ(parse_retry_after("Tuesday, 14-Nov-23 22:13:30 GMT", kNow), milliseconds(10'000));
  EXPECT_EQ(parse_retry_after("Tue Nov 14 22:13:25 2023", kNow), milliseconds(5'000));
}

TEST(RetryAfter, DateInThePastMeansNow) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kNow), milliseconds(0));
}

TEST(RetryAfter, GarbageIsIgnored) {
  for (const char* value : {"", "-1", "soon", "1.5", "Tue, 14 Nov 2023 22:14:20", "5 s",
                            "Tue, 31 Feb 2023 10:00:00 GMT", "Tue, 14 Nov 2023 25:00:00 GMT",
                            "Foo, 14 Nov 2023 22:14:20 GMT", "Tue, 14 Xyz 2023 22:14:20 GMT"}) {
    SCOPED_TRACE(value);
    EXPECT_FALSE(parse_retry_after(value, kNow).has_value());
  }
}

TEST(HttpDate, AllThreeFormsOfRfc9110AgreeOnTheSameInstant) {
  const TimePoint expected(seconds(784111777));  // 1994-11-06T08:49:37Z, RFC 9110's example
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), expected);
}

TEST(HttpDate, LeapDayIsValidOnlyInLeapYears) {
  EXPECT_TRUE(parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT").has_value());
  EXPECT_FALSE(parse_http_date("Wed, 29 Feb 2023 00:00:00 GMT").has_value());
}

TEST(Urls, OauthMetadataUrlUsesTheParsedIssuer) {
  // RFC 8414 §3.1 with the shared parser: scheme and host lower-cased, port kept.
  EXPECT_EQ(oauth_metadata_url("HTTPS://AS.Example:8443/tenant/"),
            "https://as.example:8443/.well-known/oauth-authorization-server/tenant");
  EXPECT_EQ(oauth_metadata_url("http://[::1]:8080"),
            "http://[::1]:8080/.well-known/oauth-authorization-server");
}

TEST(Urls, OnlyHttpsOrLoopbackHttpIsAcceptedForEndpoints) {
  EXPECT_TRUE(check_endpoint_url("e", "https://as.example/token"));
  EXPECT_TRUE(check_endpoint_url("e", "http://127.0.0.1:1/token"));
  EXPECT_TRUE(check_endpoint_url("e", "http://[::1]/token"));
  EXPECT_TRUE(check_endpoint_url("e", "http://LOCALHOST:9/token"));
  EXPECT_FALSE(check_endpoint_url("e", "http://as.example/token"));
  EXPECT_FALSE(check_endpoint_url("e", "http://127.0.0.1.evil.example/token"));
  EXPECT_FALSE(check_endpoint_url("e", "http://localhost@evil.example/token"));
  EXPECT_FALSE(check_endpoint_url("e", "ftp://as.example/token"));
  EXPECT_FALSE(check_endpoint_url("e", "/token"));
  EXPECT_FALSE(check_endpoint_url("e", "https://as.example:99999/token"));
  EXPECT_FALSE(check_endpoint_url("e", "https://as example/token"));
  EXPECT_TRUE(check_endpoint_url("e", "http://[::ffff:127.0.0.1]:8/token"));
  EXPECT_EQ(check_endpoint_url("token_endpoint", "http://x/").error().code(), ErrorCode::config);
}

TEST(Urls, WellKnownLocations) {
  EXPECT_EQ(openid_configuration_url("https://as.example/"),
            "https://as.example/.well-known/openid-configuration");
  EXPECT_EQ(oauth_metadata_url("https://as.example"),
            "https://as.example/.well-known/oauth-authorization-server");
  EXPECT_EQ(oauth_metadata_url("https://as.example/"),
            "https://as.example/.well-known/oauth-authorization-server");
  EXPECT_EQ(oauth_metadata_url("https://as.example/issuer1"),
            "https://as.example/.well-known/oauth-authorization-server/issuer1");
}

}  // namespace
}  // namespace freshtoken::detail
