// AuthorizationServer::discover: OpenID first, RFC 8414 second, the issuer check and the
// https-or-loopback rule for every endpoint.
#include <gtest/gtest.h>

#include <string>

#include "test_helpers.hpp"

namespace freshtoken::testing {
namespace {

std::string document(const std::string& issuer, const std::string& base) {
  return R"({"issuer":")" + issuer + R"(","authorization_endpoint":")" + base +
         R"(/authorize","token_endpoint":")" + base +
         R"(/token","device_authorization_endpoint":")" + base +
         R"(/device_authorization","revocation_endpoint":")" + base + R"(/revoke","jwks_uri":")" +
         base +
         R"(/jwks","code_challenge_methods_supported":["S256"],)"
         R"("grant_types_supported":["authorization_code","refresh_token"],)"
         R"("authorization_response_iss_parameter_supported":true,"unknown_field":{"a":[1,2]}})";
}

Result<std::shared_ptr<AuthorizationServer>> discover(ServerFixture& f, const std::string& issuer) {
  return AuthorizationServer::discover(f.transport, issuer, public_client(), f.clock);
}

TEST(Discovery, ReadsTheOpenIdConfiguration) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, document("https://as.example", "https://as.example")));
  auto server = discover(f, "https://as.example");
  ASSERT_TRUE(server) << server.error().to_string();

  ASSERT_EQ(f.transport->request_count(), 1u);
  const Request r = f.transport->requests()[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "https://as.example/.well-known/openid-configuration");
  EXPECT_EQ(r.headers.get("Accept"), "application/json");

  const ServerMetadata m = (*server)->metadata().value();
  EXPECT_EQ(m.issuer, "https://as.example");
  EXPECT_EQ(m.token_endpoint, "https://as.example/token");
  EXPECT_EQ(m.authorization_endpoint, "https://as.example/authorize");
  EXPECT_EQ(m.device_authorization_endpoint, "https://as.example/device_authorization");
  EXPECT_EQ(m.revocation_endpoint, "https://as.example/revoke");
  EXPECT_EQ(m.jwks_uri, "https://as.example/jwks");
  EXPECT_EQ(m.code_challenge_methods_supported, std::vector<std::string>{"S256"});
  EXPECT_EQ(m.grant_types_supported.size(), 2u);
  EXPECT_TRUE(m.authorization_response_iss_parameter_supported);
  EXPECT_EQ((*server)->client().client_id, "freshtoken-demo");
}

TEST(Discovery, FallsBackToRfc8414On404) {
  ServerFixture f;
  f.transport->enqueue(json_response(404, "not found"));
  f.transport->enqueue(json_response(200, document("https://as.example", "https://as.example")));
  auto server = discover(f, "https://as.example");
  ASSERT_TRUE(server) << server.error().to_string();
  ASSERT_EQ(f.transport->request_count(), 2u);
  EXPECT_EQ(f.transport->requests()[1].url,
            "https://as.example/.well-known/oauth-authorization-server");
}

TEST(Discovery, FallbackInsertsTheWellKnownSegmentBeforeTheIssuerPath) {
  ServerFixture f;
  const std::string issuer = "https://as.example:8443/tenants/t1";
  f.transport->enqueue(json_response(404, ""));
  f.transport->enqueue(json_response(200, document(issuer, "https://as.example:8443/t1")));
  auto server = discover(f, issuer);
  ASSERT_TRUE(server) << server.error().to_string();
  EXPECT_EQ(f.transport->requests()[0].url,
            "https://as.example:8443/tenants/t1/.well-known/openid-configuration");
  EXPECT_EQ(f.transport->requests()[1].url,
            "https://as.example:8443/.well-known/oauth-authorization-server/tenants/t1");
}

TEST(Discovery, FallsBackWhenTheOpenIdAnswerIsNotJson) {
  ServerFixture f;
  Response html;
  html.status = 200;
  html.headers.set("Content-Type", "text/html");
  html.body = "<html>Welcome</html>";
  f.transport->enqueue(html);
  f.transport->enqueue(json_response(200, document("https://as.example", "https://as.example")));
  auto server = discover(f, "https://as.example");
  ASSERT_TRUE(server) << server.error().to_string();
  EXPECT_EQ(f.transport->request_count(), 2u);
}

