// HttpClient: bearer attachment, the 401 retry rules, plain-http refusal and logging.
#include "freshtoken/http_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fake_tokens.hpp"
#include "fake_transport.hpp"

namespace freshtoken::testing {
namespace {

const Headers kInvalidToken{
    {"WWW-Authenticate",
     R"(Bearer realm="api", error="invalid_token", error_description="expired")"}};

struct Fixture : ::testing::Test {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  std::shared_ptr<FakeTokens> tokens = std::make_shared<FakeTokens>();
  HttpClient client{transport, tokens};

  std::string sent_auth(std::size_t i) const {
    return transport->requests().at(i).headers.get("Authorization").value_or("<none>");
  }
};

using HttpClientTest = Fixture;

TEST_F(HttpClientTest, CallerRequestIsUnchangedAfterRetryAndRedirect) {
  transport->enqueue(response(401, kInvalidToken));
  transport->enqueue(response(307, {{"Location", "/v2/items"}}));
  transport->enqueue(response(200));
  Request request;
  request.method = "PUT";
  request.url = "https://api.example/v1/items?x=1";
  request.headers = {{"Content-Type", "application/json"}, {"Cookie", "a=b"}, {"X-Trace", "7"}};
  request.body = R"({"n":1})";
  const Request before = request;

  auto result = client.send(request);

  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(transport->request_count(), 3u);
  EXPECT_EQ(request.method, before.method);
  EXPECT_EQ(request.url, before.url);
  EXPECT_EQ(request.body, before.body);
  std::vector<Headers::Field> fields(request.headers.begin(), request.headers.end());
  std::vector<Headers::Field> expected(before.headers.begin(), before.headers.end());
  EXPECT_EQ(fields, expected);
  EXPECT_FALSE(request.headers.contains("Authorization"));
}

TEST_F(HttpClientTest, AnExceptionFromTheApplicationsTransportIsAnApplicationError) {
  transport->set_handler([](const Request&) -> Result<Response> {
    throw std::runtime_error("the application's own transport failed");
  });
  auto result = client.get("https://api.example/me");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::application);
}

TEST_F(HttpClientTest, AnSdkErrorThrownByTheApplicationsTransportKeepsItsCode) {
  transport->set_handler([](const Request&) -> Result<Response> {
    return Result<Response>(Error(ErrorCode::storage_unavailable, "keyring locked")).value();
  });
  auto result = client.get("https://api.example/me");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::storage_unavailable);
}

TEST_F(HttpClientTest, AttachesBearerTokenFromSource) {
  transport->enqueue(response(200, {}, "ok"));
  auto result = client.get("https://api.example/me", {{"Accept", "application/json"}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->body, "ok");
  ASSERT_EQ(transport->request_count(), 1u);
  auto sent = transport->requests()[0];
  EXPECT_EQ(sent.method, "GET");
  EXPECT_EQ(sent.url, "https://api.example/me");
  EXPECT_EQ(sent.headers.get("Authorization"), bearer("token-1"));
  EXPECT_EQ(sent.headers.get("Accept"), "application/json");
}

TEST_F(HttpClientTest, HelperTimeoutReachesEveryExchangeOfTheRequest) {
  transport->enqueue(response(401, kInvalidToken));
  transport->enqueue(response(307, {{"Location", "/v2/me"}}));
  transport->enqueue(response(200));
  ASSERT_TRUE(client.get("https://api.example/me", {}, std::chrono::seconds(7)));
  transport->set_handler([](const Request&) { return Result<Response>(response(200)); });
  ASSERT_TRUE(client.post("https://api.example/a", "{}", "application/json", {},
                          std::chrono::milliseconds(1500)));
  ASSERT_TRUE(
      client.put("https://api.example/a", "{}", "application/json", {}, std::chrono::seconds(2)));
  ASSERT_TRUE(
      client.patch("https://api.example/a", "{}", "application/json", {}, std::chrono::seconds(3)));
  ASSERT_TRUE(client.del("https://api.example/a", {}, std::chrono::seconds(4)));
  ASSERT_TRUE(client.get("https://api.example/a"));
  auto sent = transport->requests();
  ASSERT_EQ(sent.size(), 8u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sent[i].timeout, std::chrono::seconds(7)) << "exchange " << i;
  }
  EXPECT_EQ(sent[3].timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(sent[4].timeout, std::chrono::seconds(2));
  EXPECT_EQ(sent[5].timeout, std::chrono::seconds(3));
  EXPECT_EQ(sent[6].timeout, std::chrono::seconds(4));
  EXPECT_EQ(sent[7].timeout, std::chrono::milliseconds(0)) << "no timeout: the transport's";
}

TEST(Request, MethodAndUrlConstructorLeavesTheRestAtItsDefaults) {
  const Request request("POST", "https://api.example/items");
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, "https://api.example/items");
  EXPECT_EQ(request.headers.size(), 0u);
  EXPECT_TRUE(request.body.empty());
  EXPECT_EQ(request.timeout, std::chrono::milliseconds(0));
  EXPECT_EQ(Request().method, "GET");
}

