// A Session over AuthorizationServer::for_issuer: a stored token that is still valid is served
// without any request; the first refresh discovers the server, and later work reuses it.
#include <gtest/gtest.h>

#include "freshtoken/sign_in.hpp"
#include "session_test_support.hpp"

namespace freshtoken::testing {
namespace {

using namespace std::chrono_literals;

class SessionLazyDiscoveryTest : public SessionTest {
 protected:
  SessionLazyDiscoveryTest() {
    clear_discovery_cache();
    ClientConfig client;
    client.client_id = "app";
    server_ =
        AuthorizationServer::for_issuer(transport_, "https://as.example", client, clock_).value();
    transport_->set_handler([this](const Request& request) -> Result<Response> {
      if (request.url == "https://as.example/.well-known/openid-configuration") {
        ++discoveries_;
        return json_response(200, R"({"issuer":"https://as.example",)"
                                  R"("token_endpoint":"https://as.example/token",)"
                                  R"("revocation_endpoint":"https://as.example/revoke"})");
      }
      if (request.url == "https://as.example/revoke") return json_response(200, "");
      if (request.url != "https://as.example/token") return json_response(404, "{}");
      return token_response("at-" + std::to_string(++issued_), "rt-1", 100);
    });
  }
  ~SessionLazyDiscoveryTest() override { clear_discovery_cache(); }

  std::atomic<int> discoveries_{0};
};

TEST_F(SessionLazyDiscoveryTest, AValidStoredTokenIsServedWithoutAnyRequest) {
  store_record("at-0", "rt-0", kStart + 1h);
  auto session = make_session();
  EXPECT_EQ(token_of(*session), "at-0");
  ASSERT_TRUE(session->status());
  EXPECT_EQ(transport_->request_count(), 0u);
  EXPECT_FALSE(server_->has_metadata());
}

TEST_F(SessionLazyDiscoveryTest, TheFirstRefreshDiscoversOnceAndSignOutReusesIt) {
  store_record("at-0", "rt-0", kStart + 100s);
  auto session = make_session();
  EXPECT_EQ(token_of(*session), "at-0");
  EXPECT_EQ(discoveries_, 0);

  clock_->advance(99s);  // inside the hard margin: this call waits for a refresh
  EXPECT_EQ(token_of(*session), "at-1");
  EXPECT_EQ(discoveries_, 1);
  EXPECT_EQ(token_requests(), 1u);

  ASSERT_TRUE(session->sign_out());
  EXPECT_EQ(discoveries_, 1);
  EXPECT_EQ(transport_->requests().back().url, "https://as.example/revoke");
}

}  // namespace
}  // namespace freshtoken::testing
