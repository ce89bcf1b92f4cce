// Credentials on the wire: HttpClient + the curl transport against real servers on loopback.
// - a redirect to another origin is followed without Authorization (or, by option, returned);
// - an https -> http redirect is refused with ErrorCode::tls;
// - TLS verifies against the test CA, and fails with ErrorCode::tls for an unknown CA or a
//   certificate for another name (before any request reaches the handler);
// - a bearer token is refused over plain http off loopback, before DNS or any connection.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "counting_transport.hpp"
#include "freshtoken/http_client.hpp"
#include "freshtoken/transport.hpp"
#include "test_servers.hpp"

namespace freshtoken {
namespace {

using testing::TestHttpServer;
using testing::TestPki;

const char kToken[] = "canary-bearer-token-0123456789abcdef";

class FixedToken : public TokenSource {
 public:
  Result<Secret> token() override {
    ++calls;
    return Secret(std::string_view(kToken));
  }
  void invalidate(const Secret&) override {}
  std::atomic<int> calls{0};
};

using testing::CountingTransport;

// What one server saw of the requests it got.
struct Seen {
  std::mutex mutex;
  std::vector<std::string> authorization;  // "" when absent
  std::vector<std::string> api_key;
  int count() {
    std::lock_guard<std::mutex> lock(mutex);
    return static_cast<int>(authorization.size());
  }
  void record(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mutex);
    authorization.push_back(req.get_header_value("Authorization"));
    api_key.push_back(req.get_header_value("X-Api-Key"));
  }
};

class RedirectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    target_.server().Get("/landing", [this](const httplib::Request& req, httplib::Response& res) {
      target_seen_.record(req);
      res.set_content("landed", "text/plain");
    });
    target_.start();
    origin_.server().Get("/start", [this](const httplib::Request& req, httplib::Response& res) {
      origin_seen_.record(req);
      res.status = 302;
      res.set_header("Location", target_.url("/landing"));
    });
    origin_.server().Get("/same", [this](const httplib::Request& req, httplib::Response& res) {
      origin_seen_.record(req);
      res.status = 307;
      res.set_header("Location", "/here");
    });
    origin_.server().Get("/here", [this](const httplib::Request& req, httplib::Response& res) {
      origin_seen_.record(req);
      res.set_content("here", "text/plain");
    });
    origin_.start();
  }

  TestHttpServer origin_, target_;  // two ports on 127.0.0.1: two origins
  Seen origin_seen_, target_seen_;
  std::shared_ptr<Transport> transport_ = make_curl_transport();
  std::shared_ptr<FixedToken> tokens_ = std::make_shared<FixedToken>();
};

TEST_F(RedirectTest, SameOriginRedirectKeepsTheToken) {
  HttpClient http(transport_, tokens_);
  auto response = http.get(origin_.url("/same"));
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->body, "here");
  std::lock_guard<std::mutex> lock(origin_seen_.mutex);
  ASSERT_EQ(origin_seen_.authorization.size(), 2u);
  EXPECT_EQ(origin_seen_.authorization[1], std::string("Bearer ") + kToken);
}

TEST_F(RedirectTest, CrossOriginRedirectIsFollowedWithoutCredentials) {
  HttpClientOptions options;
  options.sensitive_headers = {"X-Api-Key"};
  HttpClient http(transport_, tokens_, options);
  auto response = http.get(origin_.url("/start"), Headers{{"X-Api-Key", "canary-api-key"}});
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "landed");
  {
    std::lock_guard<std::mutex> lock(origin_seen_.mutex);
    ASSERT_EQ(origin_seen_.authorization.size(), 1u);
    EXPECT_EQ(origin_seen_.authorization[0], std::string("Bearer ") + kToken);
    EXPECT_EQ(origin_seen_.api_key[0], "canary-api-key");
  }
  std::lock_guard<std::mutex> lock(target_seen_.mutex);
  ASSERT_EQ(target_seen_.authorization.size(), 1u);
  EXPECT_EQ(target_seen_.authorization[0], "");
  EXPECT_EQ(target_seen_.api_key[0], "");
}