TEST_F(HttpClientTest, HelpersSetMethodBodyAndContentType) {
  transport->set_handler([](const Request&) { return Result<Response>(response(200)); });
  ASSERT_TRUE(client.post("https://api.example/a", "{}"));
  ASSERT_TRUE(client.put("https://api.example/a", "x=1", "application/x-www-form-urlencoded"));
  ASSERT_TRUE(client.patch("https://api.example/a", "[]"));
  ASSERT_TRUE(client.del("https://api.example/a"));
  auto sent = transport->requests();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].method, "POST");
  EXPECT_EQ(sent[0].body, "{}");
  EXPECT_EQ(sent[0].headers.get("Content-Type"), "application/json");
  EXPECT_EQ(sent[1].method, "PUT");
  EXPECT_EQ(sent[1].headers.get("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(sent[2].method, "PATCH");
  EXPECT_EQ(sent[3].method, "DELETE");
  EXPECT_TRUE(sent[3].body.empty());
  for (const auto& r : sent) EXPECT_EQ(r.headers.get("Authorization"), bearer("token-1"));
}

TEST_F(HttpClientTest, CallerOwnAuthorizationIsSentAsIsAndNeverRetried) {
  transport->enqueue(response(401, kInvalidToken));
  auto result = client.get("https://api.example/me", {{"Authorization", "Basic dTpw"}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_EQ(transport->request_count(), 1u);
  EXPECT_EQ(sent_auth(0), "Basic dTpw");
  EXPECT_EQ(tokens->token_calls(), 0);
  EXPECT_TRUE(tokens->invalidated().empty());
}

TEST_F(HttpClientTest, TokenSourceErrorIsReturnedAndNothingIsSent) {
  tokens->fail_with(Error(ErrorCode::login_required, "sign in again"));
  auto result = client.get("https://api.example/me");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::login_required);
  EXPECT_EQ(transport->request_count(), 0u);
}

TEST_F(HttpClientTest, TransportErrorIsReturnedAsIs) {
  transport->enqueue(Error(ErrorCode::timeout, "total timeout"));
  auto result = client.get("https://api.example/me");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::timeout);
}

TEST_F(HttpClientTest, InvalidToken401InvalidatesSentTokenAndRetriesOnceWithNewToken) {
  transport->enqueue(response(401, kInvalidToken));
  transport->enqueue(response(200, {}, "fresh"));
  auto result = client.get("https://api.example/me");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->body, "fresh");
  ASSERT_EQ(transport->request_count(), 2u);
  EXPECT_EQ(sent_auth(0), bearer("token-1"));
  EXPECT_EQ(sent_auth(1), bearer("token-2"));
  EXPECT_EQ(tokens->invalidated(), std::vector<std::string>{"token-1"});
}

class RetryableChallenge : public Fixture, public ::testing::WithParamInterface<const char*> {};

TEST_P(RetryableChallenge, IsRetriedOnce) {
  Headers headers;
  if (*GetParam()) headers.add("WWW-Authenticate", GetParam());
  transport->enqueue(response(401, headers));
  transport->enqueue(response(200));
  auto result = client.get("https://api.example/me");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(transport->request_count(), 2u);
  EXPECT_EQ(tokens->invalidated(), std::vector<std::string>{"token-1"});
}

