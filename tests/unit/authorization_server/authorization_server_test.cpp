// AuthorizationServer against a FakeTransport: the shape of every request it sends and the
// classification of every kind of answer.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_helpers.hpp"

namespace freshtoken::testing {
namespace {

using std::chrono::seconds;

constexpr const char* kTokenBody =
    R"({"access_token":"at-1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-2"})";

TEST(TokenRequest, RefreshIsAFormPostWithPublicClientIdInTheBody) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, kTokenBody));
  auto tokens = f.make().refresh(Secret(std::string_view("rt-1")));
  ASSERT_TRUE(tokens) << tokens.error().to_string();

  ASSERT_EQ(f.transport->request_count(), 1u);
  const Request r = f.transport->requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://as.example/token");
  EXPECT_EQ(r.headers.get("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(r.headers.get("Accept"), "application/json");
  EXPECT_FALSE(r.headers.contains("Authorization"));
  auto form = form_of(r);
  EXPECT_EQ(form, (std::map<std::string, std::string>{{"grant_type", "refresh_token"},
                                                      {"refresh_token", "rt-1"},
                                                      {"client_id", "freshtoken-demo"}}));
}

TEST(TokenRequest, RefreshSendsScopeOnlyWhenAsked) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, kTokenBody));
  f.transport->enqueue(json_response(200, kTokenBody));
  auto server = f.make();
  ASSERT_TRUE(server.refresh(Secret(std::string_view("rt")), "openid profile"));
  ASSERT_TRUE(server.refresh(Secret(std::string_view("rt"))));
  EXPECT_EQ(form_of(f.transport->requests()[0])["scope"], "openid profile");
  EXPECT_EQ(form_of(f.transport->requests()[1]).count("scope"), 0u);
}

TEST(TokenRequest, RefreshSendsTheResourceIndicatorOnlyWhenAsked) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, kTokenBody));
  f.transport->enqueue(json_response(200, kTokenBody));
  auto server = f.make();
  ASSERT_TRUE(server.refresh(Secret(std::string_view("rt")), "files.read", nullptr,
                             "https://files.example/"));
  ASSERT_TRUE(server.refresh(Secret(std::string_view("rt"))));
  auto first = form_of(f.transport->requests()[0]);
  EXPECT_EQ(first["resource"], "https://files.example/");
  EXPECT_EQ(first["scope"], "files.read");
  EXPECT_EQ(form_of(f.transport->requests()[1]).count("resource"), 0u);
}

TEST(TokenErrors, InvalidTargetIsATypedOAuthErrorNotARejectedGrant) {
  ServerFixture f;
  f.transport->enqueue(json_response(400, R"({"error":"invalid_target"})"));
  auto tokens =
      f.make().refresh(Secret(std::string_view("rt")), {}, nullptr, "https://unknown.example/");
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::token_endpoint);
  EXPECT_TRUE(tokens.error().is_oauth("invalid_target"));
}

TEST(TokenRequest, ExchangeCodeSendsTheResourceIndicatorWhenGiven) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, kTokenBody));
  ASSERT_TRUE(f.make().exchange_code(Secret(std::string_view("code")), "http://127.0.0.1:1/cb",
                                     Secret(std::string_view("verifier")), nullptr,
                                     "https://api.example/"));
  EXPECT_EQ(form_of(f.transport->requests()[0])["resource"], "https://api.example/");
}

TEST(TokenRequest, RefreshWithoutARefreshTokenNeedsASignInAndSendsNothing) {
  ServerFixture f;
  auto tokens = f.make().refresh(Secret());
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::login_required);
  EXPECT_EQ(f.transport->request_count(), 0u);
}

