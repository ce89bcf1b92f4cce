// Token endpoint grants and their RFC 6749 / 7636 / 8628 error codes, through real HTTP.
#include <algorithm>

#include "mock_server_fixture.hpp"

namespace freshtoken::mock::testing {
namespace {

class GrantsTest : public MockServerTest {};

TEST_F(GrantsTest, AuthorizeShowsSignInFormWithoutRedirecting) {
  const std::string verifier = util::base64url_encode(util::random_bytes(32));
  auto res = get_authorize(verifier, "openid api");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(res->body.find("name=\"password\""), std::string::npos);
  EXPECT_NE(res->body.find("state-123"), std::string::npos);  // carried in a hidden field
}

TEST_F(GrantsTest, AuthorizationCodeWithPkceReturnsTokensStateAndIss) {
  const std::string verifier = util::base64url_encode(util::random_bytes(32));
  const auto query = sign_in(verifier);
  EXPECT_EQ(query.at("state"), "state-123");
  EXPECT_EQ(query.at("iss"), server_->issuer());
  auto res = redeem(query.at("code"), verifier);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(res->get_header_value("Pragma"), "no-cache");
  const json tokens = body_of(res);
  EXPECT_EQ(tokens["token_type"], "Bearer");
  EXPECT_EQ(tokens["expires_in"], 3600);
  EXPECT_EQ(tokens["scope"], "openid profile api");
  EXPECT_TRUE(tokens["access_token"].is_string());
  EXPECT_EQ(tokens["refresh_token"].get<std::string>().size(), 43u);  // 256 bits, base64url
  EXPECT_TRUE(tokens["id_token"].is_string());
  EXPECT_EQ(server_->stats().token_requests.authorization_code, 1);
}

TEST_F(GrantsTest, WrongPasswordShowsTheFormAgainAndDenyRedirectsAccessDenied) {
  const std::string verifier = util::base64url_encode(util::random_bytes(32));
  Fields form = authorize_fields(verifier, "freshtoken-demo", "api", "n");
  form.emplace_back("username", "alice");
  form.emplace_back("password", "wrong");
  auto res = post_form("/authorize", form);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("Wrong user name or password"), std::string::npos);

  Fields deny = authorize_fields(verifier, "freshtoken-demo", "api", "n");
  deny.emplace_back("action", "deny");
  res = post_form("/authorize", deny);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 302);
  const auto query = query_of(res->get_header_value("Location"));
  EXPECT_EQ(query.at("error"), "access_denied");
  EXPECT_EQ(query.at("state"), "state-123");
}

TEST_F(GrantsTest, BobCanSignInToo) {
  const std::string verifier = util::base64url_encode(util::random_bytes(32));
  const auto query = sign_in(verifier, "freshtoken-demo", "api", "bob", "builder");
  const json tokens = body_of(redeem(query.at("code"), verifier));
  auto me = get_with_token("/api/me", tokens["access_token"]);
  ASSERT_TRUE(me);
  EXPECT_EQ(body_of(me)["sub"], "bob");
}

TEST_F(GrantsTest, AuthorizeRefusesUnknownClientAndNonLoopbackRedirectWithoutRedirecting) {
  for (const std::string uri :
       {"http://evil.example/cb", "http://localhost:1234/cb", "https://127.0.0.1:1234/cb",
        "http://127.0.0.1.evil.example/cb", "http://127.0.0.1:99999/cb"}) {
    auto res = http_->Get(("/authorize?response_type=code&client_id=freshtoken-demo&"
                           "code_challenge_method=S256&code_challenge=" +
                           pkce_challenge("x") + "&redirect_uri=" + util::form_encode(uri))
                              .c_str());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << uri;
    EXPECT_FALSE(res->has_header("Location")) << uri;
  }
  auto res = http_->Get("/authorize?response_type=code&client_id=nobody&redirect_uri=" +
                        util::form_encode(redirect_uri()));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_FALSE(res->has_header("Location"));
}

