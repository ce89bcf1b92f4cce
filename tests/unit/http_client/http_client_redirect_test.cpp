// HttpClient redirects: credentials stay on their origin, methods change per RFC 9110 §15.4,
// downgrades and loops are refused.
#include <gtest/gtest.h>

#include <string>

#include "fake_tokens.hpp"
#include "fake_transport.hpp"
#include "freshtoken/http_client.hpp"

namespace freshtoken::testing {
namespace {

Response redirect(int status, const std::string& location) {
  return response(status, {{"Location", location}});
}

struct HttpClientRedirectTest : ::testing::Test {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  std::shared_ptr<FakeTokens> tokens = std::make_shared<FakeTokens>();
  HttpClientOptions options;
  std::unique_ptr<HttpClient> client = std::make_unique<HttpClient>(transport, tokens);

  void rebuild() { client = std::make_unique<HttpClient>(transport, tokens, options); }
  Request sent(std::size_t i) const { return transport->requests().at(i); }
};

TEST_F(HttpClientRedirectTest, SameOriginKeepsAuthorization) {
  transport->enqueue(redirect(302, "https://api.example/v2/me"));
  transport->enqueue(response(200, {}, "moved"));
  auto result = client->get("https://api.example/v1/me");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->body, "moved");
  ASSERT_EQ(transport->request_count(), 2u);
  EXPECT_EQ(sent(1).url, "https://api.example/v2/me");
  EXPECT_EQ(sent(1).headers.get("Authorization"), bearer("token-1"));
}

TEST_F(HttpClientRedirectTest, DefaultPortSpelledOutIsStillSameOrigin) {
  transport->enqueue(redirect(301, "https://API.example:443/b"));
  transport->enqueue(response(200));
  ASSERT_TRUE(client->get("https://api.example/a"));
  EXPECT_EQ(sent(1).headers.get("Authorization"), bearer("token-1"));
}

struct Resolution {
  const char* base;
  const char* location;
  const char* expected;
};

class LocationResolution : public HttpClientRedirectTest,
                           public ::testing::WithParamInterface<Resolution> {};

TEST_P(LocationResolution, FollowsTheResolvedUrl) {
  transport->enqueue(redirect(302, GetParam().location));
  transport->enqueue(response(200));
  ASSERT_TRUE(client->get(GetParam().base));
  ASSERT_EQ(transport->request_count(), 2u);
  EXPECT_EQ(sent(1).url, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    HttpClient, LocationResolution,
    ::testing::Values(
        Resolution{"https://a.example/x/y/z", "/p?q=1", "https://a.example/p?q=1"},
        Resolution{"https://a.example/x/y/z", "../b", "https://a.example/x/b"},
        Resolution{"https://a.example/x/y/z", "b/./c", "https://a.example/x/y/b/c"},
        Resolution{"https://a.example/x/y?old=1", "?page=2", "https://a.example/x/y?page=2"},
        Resolution{"https://a.example/x", "//b.example/y", "https://b.example/y"},
        Resolution{"https://a.example:8443/x", "/y#frag", "https://a.example:8443/y"},
        Resolution{"https://a.example/x", "https://b.example/../../c", "https://b.example/c"},
        Resolution{"https://a.example", "z", "https://a.example/z"}));

TEST_F(HttpClientRedirectTest, CrossOriginDropsAuthorizationAndCredentialHeaders) {
  options.sensitive_headers = {"X-Api-Key"};
  rebuild();
  transport->enqueue(redirect(302, "https://cdn.example/file"));
  transport->enqueue(redirect(302, "https://api.example/back"));  // back home: still none
  transport->enqueue(response(200));
  auto result = client->get("https://api.example/file",
                            {{"Cookie", "sid=1"}, {"X-Api-Key", "k"}, {"Accept", "*/*"}});
  ASSERT_TRUE(result);
  ASSERT_EQ(transport->request_count(), 3u);
  EXPECT_EQ(sent(0).headers.get("Authorization"), bearer("token-1"));
  EXPECT_EQ(sent(0).headers.get("Cookie"), "sid=1");
  for (std::size_t i : {1u, 2u}) {
    EXPECT_FALSE(sent(i).headers.contains("Authorization")) << i;
    EXPECT_FALSE(sent(i).headers.contains("Cookie")) << i;
    EXPECT_FALSE(sent(i).headers.contains("X-Api-Key")) << i;
    EXPECT_EQ(sent(i).headers.get("Accept"), "*/*") << i;
  }
}

TEST_F(HttpClientRedirectTest, OtherPortOrSchemeIsAnotherOrigin) {
  transport->enqueue(redirect(307, "https://api.example:8443/x"));
  transport->enqueue(response(200));
  ASSERT_TRUE(client->get("https://api.example/x"));
  EXPECT_FALSE(sent(1).headers.contains("Authorization"));
}

TEST_F(HttpClientRedirectTest, CallerAuthorizationIsAlsoDroppedCrossOrigin) {
  transport->enqueue(redirect(302, "https://other.example/"));
  transport->enqueue(response(200));
  ASSERT_TRUE(client->get("https://api.example/", {{"Authorization", "Basic dTpw"}}));
  EXPECT_EQ(sent(0).headers.get("Authorization"), "Basic dTpw");
  EXPECT_FALSE(sent(1).headers.contains("Authorization"));
}

TEST_F(HttpClientRedirectTest, CrossOriginStopReturnsTheRedirect) {
  options.cross_origin_redirects = CrossOriginRedirects::stop;
  rebuild();
  transport->enqueue(redirect(302, "https://elsewhere.example/"));
  auto result = client->get("https://api.example/");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 302);
  EXPECT_EQ(result->headers.get("Location"), "https://elsewhere.example/");
  EXPECT_EQ(transport->request_count(), 1u);
}

TEST_F(HttpClientRedirectTest, HttpsToHttpDowngradeIsRefused) {
  transport->enqueue(redirect(302, "http://api.example/plain"));
  auto result = client->get("https://api.example/");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::tls);
  EXPECT_EQ(result.error().http_status(), 302);
  EXPECT_EQ(transport->request_count(), 1u);
}

