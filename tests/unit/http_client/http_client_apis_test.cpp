// HttpClient with HttpClientOptions::apis: which origin gets which target's token, what an
// unlisted origin gets (nothing), redirects between APIs, bad lists, and the 403/401
// insufficient_scope challenge as a typed error.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dpop.hpp"
#include "dpop_proof_reader.hpp"
#include "fake_tokens.hpp"
#include "fake_transport.hpp"
#include "freshtoken/http_client.hpp"

namespace freshtoken::testing {
namespace {

// A TokenSource with one token per target, "<resource or default>[#scope]-<generation>".
// Records every token_for() target and every access_token() call; invalidate() of a target's
// current token moves that target to its next generation. Tokens are bound to `key` when set.
class TargetTokens : public TokenSource {
 public:
  Result<Secret> token() override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++default_calls_;
    return Secret(current_locked(TokenTarget{}));
  }
  Result<AccessToken> access_token() override {
    auto t = token();
    if (!t) return t.error();
    return AccessToken{std::move(*t), key};
  }
  Result<AccessToken> token_for(const TokenTarget& target) override {
    std::lock_guard<std::mutex> lock(mutex_);
    asked_.push_back(target);
    return AccessToken{Secret(current_locked(target)), key};
  }
  void invalidate(const Secret& rejected) override {
    std::lock_guard<std::mutex> lock(mutex_);
    invalidated_.emplace_back(rejected.reveal());
    for (auto& [target, generation] : generations_) {
      if (name_of(target, generation) == rejected.reveal()) ++generation;
    }
  }

  std::string current(const TokenTarget& target) {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_locked(target);
  }
  std::vector<TokenTarget> asked() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return asked_;
  }
  int default_calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return default_calls_;
  }
  std::vector<std::string> invalidated() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return invalidated_;
  }

  std::shared_ptr<const DpopKey> key;

 private:
  static std::string name_of(const TokenTarget& target, int generation) {
    std::string name = target.resource.empty() ? "default" : target.resource;
    if (!target.scope.empty()) name += "#" + target.scope;
    return name + "-" + std::to_string(generation);
  }
  std::string current_locked(const TokenTarget& target) {
    for (const auto& [known, generation] : generations_) {
      if (known == target) return name_of(known, generation);
    }
    generations_.emplace_back(target, 1);
    return name_of(target, 1);
  }

  mutable std::mutex mutex_;
  std::vector<std::pair<TokenTarget, int>> generations_;
  std::vector<TokenTarget> asked_;
  std::vector<std::string> invalidated_;
  int default_calls_ = 0;
};

const TokenTarget kApi{"https://api.example/api", ""};
const TokenTarget kFiles{"https://files.example:8443/files", "files.read"};

struct HttpClientApisTest : ::testing::Test {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  std::shared_ptr<TargetTokens> tokens = std::make_shared<TargetTokens>();
  HttpClientOptions options = two_apis();
  std::unique_ptr<HttpClient> client = std::make_unique<HttpClient>(transport, tokens, options);

  static HttpClientOptions two_apis() {
    HttpClientOptions o;
    o.apis = {{"https://api.example", kApi}, {"https://files.example:8443", kFiles}};
    return o;
  }
  void rebuild() { client = std::make_unique<HttpClient>(transport, tokens, options); }
  Request sent(std::size_t i) const { return transport->requests().at(i); }
  std::string sent_auth(std::size_t i) const {
    return sent(i).headers.get("Authorization").value_or("<none>");
  }
};

TEST_F(HttpClientApisTest, EachListedOriginGetsItsOwnTargetsToken) {
  transport->set_handler([](const Request&) { return Result<Response>(response(200)); });
  ASSERT_TRUE(client->get("https://api.example/api/me"));
  ASSERT_TRUE(client->get("https://files.example:8443/files/me"));
  ASSERT_TRUE(client->get("https://api.example/api/other"));
  EXPECT_EQ(sent_auth(0), bearer("https://api.example/api-1"));
  EXPECT_EQ(sent_auth(1), bearer("https://files.example:8443/files#files.read-1"));
  EXPECT_EQ(sent_auth(2), bearer("https://api.example/api-1"));
  EXPECT_EQ(tokens->asked(), (std::vector<TokenTarget>{kApi, kFiles, kApi}));
  EXPECT_EQ(tokens->default_calls(), 0) << "a listed origin never gets the default token";
}

