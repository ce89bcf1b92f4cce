// AuthorizationServer::for_issuer: nothing is sent until an operation needs the metadata; then
// one discovery, shared by every caller that needs it meanwhile, with discover()'s checks; a
// failure is not remembered.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "freshtoken/sign_in.hpp"
#include "test_helpers.hpp"

namespace freshtoken::testing {
namespace {

const std::string kIssuer = "https://as.example";

std::string document(const std::string& issuer, const std::string& base) {
  return R"({"issuer":")" + issuer + R"(","token_endpoint":")" + base +
         R"(/token","revocation_endpoint":")" + base + R"(/revoke"})";
}

Response token_response() {
  return json_response(200, R"({"access_token":"AT","token_type":"Bearer","expires_in":3600})");
}

class LazyDiscovery : public ::testing::Test {
 protected:
  LazyDiscovery() { clear_discovery_cache(); }
  ~LazyDiscovery() override { clear_discovery_cache(); }

  std::shared_ptr<AuthorizationServer> for_issuer(const std::string& issuer = kIssuer) {
    auto server = AuthorizationServer::for_issuer(f_.transport, issuer, public_client(), f_.clock);
    EXPECT_TRUE(server) << server.error().to_string();
    return server ? *server : nullptr;
  }

  // The server: discovery answered by `discovery_`, the token endpoint with a token.
  void serve(std::function<Result<Response>()> discovery) {
    f_.transport->set_handler([this, discovery](const Request& r) -> Result<Response> {
      if (r.url == kIssuer + "/.well-known/openid-configuration") {
        ++discoveries_;
        return discovery();
      }
      if (r.url == kIssuer + "/token") {
        ++token_requests_;
        return token_response();
      }
      return Error(ErrorCode::network, "unexpected URL");
    });
  }

  ServerFixture f_;
  std::atomic<int> discoveries_{0};
  std::atomic<int> token_requests_{0};
  const Secret refresh_token_{std::string_view("RT")};
};

TEST_F(LazyDiscovery, NothingIsSentUntilAGrantNeedsTheMetadata) {
  serve([] { return json_response(200, document(kIssuer, kIssuer)); });
  auto server = for_issuer();
  ASSERT_TRUE(server);
  EXPECT_EQ(f_.transport->request_count(), 0u);
  EXPECT_FALSE(server->has_metadata());

  auto tokens = server->refresh(refresh_token_);
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  EXPECT_EQ(discoveries_, 1);
  EXPECT_EQ(token_requests_, 1);
  EXPECT_TRUE(server->has_metadata());

  ASSERT_TRUE(server->refresh(refresh_token_));
  EXPECT_EQ(discoveries_, 1);  // once
  EXPECT_EQ(server->metadata()->revocation_endpoint, kIssuer + "/revoke");
}

TEST_F(LazyDiscovery, ARequestThatNeedsNoServerSendsNothing) {
  serve([] { return json_response(200, document(kIssuer, kIssuer)); });
  auto server = for_issuer();
  ASSERT_TRUE(server);
  auto tokens = server->refresh(Secret());
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::login_required);
  EXPECT_EQ(f_.transport->request_count(), 0u);
}

TEST_F(LazyDiscovery, ConcurrentFirstUsesShareOneDiscovery) {
  std::atomic<int> waiting{0};
  constexpr int kThreads = 8;
  serve([&] {
    // Held until every caller has asked: each either joined this discovery or would start
    // its own.
    for (int i = 0; i < 2000 && waiting < kThreads; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return json_response(200, document(kIssuer, kIssuer));
  });
  auto server = for_issuer();
  ASSERT_TRUE(server);
  std::vector<std::thread> threads;
  std::atomic<int> succeeded{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      ++waiting;
      if (server->refresh(refresh_token_)) ++succeeded;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(discoveries_, 1);
  EXPECT_EQ(succeeded, kThreads);
  EXPECT_EQ(token_requests_, kThreads);
}

TEST_F(LazyDiscovery, AFailedDiscoveryIsReturnedAndTriedAgainByTheNextCall) {
  std::atomic<bool> reachable{false};
  serve([&]() -> Result<Response> {
    if (!reachable) return Error(ErrorCode::network, "connection refused");
    return json_response(200, document(kIssuer, kIssuer));
  });
  auto server = for_issuer();
  ASSERT_TRUE(server);

  auto failed = server->refresh(refresh_token_);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), ErrorCode::network);
  EXPECT_EQ(token_requests_, 0);
  EXPECT_FALSE(server->has_metadata());
  EXPECT_FALSE(server->metadata());
  EXPECT_EQ(discoveries_, 2);

  reachable = true;
  auto tokens = server->refresh(refresh_token_);
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  EXPECT_EQ(discoveries_, 3);
  EXPECT_EQ(token_requests_, 1);
}

TEST_F(LazyDiscovery, TheIssuerCheckStillHolds) {
  serve([] { return json_response(200, document("https://evil.example", kIssuer)); });
  auto server = for_issuer();
  ASSERT_TRUE(server);
  auto tokens = server->refresh(refresh_token_);
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::invalid_response);
  EXPECT_EQ(token_requests_, 0);
  EXPECT_FALSE(server->has_metadata());
}

TEST_F(LazyDiscovery, EveryEndpointCheckStillHolds) {
  serve([] { return json_response(200, document(kIssuer, "http://as.example")); });
  auto server = for_issuer();
  ASSERT_TRUE(server);
  auto revoked = server->revoke(refresh_token_, "refresh_token");
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code(), ErrorCode::config);
  EXPECT_EQ(f_.transport->request_count(), 1u);  // the discovery document only
}

TEST_F(LazyDiscovery, AnIssuerDiscoveryWouldRefuseIsRefusedWithoutARequest) {
  for (const char* issuer : {"http://as.example", "https://as.example/?tenant=1", "as.example"}) {
    auto server = AuthorizationServer::for_issuer(f_.transport, issuer, public_client(), f_.clock);
    ASSERT_FALSE(server) << issuer;
    EXPECT_EQ(server.error().code(), ErrorCode::config) << issuer;
  }
  EXPECT_FALSE(AuthorizationServer::for_issuer(nullptr, kIssuer, public_client()));
  EXPECT_EQ(f_.transport->request_count(), 0u);
}

TEST_F(LazyDiscovery, MetadataDiscoveredInThisProcessIsReused) {
  serve([] { return json_response(200, document(kIssuer, kIssuer)); });
  ASSERT_TRUE(for_issuer()->metadata());
  auto again = for_issuer();
  ASSERT_TRUE(again->refresh(refresh_token_));
  EXPECT_EQ(discoveries_, 1);
}

}  // namespace
}  // namespace freshtoken::testing