TEST(ClientAuthentication, BasicFormEncodesIdAndSecretAndKeepsThemOutOfTheBody) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, kTokenBody));
  auto server = f.make(confidential_client(ClientAuth::client_secret_basic, "my client", "a:b c"));
  ASSERT_TRUE(server.client_credentials("read"));

  const Request r = f.transport->requests()[0];
  // RFC 6749 §2.3.1: base64(form_encode(id) ":" form_encode(secret)).
  EXPECT_EQ(r.headers.get("Authorization"), "Basic " + util::base64_encode("my+client:a%3Ab+c"));
  auto form = form_of(r);
  EXPECT_EQ(form.count("client_id"), 0u);
  EXPECT_EQ(form.count("client_secret"), 0u);
  EXPECT_EQ(form["grant_type"], "client_credentials");
  EXPECT_EQ(form["scope"], "read");
}

TEST(ClientAuthentication, PostPutsIdAndSecretInTheBodyAndSendsNoAuthorization) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, kTokenBody));
  auto server = f.make(confidential_client(ClientAuth::client_secret_post, "svc", "a:b c&d"));
  ASSERT_TRUE(server.client_credentials());

  const Request r = f.transport->requests()[0];
  EXPECT_FALSE(r.headers.contains("Authorization"));
  auto form = form_of(r);
  EXPECT_EQ(form["client_id"], "svc");
  EXPECT_EQ(form["client_secret"], "a:b c&d");
  EXPECT_EQ(form.count("scope"), 0u);
}

TEST(ClientAuthentication, ConfidentialMethodWithoutASecretIsAConfigError) {
  ServerFixture f;
  ClientConfig client;
  client.client_id = "svc";
  client.auth = ClientAuth::client_secret_basic;
  auto tokens = f.make(client).client_credentials();
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::config);
  EXPECT_EQ(f.transport->request_count(), 0u);
}

TEST(ClientAuthentication, ClientCredentialsNeedsAConfidentialClient) {
  ServerFixture f;
  auto tokens = f.make(public_client()).client_credentials();
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::config);
  EXPECT_EQ(f.transport->request_count(), 0u);
}

TEST(TokenRequest, ExchangeCodeSendsCodeRedirectUriAndVerifier) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, kTokenBody));
  auto server = f.make(confidential_client(ClientAuth::client_secret_basic, "app", "s3cret"));
  ASSERT_TRUE(server.exchange_code(Secret(std::string_view("code-1")),
                                   "http://127.0.0.1:5000/callback",
                                   Secret(std::string_view("verifier-1"))));
  const Request r = f.transport->requests()[0];
  EXPECT_EQ(form_of(r),
            (std::map<std::string, std::string>{{"grant_type", "authorization_code"},
                                                {"code", "code-1"},
                                                {"redirect_uri", "http://127.0.0.1:5000/callback"},
                                                {"code_verifier", "verifier-1"}}));
  EXPECT_EQ(r.headers.get("Authorization"), "Basic " + util::base64_encode("app:s3cret"));
}

TEST(TokenRequest, PlainHttpTokenEndpointOffLoopbackIsRefusedBeforeSending) {
  ServerFixture f;
  auto metadata = test_metadata();
  metadata.token_endpoint = "http://as.example/token";
  auto tokens = f.make(public_client(), metadata).refresh(Secret(std::string_view("rt")));
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::config);
  EXPECT_EQ(f.transport->request_count(), 0u);
}

TEST(TokenRequest, PlainHttpTokenEndpointOnLoopbackIsAllowed) {
  ServerFixture f;
  auto metadata = test_metadata();
  metadata.token_endpoint = "http://127.0.0.1:4000/token";
  f.transport->enqueue(json_response(200, kTokenBody));
  EXPECT_TRUE(f.make(public_client(), metadata).refresh(Secret(std::string_view("rt"))));
}

TEST(TokenRequest, TransportErrorsPassThroughUnchanged) {
  ServerFixture f;
  f.transport->enqueue(Error(ErrorCode::timeout, "total timeout elapsed"));
  auto tokens = f.make().refresh(Secret(std::string_view("rt")));
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::timeout);
}

