// DPoP end to end against the in-process mock server with `--dpop required --dpop-nonce on`:
// browser and device sign-in, the API through HttpClient (nonce dance, 401 retry), refresh,
// revocation, a second process on the same store, and a copied token refused without the key.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "freshtoken/http_client.hpp"
#include "freshtoken/sign_in.hpp"
#include "headless_browser.hpp"
#include "mock_session_fixture.hpp"

namespace freshtoken::testing {
namespace {

using namespace std::chrono_literals;

class DpopMockServerTest : public MockServerSessionTest {
 protected:
  DpopMockServerTest() {
    server_options_.dpop = mock::DpopMode::required;
    server_options_.dpop_nonce = true;
    server_options_.auto_approve = true;
    server_options_.rotation = true;
    client_.dpop = DpopMode::required;
  }
  void TearDown() override {
    if (browser_.joinable()) browser_.join();
    MockServerSessionTest::TearDown();
  }

  Result<TokenSet> browser_sign_in() {
    BrowserSignInOptions options;
    options.scope = "openid profile api";
    options.timeout = 20s;
    options.open_browser = [this](const std::string& url) -> Result<void> {
      browser_ = std::thread([url] { (void)follow_redirects(url); });
      return {};
    };
    auto tokens = sign_in_with_browser(*as_, options);
    if (browser_.joinable()) browser_.join();
    return tokens;
  }

  Result<TokenSet> device_sign_in() {
    DeviceSignInOptions options;
    options.scope = "openid profile api";
    std::string user_code;
    options.on_code = [&user_code](const DeviceAuthorization& a) { user_code = a.user_code; };
    int polls = 0;
    options.sleep = [&](std::chrono::milliseconds) {
      if (++polls == 2) server_->approve_device(user_code);
    };
    return sign_in_with_device(*as_, options);
  }

  // GET /api/me with `token` sent in `scheme`, without a proof: what a thief holding only the
  // token can do.
  int api_status_without_proof(const Secret& token, const std::string& scheme) {
    Request r;
    r.url = server_->issuer() + "/api/me";
    r.headers.set("Authorization", scheme + " " + std::string(token.reveal()));
    auto response = transport_->send(r);
    return response ? response->status : -1;
  }

  std::thread browser_;
};

TEST_F(DpopMockServerTest, BrowserSignInBindsTheTokensAndTheApiAcceptsThemOnlyWithTheKey) {
  auto tokens = browser_sign_in();
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  EXPECT_EQ(tokens->token_type, "DPoP");
  ASSERT_TRUE(tokens->dpop_key);
  const Secret stolen = tokens->access_token;

  auto session = make_session();
  ASSERT_TRUE(session->sign_in(*tokens));
  EXPECT_EQ(session->status()->dpop_thumbprint, tokens->dpop_key->thumbprint());
  HttpClient client(transport_, session);
  auto me = client.get(server_->issuer() + "/api/me");
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->status, 200) << me->body;

  // The copied token alone is refused, as Bearer and as DPoP without a proof; the session
  // goes on.
  EXPECT_EQ(api_status_without_proof(stolen, "Bearer"), 401);
  EXPECT_EQ(api_status_without_proof(stolen, "DPoP"), 401);
  me = client.get(server_->issuer() + "/api/me");
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 200);
}

TEST_F(DpopMockServerTest, DeviceSignInRefreshRetryAndRevocationAllCarryProofs) {
  auto tokens = device_sign_in();
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  EXPECT_EQ(tokens->token_type, "DPoP");
  auto session = make_session();
  ASSERT_TRUE(session->sign_in(*tokens));
  HttpClient client(transport_, session);
  ASSERT_EQ(client.get(server_->issuer() + "/api/me")->status, 200);

  // Refresh: the access token has expired as far as the session knows.
  clock_->advance(2h);
  auto me = client.get(server_->issuer() + "/api/me");
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->status, 200) << me->body;
  EXPECT_EQ(refresh_grants(), 1);

  // 401 retry: the server forgets every access token; the client refreshes once and retries.
  server_->revoke_access_tokens();
  me = client.get(server_->issuer() + "/api/me");
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->status, 200) << me->body;
  EXPECT_EQ(refresh_grants(), 2);

  const auto stats = server_->stats();
  EXPECT_EQ(stats.refresh_reuse_detected, 0) << "a nonce resend must not look like a reuse";
  EXPECT_EQ(stats.dpop_rejections.missing, 0);
  EXPECT_EQ(stats.dpop_rejections.signature, 0);
  EXPECT_EQ(stats.dpop_rejections.htu, 0);
  EXPECT_EQ(stats.dpop_rejections.ath, 0);
  EXPECT_EQ(stats.dpop_rejections.key_mismatch, 0);
  EXPECT_EQ(stats.dpop_rejections.jti_replay, 0);

  ASSERT_TRUE(session->sign_out());
  EXPECT_EQ(server_->stats().dpop_rejections.missing, 0);
}

TEST_F(DpopMockServerTest, ASecondProcessUsesTheStoredKeyForTheApiAndItsRefresh) {
  auto tokens = device_sign_in();
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  {
    auto first = make_session();
    ASSERT_TRUE(first->sign_in(*tokens));
  }
  auto second = make_session();  // another process, same store: the key comes with the record
  EXPECT_EQ(second->status()->dpop_thumbprint, tokens->dpop_key->thumbprint());
  HttpClient client(transport_, second);
  ASSERT_EQ(client.get(server_->issuer() + "/api/me")->status, 200);
  clock_->advance(2h);
  auto me = client.get(server_->issuer() + "/api/me");
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->status, 200);
  EXPECT_EQ(refresh_grants(), 1);
  EXPECT_EQ(server_->stats().dpop_rejections.key_mismatch, 0);
}

TEST_F(DpopMockServerTest, AStolenRefreshTokenIsRefusedWithAnotherKey) {
  auto tokens = device_sign_in();
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  auto thief = as_->refresh(tokens->refresh_token, "", DpopKey::generate());
  ASSERT_FALSE(thief);
  ASSERT_TRUE(thief.error().oauth());
  EXPECT_EQ(thief.error().oauth()->error, "invalid_grant");
  auto without_proof = as_->refresh(tokens->refresh_token);
  ASSERT_FALSE(without_proof);
}

}  // namespace
}  // namespace freshtoken::testing