TEST_F(HttpClientApisTest, AnUnlistedOriginGetsNoTokenAndItsUnauthorizedIsNotRetried) {
  transport->enqueue(response(401, {{"WWW-Authenticate", R"(Bearer error="invalid_token")"}}));
  auto result = client->get("https://elsewhere.example/next?page=2");
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->status, 401);
  ASSERT_EQ(transport->request_count(), 1u);
  EXPECT_FALSE(sent(0).headers.contains("Authorization"));
  EXPECT_FALSE(sent(0).headers.contains("DPoP"));
  EXPECT_TRUE(tokens->asked().empty());
  EXPECT_EQ(tokens->default_calls(), 0);
  EXPECT_TRUE(tokens->invalidated().empty());

  // Another port of a listed host is another origin.
  transport->enqueue(response(200));
  ASSERT_TRUE(client->get("https://files.example/files/me"));
  EXPECT_FALSE(sent(1).headers.contains("Authorization"));

  // Nothing is attached, so plain http to an unlisted host is not refused.
  transport->enqueue(response(200));
  ASSERT_TRUE(client->get("http://cdn.example/logo.png"));
  EXPECT_FALSE(sent(2).headers.contains("Authorization"));
  EXPECT_TRUE(tokens->asked().empty());
}

TEST_F(HttpClientApisTest, ARedirectFromOneApiToAnotherListedApiCarriesNoToken) {
  transport->enqueue(response(302, {{"Location", "https://files.example:8443/files/me"}}));
  transport->enqueue(response(200));
  ASSERT_TRUE(client->get("https://api.example/api/me"));
  ASSERT_EQ(transport->request_count(), 2u);
  EXPECT_EQ(sent_auth(0), bearer("https://api.example/api-1"));
  EXPECT_EQ(sent(1).url, "https://files.example:8443/files/me");
  EXPECT_FALSE(sent(1).headers.contains("Authorization"));
  EXPECT_EQ(tokens->asked(), std::vector<TokenTarget>{kApi}) << "no token fetched for the hop";
}

TEST_F(HttpClientApisTest, TheEmptyListGivesEveryOriginTheDefaultToken) {
  options = {};
  rebuild();
  transport->set_handler([](const Request&) { return Result<Response>(response(200)); });
  ASSERT_TRUE(client->get("https://api.example/api/me"));
  ASSERT_TRUE(client->get("https://anything.example/x"));
  EXPECT_EQ(sent_auth(0), bearer("default-1"));
  EXPECT_EQ(sent_auth(1), bearer("default-1"));
  EXPECT_EQ(tokens->default_calls(), 2);
  EXPECT_TRUE(tokens->asked().empty()) << "the empty list keeps the access_token() path";
}

TEST_F(HttpClientApisTest, ListedOriginsAreComparedCaseInsensitivelyWithoutTheDefaultPort) {
  options.apis = {{"HTTPS://Files.Example:443/", kFiles},
                  {"http://LOCALHOST:80", kApi},
                  {"https://[::1]:8443", TokenTarget{"urn:v6", ""}}};
  rebuild();
  transport->set_handler([](const Request&) { return Result<Response>(response(200)); });
  ASSERT_TRUE(client->get("https://files.example/a"));
  ASSERT_TRUE(client->get("https://FILES.example:443/b"));
  ASSERT_TRUE(client->get("http://localhost/c"));
  ASSERT_TRUE(client->get("https://[::1]:8443/d"));
  ASSERT_TRUE(client->get("http://files.example/e"));  // another scheme: another origin
  EXPECT_EQ(sent_auth(0), bearer("https://files.example:8443/files#files.read-1"));
  EXPECT_EQ(sent_auth(1), bearer("https://files.example:8443/files#files.read-1"));
  EXPECT_EQ(sent_auth(2), bearer("https://api.example/api-1"));
  EXPECT_EQ(sent_auth(3), bearer("urn:v6-1"));
  EXPECT_EQ(sent_auth(4), "<none>");
  EXPECT_EQ(tokens->asked().size(), 4u);
}