TEST_F(GrantsTest, AuthorizeQueryIsDecodedStrictlyWithoutRedirecting) {
  // The same decoder as form bodies: a malformed escape or a repeated parameter is a 400
  // naming the problem, before anything could redirect.
  const std::string base =
      "/authorize?response_type=code&client_id=freshtoken-demo&scope=api&"
      "code_challenge_method=S256&code_challenge=" +
      pkce_challenge("x") + "&redirect_uri=" + util::form_encode(redirect_uri());
  struct Case {
    std::string extra;
    std::string says;
  };
  for (const Case& c :
       {Case{"&state=%zz", "malformed percent-escape"}, Case{"&state=a&state=b", "is repeated"},
        Case{"&state=a&%73tate=a", "is repeated"}}) {
    auto res = http_->Get((base + c.extra).c_str());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << c.extra;
    EXPECT_FALSE(res->has_header("Location")) << c.extra;
    EXPECT_NE(res->body.find(c.says), std::string::npos) << c.extra;
  }
  auto fine = http_->Get((base + "&state=a%20b+c").c_str());
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200);
}

TEST_F(GrantsTest, LoopbackRedirectMatchesAnyPortAndPath) {
  for (const std::string uri : {"http://127.0.0.1:1/a", "http://127.0.0.1:65535/deep/path?x=1",
                                "http://[::1]:8080/cb", "http://127.0.0.1/"}) {
    auto res = http_->Get(("/authorize?response_type=code&client_id=freshtoken-demo&scope=api&"
                           "code_challenge_method=S256&code_challenge=" +
                           pkce_challenge("x") + "&redirect_uri=" + util::form_encode(uri))
                              .c_str());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << uri;
  }
}

TEST_F(GrantsTest, AuthorizeRedirectsRfcErrorsForPlainPkceMissingChallengeAndBadScope) {
  auto error_for = [&](const std::string& extra) {
    auto res = http_->Get(("/authorize?client_id=freshtoken-demo&state=s&redirect_uri=" +
                           util::form_encode(redirect_uri()) + extra)
                              .c_str());
    EXPECT_TRUE(res);
    if (!res) return std::string();
    EXPECT_EQ(res->status, 302);
    return query_of(res->get_header_value("Location"))["error"];
  };
  const std::string challenge = "&code_challenge=" + pkce_challenge("verifier");
  EXPECT_EQ(error_for("&response_type=code&code_challenge_method=plain" + challenge),
            "invalid_request");
  EXPECT_EQ(error_for("&response_type=code&code_challenge=abc&code_challenge_method=plain"),
            "invalid_request");
  EXPECT_EQ(error_for("&response_type=code"), "invalid_request");
  EXPECT_EQ(error_for("&response_type=token&code_challenge_method=S256" + challenge),
            "unsupported_response_type");
  EXPECT_EQ(error_for("&response_type=code&code_challenge_method=S256&scope=api+root" + challenge),
            "invalid_scope");
}

TEST_F(GrantsTest, CodeRedemptionErrors) {
  const std::string verifier = util::base64url_encode(util::random_bytes(32));
  auto query = sign_in(verifier);
  const std::string code = query.at("code");
  // Wrong verifier, wrong redirect URI, wrong client: invalid_grant.
  EXPECT_EQ(error_of(redeem(code, util::base64url_encode(util::random_bytes(32)))),
            "invalid_grant");
  EXPECT_EQ(error_of(post_form("/token", {{"grant_type", "authorization_code"},
                                          {"code", code},
                                          {"redirect_uri", "http://127.0.0.1:1/other"},
                                          {"client_id", "freshtoken-demo"},
                                          {"code_verifier", verifier}})),
            "invalid_grant");
  EXPECT_EQ(error_of(redeem(code, verifier, "freshtoken-other")), "invalid_grant");
  EXPECT_EQ(error_of(post_form("/token", {{"grant_type", "authorization_code"},
                                          {"code", code},
                                          {"redirect_uri", redirect_uri()},
                                          {"client_id", "freshtoken-demo"}})),
            "invalid_request");  // no code_verifier
  EXPECT_EQ(error_of(redeem("no-such-code", verifier)), "invalid_grant");

  // A code works once; replaying it fails and revokes what it produced.
  auto first = redeem(code, verifier);
  ASSERT_EQ(first->status, 200) << first->body;
  const json tokens = body_of(first);
  EXPECT_EQ(error_of(redeem(code, verifier)), "invalid_grant");
  EXPECT_EQ(error_of(refresh(tokens["refresh_token"])), "invalid_grant");
}

TEST_F(GrantsTest, AuthorizationCodeExpiresOnTheMockClock) {
  const std::string verifier = util::base64url_encode(util::random_bytes(32));
  const auto query = sign_in(verifier);
  server_->advance_clock(std::chrono::seconds(61));
  EXPECT_EQ(error_of(redeem(query.at("code"), verifier)), "invalid_grant");
}