INSTANTIATE_TEST_SUITE_P(
    HttpClient, RetryableChallenge,
    ::testing::Values("",                               // no WWW-Authenticate at all
                      "Bearer",                         // bare challenge
                      R"(Bearer realm="example")",      // no error attribute
                      R"(bearer ERROR=invalid_token)",  // case-insensitive, token value
                      R"(Basic realm="x", Bearer error="invalid_token")",  // second challenge
                      R"(Newauth realm="apps", type=1, title="Login to \"apps\"", Bearer)"));

class FinalChallenge : public Fixture, public ::testing::WithParamInterface<const char*> {};

TEST_P(FinalChallenge, IsReturnedWithoutRetryOrInvalidate) {
  transport->enqueue(response(401, {{"WWW-Authenticate", GetParam()}}));
  auto result = client.get("https://api.example/me");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_EQ(transport->request_count(), 1u);
  EXPECT_TRUE(tokens->invalidated().empty());
}

INSTANTIATE_TEST_SUITE_P(HttpClient, FinalChallenge,
                         ::testing::Values(R"(Bearer error="invalid_request")",
                                           R"(Basic realm="only basic")"));

TEST_F(HttpClientTest, Second401IsReturnedAfterExactlyTwoSends) {
  transport->enqueue(response(401, kInvalidToken));
  transport->enqueue(response(401, kInvalidToken, "still no"));
  auto result = client.get("https://api.example/me");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_EQ(result->body, "still no");
  EXPECT_EQ(transport->request_count(), 2u);
}

TEST_F(HttpClientTest, ServerThatAlways401sGetsAtMostTwoSendsPerRequest) {
  transport->set_handler([](const Request&) { return Result<Response>(response(401)); });
  for (int i = 0; i < 5; ++i) {
    auto result = client.get("https://api.example/me");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 401);
    EXPECT_EQ(transport->request_count(), 2u * (i + 1));
  }
}

TEST_F(HttpClientTest, TokenAlreadyReplacedByAnotherThreadIsResentWithCurrentToken) {
  transport->set_handler([this](const Request& r) {
    if (r.headers.get("Authorization") == bearer("token-1")) {
      tokens->replace();  // another thread refreshed while our request was on the wire
      return Result<Response>(response(401, kInvalidToken));
    }
    return Result<Response>(response(200));
  });
  auto result = client.get("https://api.example/me");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  ASSERT_EQ(transport->request_count(), 2u);
  EXPECT_EQ(sent_auth(1), bearer("token-2"));
  EXPECT_EQ(tokens->invalidated(), std::vector<std::string>{"token-1"});
  EXPECT_EQ(tokens->current(), "token-2");  // the stale invalidate did not burn token-2
}

TEST_F(HttpClientTest, Forbidden403InsufficientScopeIsAnErrorWithoutInvalidateOrResend) {
  transport->enqueue(
      response(403, {{"WWW-Authenticate", R"(Bearer error="insufficient_scope", scope="admin")"}}));
  auto result = client.get("https://api.example/admin");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::insufficient_scope);
  ASSERT_TRUE(result.error().oauth());
  EXPECT_EQ(result.error().oauth()->scope, "admin");
  EXPECT_EQ(transport->request_count(), 1u);
  EXPECT_TRUE(tokens->invalidated().empty());
  EXPECT_EQ(tokens->token_calls(), 1);
}

TEST_F(HttpClientTest, StreamedBodyIsNotRetriedButTokenIsInvalidated) {
  transport->enqueue(response(401, kInvalidToken));
  Request request;
  request.method = "POST";
  request.url = "https://api.example/upload";
  request.body_stream = [](char*, std::size_t) -> std::size_t { return 0; };
  auto result = client.send(request);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_EQ(transport->request_count(), 1u);
  EXPECT_EQ(tokens->invalidated(), std::vector<std::string>{"token-1"});
  EXPECT_EQ(tokens->current(), "token-2");  // the next call gets a fresh token
}