TEST_F(HttpClientApisTest, The401RetryInvalidatesTheTargetsTokenAndAsksForTheSameTarget) {
  transport->enqueue(response(401, {{"WWW-Authenticate", R"(Bearer error="invalid_token")"}}));
  transport->enqueue(response(200));
  auto result = client->get("https://files.example:8443/files/me");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(tokens->invalidated(),
            std::vector<std::string>{"https://files.example:8443/files#files.read-1"});
  EXPECT_EQ(sent_auth(1), bearer("https://files.example:8443/files#files.read-2"));
  EXPECT_EQ(tokens->asked(), (std::vector<TokenTarget>{kFiles, kFiles}));
  EXPECT_EQ(tokens->current(kApi), "https://api.example/api-1") << "the other API's is kept";
}

TEST_F(HttpClientApisTest, AListedTargetsDpopBoundTokenGoesWithAProofForThatToken) {
  tokens->key = DpopKey::generate();
  transport->enqueue(response(200));
  ASSERT_TRUE(client->post("https://files.example:8443/files/upload", "{}"));
  const std::string token = "https://files.example:8443/files#files.read-1";
  EXPECT_EQ(sent_auth(0), "DPoP " + token);
  auto proof = read_dpop_proof(sent(0).headers.get("DPoP").value_or(""));
  ASSERT_TRUE(proof);
  EXPECT_TRUE(proof->signature_valid);
  EXPECT_EQ(proof->claims["htu"], "https://files.example:8443/files/upload");
  EXPECT_EQ(proof->claims["ath"], util::base64url_encode(util::sha256(token)));
}

class BadApiEntry : public HttpClientApisTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(BadApiEntry, MakesEveryRequestAConfigErrorNamingTheEntry) {
  options.apis = {{"https://api.example", kApi}, {GetParam(), kFiles}};
  rebuild();
  transport->set_handler([](const Request&) { return Result<Response>(response(200)); });
  for (const char* url : {"https://api.example/api/me", "https://elsewhere.example/"}) {
    auto result = client->get(url);
    ASSERT_FALSE(result) << url;
    EXPECT_EQ(result.error().code(), ErrorCode::config);
    EXPECT_NE(result.error().message().find("apis[1]"), std::string::npos)
        << result.error().message();
    EXPECT_EQ(result.error().message().find("s3cret"), std::string::npos)
        << "userinfo and query never reach a message";
  }
  EXPECT_EQ(transport->request_count(), 0u);
  EXPECT_TRUE(tokens->asked().empty());
}

INSTANTIATE_TEST_SUITE_P(HttpClient, BadApiEntry,
                         ::testing::Values("https://files.example/files",      // a path
                                           "https://files.example?k=s3cret",   // a query
                                           "https://files.example/#frag",      // a fragment
                                           "https://me:s3cret@files.example",  // userinfo
                                           "ftp://files.example",              // not http(s)
                                           "files.example",                    // not absolute
                                           "",
                                           "https://API.example:443/"));  // listed again

TEST_F(HttpClientApisTest, TheSameOriginListedTwiceWithTheSameTargetIsFine) {
  options.apis = {{"https://api.example", kApi}, {"https://API.example:443/", kApi}};
  rebuild();
  transport->enqueue(response(200));
  ASSERT_TRUE(client->get("https://api.example/api/me"));
  EXPECT_EQ(sent_auth(0), bearer("https://api.example/api-1"));
}

// ---- insufficient_scope ----

const char* const kInsufficientBearer =
    R"(Bearer realm="files", error="insufficient_scope", scope="files.write", )"
    R"(error_description="writing needs files.write", error_uri="https://docs.example/scopes")";

void expect_insufficient_scope(const Result<Response>& result, int status,
                               const std::string& token) {
  ASSERT_FALSE(result) << "status " << result->status;
  const Error& error = result.error();
  EXPECT_EQ(error.code(), ErrorCode::insufficient_scope);
  EXPECT_EQ(error.http_status(), status);
  ASSERT_TRUE(error.oauth());
  EXPECT_EQ(error.oauth()->error, "insufficient_scope");
  EXPECT_EQ(error.oauth()->scope, "files.write");
  EXPECT_NE(error.message().find("files.write"), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("https://files.example:8443"), std::string::npos)
      << error.message();
  EXPECT_EQ(error.to_string().find(token), std::string::npos) << "the token is never named";
}