TEST(TokenResponse, ExpiryIsComputedFromTheInjectedClockAtReceipt) {
  ServerFixture f;
  f.clock->advance(seconds(42));
  f.transport->enqueue(json_response(200, kTokenBody));
  auto tokens = f.make().refresh(Secret(std::string_view("rt")));
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->issued_at, test_epoch() + seconds(42));
  EXPECT_EQ(tokens->expires_at, test_epoch() + seconds(42 + 3600));
  EXPECT_EQ(tokens->access_token.reveal(), "at-1");
  EXPECT_EQ(tokens->refresh_token.reveal(), "rt-2");
  EXPECT_EQ(tokens->token_type, "Bearer");
}

// --- RFC 6749 §5.2 and transient failures -------------------------------------------------

TEST(TokenErrors, InvalidGrantIsATypedOAuthError) {
  ServerFixture f;
  f.transport->enqueue(
      json_response(400, R"({"error":"invalid_grant","error_description":"refresh token revoked",
               "error_uri":"https://as.example/e"})"));
  auto tokens = f.make().refresh(Secret(std::string_view("rt")));
  ASSERT_FALSE(tokens);
  const Error& e = tokens.error();
  EXPECT_EQ(e.code(), ErrorCode::token_endpoint);
  EXPECT_EQ(e.http_status(), 400);
  ASSERT_TRUE(e.is_oauth("invalid_grant"));
  EXPECT_EQ(e.oauth()->description, "refresh token revoked");
  EXPECT_EQ(e.oauth()->uri, "https://as.example/e");
  EXPECT_FALSE(e.retry_after().has_value());
}

TEST(TokenErrors, InvalidClientOn401IsATypedOAuthError) {
  ServerFixture f;
  auto server = f.make(confidential_client(ClientAuth::client_secret_basic, "a", "b"));
  f.transport->enqueue(json_response(401, R"({"error":"invalid_client"})",
                                     {{"WWW-Authenticate", "Basic realm=\"as\""}}));
  auto result = server.client_credentials();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::token_endpoint);
  EXPECT_EQ(result.error().http_status(), 401);
  EXPECT_TRUE(result.error().is_oauth("invalid_client"));
}

TEST(TokenErrors, TemporarilyUnavailable503IsRecognisableWithRetryAfter) {
  ServerFixture f;
  f.transport->enqueue(
      json_response(503, R"({"error":"temporarily_unavailable"})", {{"Retry-After", "7"}}));
  auto tokens = f.make().refresh(Secret(std::string_view("rt")));
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::token_endpoint);
  EXPECT_EQ(tokens.error().http_status(), 503);
  EXPECT_TRUE(tokens.error().is_oauth("temporarily_unavailable"));
  EXPECT_EQ(tokens.error().retry_after(), std::chrono::milliseconds(7000));
}

TEST(TokenErrors, TooManyRequestsCarriesRetryAfterSeconds) {
  ServerFixture f;
  f.transport->enqueue(json_response(429, "", {{"Retry-After", "120"}}));
  auto tokens = f.make().refresh(Secret(std::string_view("rt")));
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::token_endpoint);
  EXPECT_EQ(tokens.error().http_status(), 429);
  EXPECT_FALSE(tokens.error().oauth().has_value());
  EXPECT_EQ(tokens.error().retry_after(), std::chrono::milliseconds(120'000));
}

TEST(TokenErrors, RetryAfterAsHttpDateIsRelativeToTheInjectedClock) {
  ServerFixture f;
  // test_epoch() is Tue, 14 Nov 2023 22:13:20 GMT.
  f.transport->enqueue(json_response(
      502, "<html>bad gateway</html>",
      {{"Retry-After", "Tue, 14 Nov 2023 22:13:50 GMT"}, {"Content-Type", "text/html"}}));
  auto tokens = f.make().refresh(Secret(std::string_view("rt")));
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::token_endpoint);
  EXPECT_EQ(tokens.error().http_status(), 502);
  EXPECT_EQ(tokens.error().retry_after(), std::chrono::milliseconds(30'000));
}

TEST(TokenErrors, ServerErrorWithHtmlBodyIsTransientWithoutOAuthFields) {
  ServerFixture f;
  f.transport->enqueue(json_response(500, "<html><body>oops at-canary</body></html>"));
  auto tokens = f.make().refresh(Secret(std::string_view("rt")));
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::token_endpoint);
  EXPECT_EQ(tokens.error().http_status(), 500);
  EXPECT_FALSE(tokens.error().oauth().has_value());
  EXPECT_FALSE(tokens.error().retry_after().has_value());
  EXPECT_EQ(tokens.error().to_string().find("canary"), std::string::npos);
}

TEST(TokenErrors, RequestTimeout408IsTransient) {
  ServerFixture f;
  f.transport->enqueue(json_response(408, ""));
  auto tokens = f.make().refresh(Secret(std::string_view("rt")));
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::token_endpoint);
  EXPECT_EQ(tokens.error().http_status(), 408);
}