TEST_F(HttpClientTest, SecondTokenFetchErrorIsReturned) {
  transport->set_handler([this](const Request&) {
    tokens->fail_with(Error(ErrorCode::login_required, "refresh token revoked"));
    return Result<Response>(response(401, kInvalidToken));
  });
  auto result = client.get("https://api.example/me");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::login_required);
  EXPECT_EQ(transport->request_count(), 1u);
}

TEST_F(HttpClientTest, CancelledRequestIsNotSent) {
  Request request;
  request.url = "https://api.example/me";
  request.cancel.cancel();
  auto result = client.send(request);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::cancelled);
  EXPECT_EQ(transport->request_count(), 0u);
}

// --- plain http and URL parsing ---------------------------------------------------------------

class PlainHttpRefused : public Fixture, public ::testing::WithParamInterface<const char*> {};

TEST_P(PlainHttpRefused, WithConfigErrorBeforeAnythingIsSent) {
  auto result = client.get(GetParam());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::config) << GetParam();
  EXPECT_EQ(transport->request_count(), 0u);
  EXPECT_EQ(tokens->token_calls(), 0);
}

INSTANTIATE_TEST_SUITE_P(HttpClient, PlainHttpRefused,
                         ::testing::Values("http://api.example/me", "HTTP://api.example:8080/me",
                                           "http://127.0.0.1@evil.example/",  // userinfo trick
                                           "http://127.0.0.1.evil.example/",
                                           "http://localhost.evil.example/", "http://[::2]/",
                                           "http://localhost./", "http://localhost.:8080/me",
                                           "http://10.0.0.1/", "http://128.0.0.1/"));

class LoopbackHttpAllowed : public Fixture, public ::testing::WithParamInterface<const char*> {};

TEST_P(LoopbackHttpAllowed, WithBearerToken) {
  transport->enqueue(response(200));
  auto result = client.get(GetParam());
  ASSERT_TRUE(result) << GetParam() << ": " << result.error().to_string();
  EXPECT_EQ(sent_auth(0), bearer("token-1"));
}

INSTANTIATE_TEST_SUITE_P(HttpClient, LoopbackHttpAllowed,
                         ::testing::Values("http://127.0.0.1/api/me", "http://127.0.0.1:43121/x",
                                           "http://127.9.8.7/", "http://localhost:8080/",
                                           "http://LOCALHOST/", "http://[::1]:9000/api",
                                           "http://user:pw@127.0.0.1/"));

class MalformedUrl : public Fixture, public ::testing::WithParamInterface<const char*> {};

TEST_P(MalformedUrl, IsAConfigError) {
  auto result = client.get(GetParam());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::config) << GetParam();
  EXPECT_EQ(transport->request_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(HttpClient, MalformedUrl,
                         ::testing::Values("", "api.example/me", "/relative", "ftp://host/x",
                                           "https://", "https:///path", "https://host:99999/",
                                           "https://host:12ab/", "https://[::1/", "https://a b/",
                                           "https://host\\@evil/", "https://ho$t/"));

TEST(HttpClientNoTokens, SendsWithoutAuthorizationEvenOverPlainHttp) {
  auto transport = std::make_shared<FakeTransport>();
  transport->enqueue(response(200));
  HttpClient client(transport, nullptr);
  ASSERT_TRUE(client.get("http://public.example/status"));
  EXPECT_FALSE(transport->requests().at(0).headers.contains("Authorization"));
}

// Every transport, the application's own included, takes the same path: the bearer in an
// Authorization field of the request it is given, the fresh one on the retry after a 401, and a
// caller's own Authorization as it is.
TEST_F(HttpClientTest, EveryTransportSeesTheBearerInTheRequestAndTheFreshOneOnARetry) {
  transport->enqueue(response(401, kInvalidToken));
  transport->enqueue(response(200));
  transport->enqueue(response(200));
  ASSERT_TRUE(client.get("https://api.example/me", {{"Accept", "text/plain"}}));
  ASSERT_TRUE(client.get("https://api.example/me", {{"Authorization", "Basic dTpw"}}));
  ASSERT_EQ(transport->request_count(), 3u);
  EXPECT_EQ(sent_auth(0), bearer("token-1"));
  EXPECT_EQ(sent_auth(1), bearer("token-2"));
  EXPECT_EQ(sent_auth(2), "Basic dTpw");
}

TEST(HttpClientNoTransport, ReportsConfigError) {
  HttpClient client(nullptr, std::make_shared<FakeTokens>());
  auto result = client.get("https://api.example/");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::config);
}

