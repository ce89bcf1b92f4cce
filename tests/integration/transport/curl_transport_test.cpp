// What only the libcurl transport does, beyond the contract (transport_contract_test.cpp): the
// proxy environment variables libcurl reads.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "contract.hpp"
#include "curl/curl_transport.hpp"
#include "freshtoken/transport.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;
using contract::endpoints;

Request make(std::string method, std::string url) {
  Request r;
  r.method = std::move(method);
  r.url = std::move(url);
  return r;
}

// Points every proxy variable libcurl reads at `proxy` for the test's life.
class ProxyEnvironment {
 public:
  explicit ProxyEnvironment(const std::string& proxy) {
    for (const char* name : kNames) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (std::strcmp(name, "no_proxy") == 0 || std::strcmp(name, "NO_PROXY") == 0) {
        ::unsetenv(name);
      } else {
        ::setenv(name, proxy.c_str(), 1);
      }
    }
  }
  ~ProxyEnvironment() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name, value->c_str(), 1);
      } else {
        ::unsetenv(name);
      }
    }
  }

 private:
  static constexpr const char* kNames[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                           "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

// A name that resolves nowhere (RFC 6761): only a proxy can take a request for it.
constexpr const char* kRemoteUrl = "http://freshtoken-proxy-test.invalid/api";

class CurlTransportProxyTest : public ::testing::Test {
 protected:
  void SetUp() override { contract::reset_server(); }
  static std::string localhost_url(const std::string& path) {
    // The http endpoint's port, named as localhost rather than 127.0.0.1.
    const std::string& http = endpoints().http;
    return "http://localhost:" + http.substr(http.rfind(':') + 1) + path;
  }
  static std::vector<std::string> proxy_heads() { return contract::server_state().proxy_heads; }
  std::shared_ptr<Transport> transport_ = make_curl_transport();
};

TEST_F(CurlTransportProxyTest, LoopbackRequestsBypassTheEnvironmentsProxy) {
  ProxyEnvironment env(endpoints().proxy);
  for (const std::string& url : {endpoints().http + "/echo", localhost_url("/echo")}) {
    auto res = transport_->send(make("GET", url));
    ASSERT_TRUE(res) << url << ": " << res.error().to_string();
    EXPECT_EQ(res->status, 200) << url;
    EXPECT_EQ(res->headers.get("X-Method"), "GET") << url;  // the server's answer
  }
  EXPECT_TRUE(proxy_heads().empty()) << proxy_heads().front();
  // The control: the proxy is in use for a host that is not loopback, on the same handle.
  auto remote = transport_->send(make("GET", kRemoteUrl));
  ASSERT_TRUE(remote) << remote.error().to_string();
  EXPECT_EQ(remote->status, 502);
  ASSERT_EQ(proxy_heads().size(), 1u);
  EXPECT_NE(proxy_heads()[0].find("freshtoken-proxy-test.invalid"), std::string::npos);
  // And loopback again after it: the proxy setting does not stick to the handle.
  auto back = transport_->send(make("GET", endpoints().http + "/echo"));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->status, 200);
  EXPECT_EQ(proxy_heads().size(), 1u);
}

TEST_F(CurlTransportProxyTest, ABearerTokenToALoopbackHostNeverReachesTheProxy) {
  ProxyEnvironment env(endpoints().proxy);
  auto curl = std::make_shared<detail::CurlTransport>(TransportOptions{});
  Request req = make("GET", localhost_url("/authorization"));
  req.headers.add("Authorization", "Bearer tok-123");
  auto res = curl->send(req);
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->body, "Bearer tok-123\n");
  EXPECT_TRUE(proxy_heads().empty());
}

TEST_F(CurlTransportProxyTest, EmptyProxyOptionIgnoresTheEnvironment) {
  ProxyEnvironment env(endpoints().proxy);
  TransportOptions options;
  options.proxy = "";
  options.connect_timeout = 2s;
  auto res = make_curl_transport(options)->send(make("GET", kRemoteUrl));
  ASSERT_FALSE(res);  // the name resolves nowhere and no proxy takes it
  EXPECT_EQ(res.error().code(), ErrorCode::network) << res.error().to_string();
  EXPECT_TRUE(proxy_heads().empty());
}

}  // namespace
}  // namespace freshtoken