TEST(TokenErrors, BadRequestWithoutAnOAuthBodyIsAnInvalidResponse) {
  ServerFixture f;
  f.transport->enqueue(json_response(400, "<html>Bad Request canary-xyz</html>"));
  auto tokens = f.make().refresh(Secret(std::string_view("rt")));
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::invalid_response);
  EXPECT_EQ(tokens.error().http_status(), 400);
  EXPECT_EQ(tokens.error().to_string().find("canary"), std::string::npos);
}

TEST(TokenErrors, RedirectFromTheTokenEndpointIsAnInvalidResponse) {
  ServerFixture f;
  f.transport->enqueue(json_response(302, "", {{"Location", "https://elsewhere.example/"}}));
  auto tokens = f.make().refresh(Secret(std::string_view("rt")));
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::invalid_response);
  EXPECT_EQ(tokens.error().http_status(), 302);
}

// --- Malformed 200 answers ----------------------------------------------------------------

struct MalformedCase {
  const char* name;
  std::string body;
  const char* expected_message_part;
};

TEST(TokenResponse, MalformedBodiesAreInvalidResponsesThatNeverEchoTheBody) {
  const std::string canary = "CANARY-7f3a9c";
  const std::vector<MalformedCase> cases = {
      {"html", "<html><body>Sign in " + canary + "</body></html>", "not valid JSON"},
      {"truncated", R"({"access_token":")" + canary + R"(","token_type":"Bea)", "not valid JSON"},
      {"empty", "", "empty body"},
      {"whitespace", "  \r\n", "empty body"},
      {"array", R"([")" + canary + R"("])", "not a JSON object"},
      {"string", R"(")" + canary + R"(")", "not a JSON object"},
      {"no access_token", R"({"token_type":"Bearer","refresh_token":")" + canary + R"("})",
       "access_token missing"},
      {"access_token number",
       R"({"access_token":12345,"token_type":"Bearer","x":")" + canary + R"("})",
       "access_token is not a string"},
      {"access_token empty", R"({"access_token":"","token_type":"Bearer"})",
       "access_token is empty"},
      {"no token_type", R"({"access_token":")" + canary + R"("})", "token_type missing"},
      {"token_type number", R"({"access_token":")" + canary + R"(","token_type":1})",
       "token_type is not a string"},
      {"token_type unknown",
       R"({"access_token":")" + canary + R"(","token_type":")" + canary + R"("})",
       "token_type is not Bearer"},
      {"expires_in text",
       R"({"access_token":")" + canary + R"(","token_type":"Bearer","expires_in":"soon )" + canary +
           R"("})",
       "expires_in is not a number"},
      {"expires_in bool",
       R"({"access_token":")" + canary + R"(","token_type":"Bearer","expires_in":true})",
       "expires_in is not a number"},
      {"expires_in object",
       R"({"access_token":")" + canary + R"(","token_type":"Bearer","expires_in":{"s":1}})",
       "expires_in is not a number"},
      {"refresh_token number",
       R"({"access_token":")" + canary + R"(","token_type":"Bearer","refresh_token":7})",
       "refresh_token is not a string"},
      {"scope array",
       R"({"access_token":")" + canary + R"(","token_type":"Bearer","scope":["a","b"]})",
       "scope is not a string"},
      {"id_token object",
       R"({"access_token":")" + canary + R"(","token_type":"Bearer","id_token":{}})",
       "id_token is not a string"},
      {"invalid utf-8", "{\"access_token\":\"" + canary + "\xff\xfe\",\"token_type\":\"Bearer\"}",
       "not valid JSON"},
      {"trailing garbage", R"({"access_token":")" + canary + R"(","token_type":"Bearer"} x)",
       "not valid JSON"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ServerFixture f;
    f.transport->enqueue(json_response(200, c.body));
    auto tokens = f.make().refresh(Secret(std::string_view("rt")));
    ASSERT_FALSE(tokens);
    EXPECT_EQ(tokens.error().code(), ErrorCode::invalid_response);
    const std::string text = tokens.error().to_string();
    EXPECT_NE(text.find("token response: "), std::string::npos) << text;
    EXPECT_NE(text.find(c.expected_message_part), std::string::npos) << text;
    EXPECT_EQ(text.find(canary), std::string::npos) << text;
  }
}