TEST_F(GrantsTest, ClientCredentialsWithBasicAndPost) {
  auto basic =
      post_form("/token", {{"grant_type", "client_credentials"}},
                std::make_pair(std::string("freshtoken-service"), std::string("service-secret")));
  ASSERT_TRUE(basic);
  ASSERT_EQ(basic->status, 200) << basic->body;
  const json tokens = body_of(basic);
  EXPECT_FALSE(tokens.contains("refresh_token"));
  EXPECT_FALSE(tokens.contains("id_token"));
  EXPECT_EQ(tokens["scope"], "api");
  auto me = get_with_token("/api/me", tokens["access_token"]);
  ASSERT_TRUE(me);
  EXPECT_EQ(body_of(me)["sub"], "freshtoken-service");

  auto post = post_form("/token", {{"grant_type", "client_credentials"},
                                   {"client_id", "freshtoken-service"},
                                   {"client_secret", "service-secret"},
                                   {"scope", "api admin"}});
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(body_of(post)["scope"], "api admin");
  EXPECT_EQ(server_->stats().token_requests.client_credentials, 2);
}

TEST_F(GrantsTest, InvalidClientIs401WithBasicChallengeOnlyWhenBasicWasUsed) {
  auto basic = post_form("/token", {{"grant_type", "client_credentials"}},
                         std::make_pair(std::string("freshtoken-service"), std::string("nope")));
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->status, 401);
  EXPECT_EQ(error_of(basic), "invalid_client");
  EXPECT_EQ(basic->get_header_value("WWW-Authenticate").rfind("Basic ", 0), 0u);
  EXPECT_EQ(basic->body.find("nope"), std::string::npos);

  auto post = post_form("/token", {{"grant_type", "client_credentials"},
                                   {"client_id", "freshtoken-service"},
                                   {"client_secret", "nope"}});
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 401);
  EXPECT_EQ(error_of(post), "invalid_client");
  EXPECT_FALSE(post->has_header("WWW-Authenticate"));

  EXPECT_EQ(error_of(post_form("/token", {{"grant_type", "refresh_token"},
                                          {"client_id", "stranger"},
                                          {"refresh_token", "x"}})),
            "invalid_client");
  EXPECT_EQ(error_of(post_form("/token", {{"grant_type", "client_credentials"}})),
            "invalid_client");  // no client at all
  // Basic and client_secret at once: more than one method.
  EXPECT_EQ(
      error_of(post_form(
          "/token", {{"grant_type", "client_credentials"}, {"client_secret", "service-secret"}},
          std::make_pair(std::string("freshtoken-service"), std::string("service-secret")))),
      "invalid_request");
}