TEST_F(RedirectTest, CrossOriginRedirectWithStopReturnsTheRedirect) {
  HttpClientOptions options;
  options.cross_origin_redirects = CrossOriginRedirects::stop;
  HttpClient http(transport_, tokens_, options);
  auto response = http.get(origin_.url("/start"));
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->status, 302);
  EXPECT_EQ(response->headers.get("Location").value_or(""), target_.url("/landing"));
  EXPECT_EQ(target_seen_.count(), 0);
}

TEST(HttpsRedirect, ToPlainHttpIsRefusedWithATlsError) {
  TestPki pki;
  TestHttpServer plain;
  Seen plain_seen;
  plain.server().Get("/landing", [&](const httplib::Request& req, httplib::Response& res) {
    plain_seen.record(req);
    res.set_content("landed", "text/plain");
  });
  plain.start();
  TestHttpServer secure(pki.server_cert(), pki.server_key());
  secure.server().Get("/start", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 302;
    res.set_header("Location", plain.url("/landing"));
  });
  secure.start();

  TransportOptions t;
  t.ca_file = pki.ca_file();
  HttpClient http(make_curl_transport(t), std::make_shared<FixedToken>());
  auto response = http.get(secure.url("/start"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code(), ErrorCode::tls);
  EXPECT_EQ(plain_seen.count(), 0);
}

// ---- TLS ------------------------------------------------------------------------------------

class TlsTest : public ::testing::Test {
 protected:
  void serve(TestHttpServer& server) {
    server.server().Get("/api", [this](const httplib::Request& req, httplib::Response& res) {
      seen_.record(req);
      res.set_content("ok", "text/plain");
    });
    server.start();
  }
  Result<Response> get(const std::string& url, const std::string& ca_file) {
    TransportOptions t;
    t.ca_file = ca_file;
    HttpClient http(make_curl_transport(t), tokens_);
    return http.get(url);
  }

  TestPki pki_;
  Seen seen_;
  std::shared_ptr<FixedToken> tokens_ = std::make_shared<FixedToken>();
};

TEST_F(TlsTest, VerificationSucceedsWithTheTestCa) {
  TestHttpServer server(pki_.server_cert(), pki_.server_key());
  serve(server);
  auto response = get(server.url("/api"), pki_.ca_file());
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->status, 200);
  std::lock_guard<std::mutex> lock(seen_.mutex);
  ASSERT_EQ(seen_.authorization.size(), 1u);
  EXPECT_EQ(seen_.authorization[0], std::string("Bearer ") + kToken);
}

TEST_F(TlsTest, UnknownCaIsATlsErrorAndTheTokenNeverLeaves) {
  TestHttpServer server(pki_.server_cert(), pki_.server_key());
  serve(server);
  auto response = get(server.url("/api"), /*ca_file=*/"");  // the system's CAs only
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code(), ErrorCode::tls);
  EXPECT_EQ(seen_.count(), 0);
}

TEST_F(TlsTest, CertificateForAnotherNameIsATlsError) {
  TestHttpServer server(pki_.other_cert(), pki_.other_key());  // for other.example
  serve(server);
  auto response = get(server.url("/api"), pki_.ca_file());
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code(), ErrorCode::tls);
  EXPECT_EQ(seen_.count(), 0);
}

// ---- plain http -------------------------------------------------------------------------------

TEST(PlainHttp, BearerTokenOffLoopbackIsRefusedBeforeAnythingIsSent) {
  auto counting = std::make_shared<CountingTransport>(make_curl_transport());
  HttpClient http(counting, std::make_shared<FixedToken>());
  for (const char* url :
       {"http://example.invalid/", "http://10.0.0.1/api", "http://[2001:db8::1]/"}) {
    auto response = http.get(url);
    ASSERT_FALSE(response) << url;
    EXPECT_EQ(response.error().code(), ErrorCode::config) << url;
    EXPECT_EQ(response.error().to_string().find(kToken), std::string::npos);
  }
  EXPECT_EQ(counting->sends(), 0);  // no DNS lookup, no connection attempt
}

TEST(PlainHttp, LoopbackIsAllowed) {
  TestHttpServer server;
  Seen seen;
  server.server().Get("/api", [&](const httplib::Request& req, httplib::Response& res) {
    seen.record(req);
    res.set_content("ok", "text/plain");
  });
  server.start();
  HttpClient http(make_curl_transport(), std::make_shared<FixedToken>());
  auto response = http.get(server.url("/api"));
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(seen.count(), 1);
}

}  // namespace
}  // namespace freshtoken