// --- Device authorization (RFC 8628) ------------------------------------------------------

TEST(DeviceAuthorizationFlow, StartPostsClientIdAndScopeAndParsesTheAnswer) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, R"({
      "device_code":"dc-1","user_code":"WDJB-MJHT",
      "verification_uri":"https://as.example/device",
      "verification_uri_complete":"https://as.example/device?user_code=WDJB-MJHT",
      "expires_in":1800,"interval":7})"));
  auto device = f.make().start_device_authorization("openid offline_access");
  ASSERT_TRUE(device) << device.error().to_string();
  const Request r = f.transport->requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://as.example/device_authorization");
  EXPECT_EQ(form_of(r), (std::map<std::string, std::string>{{"client_id", "freshtoken-demo"},
                                                            {"scope", "openid offline_access"}}));
  EXPECT_EQ(device->device_code.reveal(), "dc-1");
  EXPECT_EQ(device->user_code, "WDJB-MJHT");
  EXPECT_EQ(device->verification_uri, "https://as.example/device");
  EXPECT_EQ(device->verification_uri_complete, "https://as.example/device?user_code=WDJB-MJHT");
  EXPECT_EQ(device->expires_in, seconds(1800));
  EXPECT_EQ(device->interval, seconds(7));
}

TEST(DeviceAuthorizationFlow, StartSendsOneResourceParameterPerResource) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, R"({"device_code":"dc-1","user_code":"U",
      "verification_uri":"https://as.example/device","expires_in":1800})"));
  ASSERT_TRUE(f.make().start_device_authorization(
      "openid", {"https://api.example/", "https://files.example/"}));
  const std::string body = f.transport->requests()[0].body;
  EXPECT_NE(body.find("resource=https%3A%2F%2Fapi.example%2F"), std::string::npos) << body;
  EXPECT_NE(body.find("resource=https%3A%2F%2Ffiles.example%2F"), std::string::npos) << body;
}

TEST(DeviceAuthorizationFlow, PollSendsTheResourceIndicatorWhenGiven) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, kTokenBody));
  ASSERT_TRUE(f.make().poll_device_token(Secret(std::string_view("dc-1")), nullptr,
                                         "https://api.example/"));
  EXPECT_EQ(form_of(f.transport->requests()[0])["resource"], "https://api.example/");
}

TEST(DeviceAuthorizationFlow, MissingEndpointIsAConfigError) {
  ServerFixture f;
  auto metadata = test_metadata();
  metadata.device_authorization_endpoint.clear();
  auto device = f.make(public_client(), metadata).start_device_authorization();
  ASSERT_FALSE(device);
  EXPECT_EQ(device.error().code(), ErrorCode::config);
  EXPECT_EQ(f.transport->request_count(), 0u);
}