TEST(Discovery, BothDocumentsMissingIsAnError) {
  ServerFixture f;
  f.transport->enqueue(json_response(404, ""));
  f.transport->enqueue(json_response(404, ""));
  auto server = discover(f, "https://as.example");
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code(), ErrorCode::invalid_response);
  EXPECT_EQ(server.error().http_status(), 404);
}

TEST(Discovery, ServerErrorDoesNotFallBack) {
  ServerFixture f;
  f.transport->enqueue(json_response(503, "", {{"Retry-After", "5"}}));
  auto server = discover(f, "https://as.example");
  ASSERT_FALSE(server);
  EXPECT_EQ(f.transport->request_count(), 1u);
  EXPECT_EQ(server.error().http_status(), 503);
  EXPECT_EQ(server.error().retry_after(), std::chrono::milliseconds(5000));
}

TEST(Discovery, NetworkErrorIsReturnedAsIs) {
  ServerFixture f;
  f.transport->enqueue(Error(ErrorCode::network, "connection refused"));
  auto server = discover(f, "https://as.example");
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code(), ErrorCode::network);
}

TEST(Discovery, IssuerMismatchIsRefusedAndNamed) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, document("https://evil.example", "https://as.example")));
  auto server = discover(f, "https://as.example");
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code(), ErrorCode::invalid_response);
  EXPECT_NE(server.error().message().find("issuer mismatch"), std::string::npos);
  EXPECT_NE(server.error().message().find("https://evil.example"), std::string::npos);
  EXPECT_NE(server.error().message().find("https://as.example"), std::string::npos);
}

TEST(Discovery, IssuerComparisonIsExactIncludingTrailingSlash) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, document("https://as.example/", "https://as.example")));
  auto server = discover(f, "https://as.example");
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code(), ErrorCode::invalid_response);
}

TEST(Discovery, MissingTokenEndpointIsAnInvalidResponse) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, R"({"issuer":"https://as.example"})"));
  auto server = discover(f, "https://as.example");
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code(), ErrorCode::invalid_response);
  EXPECT_NE(server.error().message().find("token_endpoint missing"), std::string::npos);
}

TEST(Discovery, WrongTypesInTheDocumentAreInvalidResponses) {
  ServerFixture f;
  f.transport->enqueue(json_response(200, R"({"issuer":"https://as.example","token_endpoint":5})"));
  f.transport->enqueue(json_response(200, R"({"issuer":"https://as.example","token_endpoint":5})"));
  auto server = discover(f, "https://as.example");
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code(), ErrorCode::invalid_response);
  EXPECT_NE(server.error().message().find("token_endpoint is not a string"), std::string::npos);
}

TEST(Discovery, PlainHttpEndpointOffLoopbackIsAConfigError) {
  ServerFixture f;
  auto doc = document("https://as.example", "https://as.example");
  doc.replace(doc.find("https://as.example/token"), 24, "http://as.example/token");
  f.transport->enqueue(json_response(200, doc));
  auto server = discover(f, "https://as.example");
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code(), ErrorCode::config);
  EXPECT_NE(server.error().message().find("token_endpoint"), std::string::npos);
}

TEST(Discovery, PlainHttpIssuerOffLoopbackIsRefusedBeforeSending) {
  ServerFixture f;
  auto server = discover(f, "http://as.example");
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code(), ErrorCode::config);
  EXPECT_EQ(f.transport->request_count(), 0u);
}

TEST(Discovery, PlainHttpIsAllowedForEveryLoopbackHost) {
  for (const std::string issuer :
       {"http://127.0.0.1:43121", "http://localhost:8080", "http://[::1]:9000"}) {
    SCOPED_TRACE(issuer);
    ServerFixture f;
    f.transport->enqueue(json_response(200, document(issuer, issuer)));
    auto server = discover(f, issuer);
    ASSERT_TRUE(server) << server.error().to_string();
    EXPECT_EQ((*server)->metadata()->token_endpoint, issuer + "/token");
  }
}

TEST(Discovery, IssuerWithQueryIsAConfigError) {
  ServerFixture f;
  auto server = discover(f, "https://as.example/?tenant=1");
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code(), ErrorCode::config);
  EXPECT_EQ(f.transport->request_count(), 0u);
}

}  // namespace
}  // namespace freshtoken::testing