TEST_F(HttpClientRedirectTest, SeeOtherTurnsPostIntoGetWithoutBody) {
  transport->enqueue(redirect(303, "/result/1"));
  transport->enqueue(response(200));
  auto result = client->post("https://api.example/jobs", R"({"a":1})");
  ASSERT_TRUE(result);
  ASSERT_EQ(transport->request_count(), 2u);
  EXPECT_EQ(sent(0).method, "POST");
  EXPECT_EQ(sent(1).method, "GET");
  EXPECT_TRUE(sent(1).body.empty());
  EXPECT_FALSE(sent(1).headers.contains("Content-Type"));
  EXPECT_EQ(sent(1).headers.get("Authorization"), bearer("token-1"));
}

TEST_F(HttpClientRedirectTest, FoundTurnsPostIntoGetButKeepsPut) {
  transport->enqueue(redirect(302, "/a"));
  transport->enqueue(response(200));
  transport->enqueue(redirect(302, "/b"));
  transport->enqueue(response(200));
  ASSERT_TRUE(client->post("https://api.example/x", "p"));
  ASSERT_TRUE(client->put("https://api.example/y", "q"));
  EXPECT_EQ(sent(1).method, "GET");
  EXPECT_EQ(sent(3).method, "PUT");
  EXPECT_EQ(sent(3).body, "q");
}

TEST_F(HttpClientRedirectTest, TemporaryRedirectKeepsMethodAndBody) {
  transport->enqueue(redirect(307, "/v2/jobs"));
  transport->enqueue(redirect(308, "/v3/jobs"));
  transport->enqueue(response(201));
  auto result = client->post("https://api.example/jobs", "payload", "text/plain");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 201);
  for (std::size_t i : {1u, 2u}) {
    EXPECT_EQ(sent(i).method, "POST");
    EXPECT_EQ(sent(i).body, "payload");
    EXPECT_EQ(sent(i).headers.get("Content-Type"), "text/plain");
  }
  EXPECT_EQ(sent(2).url, "https://api.example/v3/jobs");
}