// --- logging ---------------------------------------------------------------------------------

struct CapturedLog {
  std::mutex mutex;
  std::vector<std::pair<LogLevel, std::string>> lines;
  LogSink sink() {
    return [this](LogLevel level, std::string_view message) {
      std::lock_guard<std::mutex> lock(mutex);
      lines.emplace_back(level, std::string(message));
    };
  }
};

TEST(HttpClientLogging, LinesNeverContainTokenQueryOrUserinfo) {
  const std::string canary = "CANARY-9f8e7d-";
  auto transport = std::make_shared<FakeTransport>();
  auto tokens = std::make_shared<FakeTokens>(canary);
  CapturedLog log;
  HttpClientOptions options;
  options.log = log.sink();
  HttpClient client(transport, tokens, options);

  transport->enqueue(response(302, {{"Location", "/callback?code=SECRETCODE&state=s"}}));
  transport->enqueue(response(401, kInvalidToken));
  transport->enqueue(response(200));
  transport->enqueue(response(200));
  transport->enqueue(Error(ErrorCode::network, "reset"));
  ASSERT_TRUE(client.get("https://user:PASSWORD@api.example/start?token=QUERYSECRET"));
  ASSERT_TRUE(client.post("https://api.example/items?code=SECRETCODE", "BODYSECRET"));
  ASSERT_FALSE(client.get("https://api.example/fail?code=SECRETCODE"));

  ASSERT_FALSE(log.lines.empty());
  bool saw_debug = false, saw_retry_info = false;
  const std::string fingerprint = Secret(canary + "1").fingerprint();
  for (const auto& [level, line] : log.lines) {
    for (const char* secret :
         {"CANARY", "SECRETCODE", "QUERYSECRET", "PASSWORD", "BODYSECRET", "Bearer", "?"}) {
      EXPECT_EQ(line.find(secret), std::string::npos) << secret << " in: " << line;
    }
    if (level == LogLevel::debug && line == "POST https://api.example/items -> 200 (attempt 1)")
      saw_debug = true;
    if (level == LogLevel::info && line.find(fingerprint) != std::string::npos &&
        line.find("401") != std::string::npos)
      saw_retry_info = true;
  }
  EXPECT_TRUE(saw_debug);
  EXPECT_TRUE(saw_retry_info);
}

TEST(HttpClientLogging, ErrorMessagesNeverContainQueryOrToken) {
  auto transport = std::make_shared<FakeTransport>();
  HttpClient client(transport, std::make_shared<FakeTokens>("CANARY-"));
  auto result = client.get("http://api.example/x?code=SECRETCODE");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message().find("SECRETCODE"), std::string::npos);
  EXPECT_NE(result.error().message().find("http://api.example/x"), std::string::npos);
}

// --- threads ---------------------------------------------------------------------------------

TEST(HttpClientThreads, ConcurrentSendsSurviveARevocationWithOneRetryEach) {
  auto transport = std::make_shared<FakeTransport>();
  auto tokens = std::make_shared<FakeTokens>();
  std::atomic<int> served{0};
  // The server accepts only the token that is current at the source; after 100 answers it
  // revokes token-1 by demanding token-2.
  std::atomic<int> accepted_generation{1};
  transport->set_handler([&](const Request& r) {
    if (++served == 100) accepted_generation = 2;
    const std::string want = bearer(tokens->token_n(accepted_generation.load()));
    if (r.headers.get("Authorization") != want)
      return Result<Response>(response(401, kInvalidToken));
    return Result<Response>(response(200));
  });
  HttpClient client(transport, tokens);
  constexpr int kThreads = 8, kPerThread = 40;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto result = client.get("https://api.example/me");
        if (result && result->status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_LE(transport->request_count(), std::size_t(2 * kThreads * kPerThread));
  for (const auto& rejected : tokens->invalidated()) EXPECT_EQ(rejected, "token-1");
  EXPECT_EQ(tokens->current(), "token-2");
}

}  // namespace
}  // namespace freshtoken::testing