TEST_F(GrantsTest, GrantErrors) {
  EXPECT_EQ(error_of(post_form("/token", {{"grant_type", "password"},
                                          {"client_id", "freshtoken-demo"},
                                          {"username", "alice"},
                                          {"password", "wonderland"}})),
            "unsupported_grant_type");
  EXPECT_EQ(error_of(post_form("/token", {{"client_id", "freshtoken-demo"}})), "invalid_request");
  EXPECT_EQ(error_of(post_form("/token", {{"grant_type", "client_credentials"},
                                          {"client_id", "freshtoken-demo"}})),
            "unauthorized_client");
  EXPECT_EQ(error_of(post_form(
                "/token", {{"grant_type", "authorization_code"}, {"code", "c"}},
                std::make_pair(std::string("freshtoken-service"), std::string("service-secret")))),
            "unauthorized_client");
  EXPECT_EQ(error_of(post_form("/token", {{"grant_type", "client_credentials"},
                                          {"client_id", "freshtoken-service"},
                                          {"client_secret", "service-secret"},
                                          {"scope", "openid"}})),
            "invalid_scope");
  auto res = post_form("/token", {{"grant_type", "password"}, {"client_id", "freshtoken-demo"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(server_->stats().token_requests.other, 3);  // unknown and missing grants
}

// ---------------------------------------------------------------- device flow

class DeviceTest : public MockServerTest {
 protected:
  json start_device(const std::string& scope = "openid api") {
    auto res =
        post_form("/device_authorization", {{"client_id", "freshtoken-demo"}, {"scope", scope}});
    EXPECT_TRUE(res);
    return body_of(res);
  }
  httplib::Result poll(const std::string& device_code,
                       const std::string& client_id = "freshtoken-demo") {
    return post_form("/token", {{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                                {"device_code", device_code},
                                {"client_id", client_id}});
  }
};

TEST_F(DeviceTest, DeviceAuthorizationAnswerHasEveryField) {
  const json start = start_device();
  EXPECT_TRUE(start["device_code"].is_string());
  const std::string user_code = start["user_code"];
  EXPECT_EQ(user_code.size(), 9u);
  EXPECT_EQ(user_code[4], '-');
  EXPECT_EQ(start["verification_uri"], server_->issuer() + "/device");
  EXPECT_EQ(start["verification_uri_complete"],
            server_->issuer() + "/device?user_code=" + user_code);
  EXPECT_EQ(start["expires_in"], 600);
  EXPECT_EQ(start["interval"], 5);
  auto page = http_->Get(("/device?user_code=" + user_code).c_str());
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find(user_code), std::string::npos);
}

class DeviceNoMinimumIntervalTest : public DeviceTest {
 protected:
  DeviceNoMinimumIntervalTest() { options_.device_interval = std::chrono::seconds(0); }
};

TEST_F(DeviceNoMinimumIntervalTest, IntervalZeroIsHandedOutAndFastPollsGetNoSlowDown) {
  const json start = start_device();
  EXPECT_EQ(start["interval"], 0);
  const std::string device_code = start["device_code"];
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(error_of(poll(device_code)), "authorization_pending") << "poll " << i;
  }
}

TEST_F(DeviceTest, PendingSlowDownThenTokensAfterApproval) {
  const json start = start_device();
  const std::string device_code = start["device_code"];
  EXPECT_EQ(error_of(poll(device_code)), "authorization_pending");
  EXPECT_EQ(error_of(poll(device_code)), "slow_down");  // faster than the interval
  server_->advance_clock(std::chrono::seconds(11));     // the interval grew by 5 s
  EXPECT_EQ(error_of(poll(device_code)), "authorization_pending");

  auto approve = post_json("/mock/device/approve",
                           json{{"user_code", start["user_code"]}, {"user", "bob"}}.dump());
  ASSERT_TRUE(approve);
  EXPECT_EQ(approve->status, 200);
  server_->advance_clock(std::chrono::seconds(11));
  auto res = poll(device_code);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json tokens = body_of(res);
  EXPECT_TRUE(tokens["refresh_token"].is_string());
  EXPECT_TRUE(tokens["id_token"].is_string());
  EXPECT_EQ(body_of(get_with_token("/api/me", tokens["access_token"]))["sub"], "bob");
  server_->advance_clock(std::chrono::seconds(11));
  EXPECT_EQ(error_of(poll(device_code)), "invalid_grant");  // a device code is used once
}

TEST_F(DeviceTest, DeniedAndExpiredAndOtherClient) {
  const json denied = start_device();
  server_->deny_device(denied["user_code"]);
  EXPECT_EQ(error_of(poll(denied["device_code"])), "access_denied");

  const json other = start_device();
  EXPECT_EQ(error_of(poll(other["device_code"], "freshtoken-other")), "invalid_grant");

  const json expired = start_device();
  server_->advance_clock(std::chrono::seconds(601));
  EXPECT_EQ(error_of(poll(expired["device_code"])), "expired_token");
  EXPECT_EQ(error_of(poll("unknown-device-code")), "invalid_grant");
  EXPECT_THROW(server_->approve_device("ZZZZ-ZZZZ"), std::invalid_argument);
}

TEST_F(DeviceTest, VerificationPageApprovesWithPasswordOnly) {
  const json start = start_device("api");
  const std::string user_code = start["user_code"];
  auto wrong = post_form(
      "/device",
      {{"user_code", user_code}, {"username", "alice"}, {"password", "x"}, {"action", "approve"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(error_of(poll(start["device_code"])), "authorization_pending");
  // Lower case without the dash is the same code.
  std::string typed;
  for (char c : user_code) {
    if (c != '-') typed += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  auto ok = post_form("/device", {{"user_code", typed},
                                  {"username", "alice"},
                                  {"password", "wonderland"},
                                  {"action", "approve"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  server_->advance_clock(std::chrono::seconds(6));
  auto res = poll(start["device_code"]);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

class AutoApproveTest : public MockServerTest {
 protected:
  AutoApproveTest() { options_.auto_approve = true; }
};

TEST_F(AutoApproveTest, AuthorizeRedirectsAtOnceAsAlice) {
  const std::string verifier = util::base64url_encode(util::random_bytes(32));
  auto res = get_authorize(verifier, "api");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 302);
  const auto query = query_of(res->get_header_value("Location"));
  const json tokens = body_of(redeem(query.at("code"), verifier));
  EXPECT_EQ(body_of(get_with_token("/api/me", tokens["access_token"]))["sub"], "alice");
}

// OpenID Connect Core §11: offline_access asks for a refresh token. Known to the mock always;
// by default every sign-in gets a refresh token whether or not it was asked for.
TEST_F(GrantsTest, OfflineAccessIsAKnownScopeAndDoesNotChangeTheDefaultAnswer) {
  const json discovery = body_of(http_->Get("/.well-known/openid-configuration"));
  const auto& scopes = discovery["scopes_supported"];
  EXPECT_NE(std::find(scopes.begin(), scopes.end(), "offline_access"), scopes.end());
  const json with = code_flow("freshtoken-demo", "openid offline_access api");
  ASSERT_TRUE(with.contains("access_token")) << with.dump();
  EXPECT_EQ(with["scope"], "openid offline_access api");
  EXPECT_TRUE(with["refresh_token"].is_string());
  EXPECT_TRUE(code_flow("freshtoken-demo", "openid api")["refresh_token"].is_string());
}

class OfflineAccessTest : public MockServerTest {
 protected:
  OfflineAccessTest() { options_.require_offline_access = true; }
};

TEST_F(OfflineAccessTest, CodeFlowGetsARefreshTokenOnlyWithOfflineAccess) {
  const json without = code_flow("freshtoken-demo", "openid api");
  ASSERT_TRUE(without.contains("access_token")) << without.dump();
  EXPECT_FALSE(without.contains("refresh_token"));
  EXPECT_TRUE(without["id_token"].is_string());
  EXPECT_EQ(server_->stats().active_families, 0);

  const json with = code_flow("freshtoken-demo", "openid api offline_access");
  ASSERT_TRUE(with["refresh_token"].is_string()) << with.dump();
  auto refreshed = refresh(with["refresh_token"]);
  ASSERT_TRUE(refreshed);
  EXPECT_EQ(refreshed->status, 200);
  EXPECT_TRUE(body_of(refreshed)["refresh_token"].is_string());
}

TEST_F(OfflineAccessTest, ReplayedCodeStillRevokesTheAccessTokenItGave) {
  const std::string verifier = util::base64url_encode(util::random_bytes(32));
  const auto query = sign_in(verifier, "freshtoken-demo", "api");
  const json tokens = body_of(redeem(query.at("code"), verifier));
  ASSERT_TRUE(tokens["access_token"].is_string()) << tokens.dump();
  EXPECT_EQ(get_with_token("/api/me", tokens["access_token"])->status, 200);
  EXPECT_EQ(error_of(redeem(query.at("code"), verifier)), "invalid_grant");
  EXPECT_EQ(get_with_token("/api/me", tokens["access_token"])->status, 401);
}

TEST_F(OfflineAccessTest, DeviceFlowAndIssueTokensFollowTheSameRule) {
  const auto issued = server_->issue_tokens("alice", "freshtoken-demo", "openid api");
  EXPECT_TRUE(issued.refresh_token.empty());
  EXPECT_FALSE(server_->issue_tokens("alice", "freshtoken-demo", "api offline_access")
                   .refresh_token.empty());

  for (const std::string scope : {"openid api", "openid api offline_access"}) {
    const json start = body_of(
        post_form("/device_authorization", {{"client_id", "freshtoken-demo"}, {"scope", scope}}));
    ASSERT_TRUE(start["user_code"].is_string()) << start.dump();
    server_->approve_device(start["user_code"]);
    const json tokens =
        body_of(post_form("/token", {{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                                     {"device_code", start["device_code"]},
                                     {"client_id", "freshtoken-demo"}}));
    ASSERT_TRUE(tokens["access_token"].is_string()) << tokens.dump();
    EXPECT_EQ(tokens.contains("refresh_token"), scope.find("offline_access") != std::string::npos)
        << scope;
  }
}

}  // namespace
}  // namespace freshtoken::mock::testing