TEST_F(HttpClientRedirectTest, StreamedBodyIsNotRedirectedBy307) {
  transport->enqueue(redirect(307, "/elsewhere"));
  Request request;
  request.method = "POST";
  request.url = "https://api.example/upload";
  request.body_stream = [](char*, std::size_t) -> std::size_t { return 0; };
  auto result = client->send(request);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 307);
  EXPECT_EQ(transport->request_count(), 1u);
}

TEST_F(HttpClientRedirectTest, LoopStopsAtTheLimitWithAnError) {
  transport->set_handler([](const Request&) { return Result<Response>(redirect(302, "/loop")); });
  auto result = client->get("https://api.example/loop");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::invalid_response);
  EXPECT_EQ(transport->request_count(), 6u);  // the request and 5 redirects
}

TEST_F(HttpClientRedirectTest, ZeroMaxRedirectsReturnsTheRedirect) {
  options.max_redirects = 0;
  rebuild();
  transport->enqueue(redirect(301, "/new"));
  auto result = client->get("https://api.example/old");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 301);
  EXPECT_EQ(transport->request_count(), 1u);
}

class UnusableLocation : public HttpClientRedirectTest,
                         public ::testing::WithParamInterface<const char*> {};

TEST_P(UnusableLocation, ReturnsTheRedirectResponse) {
  Headers headers;
  if (*GetParam()) headers.add("Location", GetParam());
  transport->enqueue(response(302, headers));
  auto result = client->get("https://api.example/");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 302);
  EXPECT_EQ(transport->request_count(), 1u);
}

INSTANTIATE_TEST_SUITE_P(HttpClient, UnusableLocation,
                         ::testing::Values("", "com.example.app:/oauth2redirect?code=x",
                                           "https://bad host/", "ftp://files.example/"));

TEST_F(HttpClientRedirectTest, Unauthorized401AfterCrossOriginRedirectIsNotRetried) {
  transport->enqueue(redirect(302, "https://other.example/"));
  transport->enqueue(response(401));
  auto result = client->get("https://api.example/");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_EQ(transport->request_count(), 2u);
  EXPECT_TRUE(tokens->invalidated().empty());
}

TEST_F(HttpClientRedirectTest, Unauthorized401AfterSameOriginRedirectRetriesFromTheStart) {
  transport->enqueue(redirect(302, "/b"));
  transport->enqueue(response(401));
  transport->enqueue(redirect(302, "/b"));
  transport->enqueue(response(200));
  auto result = client->get("https://api.example/a");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  ASSERT_EQ(transport->request_count(), 4u);
  EXPECT_EQ(sent(2).url, "https://api.example/a");
  EXPECT_EQ(sent(3).headers.get("Authorization"), bearer("token-2"));
  EXPECT_EQ(tokens->invalidated(), std::vector<std::string>{"token-1"});
}

// post() hands the client a Request it owns and sends without copying; a 303 then works on a
// copy, so the retry after a 401 resends the original POST and its body.
TEST_F(HttpClientRedirectTest, RetryAfterASeeOtherResendsTheOriginalPost) {
  transport->enqueue(redirect(303, "/b"));
  transport->enqueue(response(401));
  transport->enqueue(redirect(303, "/b"));
  transport->enqueue(response(200));
  auto result = client->post("https://api.example/a", R"({"n":1})", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  ASSERT_EQ(transport->request_count(), 4u);
  EXPECT_EQ(sent(1).method, "GET");
  EXPECT_TRUE(sent(1).body.empty());
  for (std::size_t i : {0u, 2u}) {
    EXPECT_EQ(sent(i).method, "POST") << i;
    EXPECT_EQ(sent(i).url, "https://api.example/a") << i;
    EXPECT_EQ(sent(i).body, R"({"n":1})") << i;
    EXPECT_EQ(sent(i).headers.get("Content-Type"), "application/json") << i;
    EXPECT_EQ(sent(i).headers.get_all("Authorization").size(), 1u) << i;
  }
  EXPECT_EQ(sent(2).headers.get("Authorization"), bearer("token-2"));
}

}  // namespace
}  // namespace freshtoken::testing