TEST_F(HttpClientApisTest, Forbidden403BearerInsufficientScopeIsATypedErrorWithTheScope) {
  transport->enqueue(response(403, {{"WWW-Authenticate", kInsufficientBearer}}, "{}"));
  auto result = client->put("https://files.example:8443/files/a.txt", "hello");
  expect_insufficient_scope(result, 403, "https://files.example:8443/files#files.read-1");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().oauth()->description, "writing needs files.write");
  EXPECT_EQ(result.error().oauth()->uri, "https://docs.example/scopes");
  EXPECT_EQ(transport->request_count(), 1u) << "not resent";
  EXPECT_TRUE(tokens->invalidated().empty()) << "the token is not bad, only too narrow";
}

TEST_F(HttpClientApisTest, Forbidden403DpopInsufficientScopeIsATypedErrorWithTheScope) {
  tokens->key = DpopKey::generate();
  transport->enqueue(
      response(403, {{"WWW-Authenticate",
                      R"(DPoP algs="ES256", error="insufficient_scope", scope="files.write", )"
                      R"(error_uri="https://docs.example/scopes")"}}));
  auto result = client->get("https://files.example:8443/files/a.txt");
  expect_insufficient_scope(result, 403, "https://files.example:8443/files#files.read-1");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().oauth()->uri, "https://docs.example/scopes");
  EXPECT_TRUE(tokens->invalidated().empty());
}

TEST_F(HttpClientApisTest, Unauthorized401InsufficientScopeIsTheSameTypedError) {
  transport->enqueue(response(401, {{"WWW-Authenticate", kInsufficientBearer}}));
  auto result = client->get("https://files.example:8443/files/a.txt");
  expect_insufficient_scope(result, 401, "https://files.example:8443/files#files.read-1");
  EXPECT_EQ(transport->request_count(), 1u);
  EXPECT_TRUE(tokens->invalidated().empty());
}

TEST_F(HttpClientApisTest, InsufficientScopeWithTheDefaultTokenIsATypedErrorToo) {
  options = {};
  rebuild();
  transport->enqueue(response(403, {{"WWW-Authenticate", kInsufficientBearer}}));
  auto result = client->get("https://files.example:8443/files/a.txt");
  expect_insufficient_scope(result, 403, "default-1");
}

TEST_F(HttpClientApisTest, Forbidden403WithoutAnInsufficientScopeChallengeStaysAResponse) {
  for (const char* challenge :
       {"", R"(Basic realm="x")", R"(Bearer error="invalid_token")", R"(Bearer realm="files")"}) {
    Headers headers;
    if (*challenge) headers.add("WWW-Authenticate", challenge);
    transport->enqueue(response(403, headers, "forbidden"));
    auto result = client->get("https://files.example:8443/files/a.txt");
    ASSERT_TRUE(result) << challenge << ": " << result.error().to_string();
    EXPECT_EQ(result->status, 403);
    EXPECT_EQ(result->body, "forbidden");
  }
  EXPECT_EQ(transport->request_count(), 4u);
  EXPECT_TRUE(tokens->invalidated().empty());
}

TEST_F(HttpClientApisTest, InsufficientScopeOnARequestWithoutOurTokenStaysAResponse) {
  transport->set_handler([](const Request&) {
    return Result<Response>(response(403, {{"WWW-Authenticate", kInsufficientBearer}}));
  });
  // The caller's own Authorization header.
  auto own = client->get("https://files.example:8443/files/a.txt",
                         {{"Authorization", "Bearer the-callers-own"}});
  ASSERT_TRUE(own) << own.error().to_string();
  EXPECT_EQ(own->status, 403);
  // An unlisted origin.
  auto unlisted = client->get("https://elsewhere.example/a.txt");
  ASSERT_TRUE(unlisted) << unlisted.error().to_string();
  EXPECT_EQ(unlisted->status, 403);
  EXPECT_TRUE(tokens->asked().empty());
}

TEST_F(HttpClientApisTest, InsufficientScopeAfterACrossOriginRedirectStaysAResponse) {
  transport->enqueue(response(302, {{"Location", "https://files.example:8443/files/a.txt"}}));
  transport->enqueue(response(403, {{"WWW-Authenticate", kInsufficientBearer}}));
  auto result = client->get("https://api.example/api/a.txt");
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->status, 403);
  EXPECT_FALSE(sent(1).headers.contains("Authorization"));
}

}  // namespace
}  // namespace freshtoken::testing