TEST(DeviceAuthorizationFlow, ErrorAnswerIsATypedOAuthError) {
  ServerFixture f;
  f.transport->enqueue(json_response(400, R"({"error":"invalid_scope"})"));
  auto device = f.make().start_device_authorization("nope");
  ASSERT_FALSE(device);
  EXPECT_EQ(device.error().code(), ErrorCode::token_endpoint);
  EXPECT_TRUE(device.error().is_oauth("invalid_scope"));
}

TEST(DeviceAuthorizationFlow, PollUsesTheDeviceCodeGrant) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, kTokenBody));
  ASSERT_TRUE(f.make().poll_device_token(Secret(std::string_view("dc-1"))));
  EXPECT_EQ(form_of(f.transport->requests()[0]),
            (std::map<std::string, std::string>{
                {"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                {"device_code", "dc-1"},
                {"client_id", "freshtoken-demo"}}));
}

TEST(DeviceAuthorizationFlow, PendingAndSlowDownComeBackAsOAuthErrors) {
  ServerFixture f;
  f.transport->enqueue(json_response(400, R"({"error":"authorization_pending"})"));
  f.transport->enqueue(json_response(400, R"({"error":"slow_down"})"));
  auto server = f.make();
  auto first = server.poll_device_token(Secret(std::string_view("dc")));
  auto second = server.poll_device_token(Secret(std::string_view("dc")));
  ASSERT_FALSE(first);
  ASSERT_FALSE(second);
  EXPECT_EQ(first.error().code(), ErrorCode::token_endpoint);
  EXPECT_TRUE(first.error().is_oauth("authorization_pending"));
  EXPECT_TRUE(second.error().is_oauth("slow_down"));
}

// --- Revocation (RFC 7009) ----------------------------------------------------------------

TEST(Revocation, PostsTokenAndHintWithClientAuthentication) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, ""));
  auto server = f.make(confidential_client(ClientAuth::client_secret_basic, "app", "pw"));
  auto result = server.revoke(Secret(std::string_view("rt-9")), "refresh_token");
  EXPECT_TRUE(result);
  const Request r = f.transport->requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://as.example/revoke");
  EXPECT_EQ(r.headers.get("Authorization"), "Basic " + util::base64_encode("app:pw"));
  EXPECT_EQ(form_of(r), (std::map<std::string, std::string>{{"token", "rt-9"},
                                                            {"token_type_hint", "refresh_token"}}));
}

TEST(Revocation, PublicClientSendsItsIdInTheBody) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, "{}"));
  EXPECT_TRUE(f.make().revoke(Secret(std::string_view("at")), "access_token"));
  EXPECT_EQ(form_of(f.transport->requests()[0])["client_id"], "freshtoken-demo");
}

TEST(Revocation, ServiceUnavailableIsAnErrorWithRetryAfter) {
  ServerFixture f;
  f.transport->enqueue(json_response(503, "", {{"Retry-After", "3"}}));
  auto result = f.make().revoke(Secret(std::string_view("rt")), "refresh_token");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::token_endpoint);
  EXPECT_EQ(result.error().http_status(), 503);
  EXPECT_EQ(result.error().retry_after(), std::chrono::milliseconds(3000));
}

TEST(Revocation, UnsupportedTokenTypeIsATypedOAuthError) {
  ServerFixture f;
  f.transport->enqueue(json_response(400, R"({"error":"unsupported_token_type"})"));
  auto result = f.make().revoke(Secret(std::string_view("rt")), "refresh_token");
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().is_oauth("unsupported_token_type"));
}

TEST(Revocation, MissingEndpointIsAConfigError) {
  ServerFixture f;
  auto metadata = test_metadata();
  metadata.revocation_endpoint.clear();
  auto result = f.make(public_client(), metadata).revoke(Secret(std::string_view("rt")), "");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::config);
  EXPECT_EQ(f.transport->request_count(), 0u);
}

}  // namespace
}  // namespace freshtoken::testing
