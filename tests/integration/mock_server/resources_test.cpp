// The two protected APIs and RFC 8707 resource indicators: /mock/resources, audience checks per
// API, `resource` at /authorize, /device_authorization and every grant of /token,
// invalid_target, scope narrowing per resource, and the per-resource counters.
#include <string>
#include <vector>

#include "mock_server_fixture.hpp"

namespace freshtoken::mock::testing {
namespace {

class ResourcesTest : public MockServerTest {
 protected:
  std::string api_resource() const { return server_->issuer() + "/api"; }
  std::string files_resource() const { return server_->files_url(); }

  // GET <base_url>/me with `token`, over a connection to the API's own origin.
  httplib::Result get_me(const std::string& base_url, const std::string& token) const {
    const std::string origin = base_url.substr(0, base_url.find('/', base_url.find("//") + 2));
    httplib::Client api(origin);
    api.set_read_timeout(10, 0);
    return api.Get((base_url.substr(origin.size()) + "/me").c_str(),
                   {{"Authorization", "Bearer " + token}});
  }

  // A client credentials token of freshtoken-service, for `resource` when not empty.
  httplib::Result service_token(const std::string& resource) {
    Fields fields = {{"grant_type", "client_credentials"}};
    if (!resource.empty()) fields.emplace_back("resource", resource);
    return post_form("/token", fields, std::make_pair("freshtoken-service", "service-secret"));
  }

  // The `aud` introspection reports for `token`.
  std::string introspected_aud(const std::string& token) {
    const json answer = body_of(post_form("/introspect", {{"token", token}},
                                          std::make_pair("freshtoken-service", "service-secret")));
    return answer.value("aud", std::string("<none>"));
  }

  // A browser sign-in of freshtoken-demo naming `resources`; the code and its verifier.
  std::pair<std::string, std::string> code_for(const std::vector<std::string>& resources,
                                               const std::string& scope = "openid api") {
    const std::string verifier = util::base64url_encode(util::random_bytes(32));
    Fields form = authorize_fields(verifier, "freshtoken-demo", scope, "n");
    for (const auto& r : resources) form.emplace_back("resource", r);
    form.emplace_back("username", "alice");
    form.emplace_back("password", "wonderland");
    form.emplace_back("action", "approve");
    auto res = post_form("/authorize", form);
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 302) << res->body;
    const Query query = query_of(res->get_header_value("Location"));
    const auto code = query.find("code");
    EXPECT_NE(code, query.end()) << res->get_header_value("Location");
    return {code == query.end() ? std::string() : code->second, verifier};
  }

  httplib::Result redeem_for(const std::pair<std::string, std::string>& code,
                             const std::string& resource) {
    return post_form("/token", {{"grant_type", "authorization_code"},
                                {"code", code.first},
                                {"redirect_uri", redirect_uri()},
                                {"client_id", "freshtoken-demo"},
                                {"code_verifier", code.second},
                                {"resource", resource}});
  }

  httplib::Result refresh_for(const std::string& refresh_token, const std::string& resource,
                              const std::optional<std::string>& scope = std::nullopt) {
    Fields fields = {{"grant_type", "refresh_token"},
                     {"refresh_token", refresh_token},
                     {"client_id", "freshtoken-demo"},
                     {"resource", resource}};
    if (scope) fields.emplace_back("scope", *scope);
    return post_form("/token", fields);
  }
};

TEST_F(ResourcesTest, MockResourcesListsBothApisOnDistinctOrigins) {
  auto res = http_->Get("/mock/resources");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json list = body_of(res);
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["resource"], server_->issuer() + "/api");
  EXPECT_EQ(list[0]["base_url"], list[0]["resource"]);
  const std::string files = list[1]["resource"];
  EXPECT_EQ(list[1]["base_url"], files);
  EXPECT_EQ(files.rfind("http://127.0.0.1:", 0), 0u) << files;
  EXPECT_EQ(files.substr(files.size() - 6), "/files");
  EXPECT_EQ(files.rfind(server_->issuer() + "/", 0), std::string::npos);  // another origin
  EXPECT_EQ(files, server_->files_url());
  const auto apis = server_->resources();
  ASSERT_EQ(apis.size(), 2u);
  EXPECT_EQ(apis[0].resource, list[0]["resource"]);
  EXPECT_EQ(apis[1].base_url, files);
}

TEST_F(ResourcesTest, EachApiAnswersMeWithItsResourceForItsOwnToken) {
  for (const std::string& resource : {api_resource(), files_resource()}) {
    const json tokens = body_of(service_token(resource));
    ASSERT_TRUE(tokens.contains("access_token")) << tokens.dump();
    auto me = get_me(resource, tokens["access_token"]);
    ASSERT_TRUE(me) << resource;
    ASSERT_EQ(me->status, 200) << resource << " " << me->body;
    EXPECT_EQ(body_of(me)["sub"], "freshtoken-service");
    EXPECT_EQ(body_of(me)["resource"], resource);
    EXPECT_EQ(introspected_aud(tokens["access_token"]), resource);
  }
}

TEST_F(ResourcesTest, TokenForOneApiIsRefusedByTheOther) {
  const std::string api = api_resource(), files = files_resource();
  for (const auto& [minted_for, presented_to] :
       std::vector<std::pair<std::string, std::string>>{{api, files}, {files, api}}) {
    const json tokens = body_of(service_token(minted_for));
    ASSERT_TRUE(tokens.contains("access_token")) << tokens.dump();
    auto me = get_me(presented_to, tokens["access_token"]);
    ASSERT_TRUE(me);
    EXPECT_EQ(me->status, 401) << minted_for << " at " << presented_to;
    EXPECT_EQ(error_of(me), "invalid_token");
    EXPECT_EQ(me->get_header_value("WWW-Authenticate"), "Bearer error=\"invalid_token\"");
  }
}

TEST_F(ResourcesTest, TokenWithoutResourceWorksAtApiOnly) {
  const json tokens = body_of(service_token(""));
  ASSERT_TRUE(tokens.contains("access_token")) << tokens.dump();
  auto at_api = get_me(api_resource(), tokens["access_token"]);
  ASSERT_TRUE(at_api);
  EXPECT_EQ(at_api->status, 200) << at_api->body;
  auto at_files = get_me(files_resource(), tokens["access_token"]);
  ASSERT_TRUE(at_files);
  EXPECT_EQ(at_files->status, 401);
  EXPECT_EQ(error_of(at_files), "invalid_token");
}

TEST_F(ResourcesTest, FilesApiEchoesAndDemandsAdminScopeLikeApi) {
  const json tokens = body_of(service_token(files_resource()));
  httplib::Client files(files_resource().substr(0, files_resource().rfind('/')));
  auto echo =
      files.Post("/files/echo?x=1",
                 {{"Authorization", "Bearer " + tokens.value("access_token", std::string())}},
                 "hello", "text/plain");
  ASSERT_TRUE(echo);
  ASSERT_EQ(echo->status, 200) << echo->body;
  EXPECT_EQ(body_of(echo)["path"], "/files/echo");
  EXPECT_EQ(body_of(echo)["body"], "hello");
  auto admin = files.Get(
      "/files/admin", {{"Authorization", "Bearer " + tokens.value("access_token", std::string())}});
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->status, 403);
  EXPECT_EQ(admin->get_header_value("WWW-Authenticate"),
            "Bearer error=\"insufficient_scope\", scope=\"admin\"");
  // The issuer's port does not serve the second API, nor the second port the first.
  EXPECT_EQ(http_->Get("/files/me")->status, 404);
  EXPECT_EQ(files.Get("/api/me")->status, 404);
}

TEST_F(ResourcesTest, AuthorizationCodeGrantHonoursResourceNamedAtAuthorize) {
  const auto code = code_for({api_resource(), files_resource()});
  auto res = redeem_for(code, files_resource());
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json tokens = body_of(res);
  EXPECT_EQ(introspected_aud(tokens["access_token"]), files_resource());
  EXPECT_EQ(get_me(files_resource(), tokens["access_token"])->status, 200);
  // Its refresh token serves the other named resource too.
  const json api_tokens = body_of(refresh_for(tokens["refresh_token"], api_resource()));
  ASSERT_TRUE(api_tokens.contains("access_token")) << api_tokens.dump();
  EXPECT_EQ(introspected_aud(api_tokens["access_token"]), api_resource());
}

TEST_F(ResourcesTest, SignInPageCarriesEveryResourceToTheCode) {
  const std::string verifier = util::base64url_encode(util::random_bytes(32));
  httplib::Params params;
  for (const auto& [k, v] : authorize_fields(verifier, "freshtoken-demo", "api", "n"))
    params.emplace(k, v);
  params.emplace("resource", api_resource());
  params.emplace("resource", files_resource());
  auto page = http_->Get("/authorize", params, httplib::Headers{});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200) << page->body;
  EXPECT_NE(page->body.find("name=\"resource\" value=\"" + api_resource() + "\""),
            std::string::npos);
  EXPECT_NE(page->body.find("name=\"resource\" value=\"" + files_resource() + "\""),
            std::string::npos);
}

TEST_F(ResourcesTest, CodeCannotBeRedeemedForAResourceItsAuthorizationDidNotName) {
  const auto code = code_for({api_resource()});
  auto refused = redeem_for(code, files_resource());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(error_of(refused), "invalid_target");
  // Nothing was spent: the code still redeems for the resource it names.
  auto res = redeem_for(code, api_resource());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST_F(ResourcesTest, DeviceCodeGrantHonoursResourceNamedAtDeviceAuthorization) {
  auto start = post_form(
      "/device_authorization",
      {{"client_id", "freshtoken-demo"}, {"scope", "openid api"}, {"resource", files_resource()}});
  ASSERT_TRUE(start);
  ASSERT_EQ(start->status, 200) << start->body;
  const json codes = body_of(start);
  server_->approve_device(codes["user_code"]);
  auto poll = [&](const std::string& resource) {
    return post_form("/token", {{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                                {"device_code", codes["device_code"]},
                                {"client_id", "freshtoken-demo"},
                                {"resource", resource}});
  };
  auto refused = poll(api_resource());
  ASSERT_TRUE(refused);
  EXPECT_EQ(error_of(refused), "invalid_target");
  server_->advance_clock(std::chrono::seconds(10));  // past the polling interval
  auto res = poll(files_resource());
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json tokens = body_of(res);
  EXPECT_EQ(introspected_aud(tokens["access_token"]), files_resource());
  EXPECT_EQ(error_of(refresh_for(tokens["refresh_token"], api_resource())), "invalid_target");
}

TEST_F(ResourcesTest, UnknownResourceIsInvalidTargetAtEveryEndpoint) {
  const std::string unknown = server_->issuer() + "/elsewhere";
  auto token = service_token(unknown);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->status, 400);
  EXPECT_EQ(error_of(token), "invalid_target");
  EXPECT_EQ(token->body.find(unknown), std::string::npos);  // the client's text is not echoed

  auto device = post_form(
      "/device_authorization",
      {{"client_id", "freshtoken-demo"}, {"resource", files_resource()}, {"resource", unknown}});
  ASSERT_TRUE(device);
  EXPECT_EQ(device->status, 400);
  EXPECT_EQ(error_of(device), "invalid_target");

  const std::string verifier = util::base64url_encode(util::random_bytes(32));
  Fields form = authorize_fields(verifier, "freshtoken-demo", "api", "n");
  form.emplace_back("resource", unknown);
  auto authorize = post_form("/authorize", form);
  ASSERT_TRUE(authorize);
  ASSERT_EQ(authorize->status, 302);
  const Query query = query_of(authorize->get_header_value("Location"));
  EXPECT_EQ(query.at("error"), "invalid_target");
  EXPECT_EQ(query.at("state"), "state-123");
}

TEST_F(ResourcesTest, RefreshCannotWidenResourcesAndChangesNothingWhenRefused) {
  const json tokens = body_of(redeem_for(code_for({api_resource()}), api_resource()));
  ASSERT_TRUE(tokens.contains("refresh_token")) << tokens.dump();
  auto refused = refresh_for(tokens["refresh_token"], files_resource());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(error_of(refused), "invalid_target");
  // Not rotated, not revoked: the same refresh token still works.
  auto res = refresh_for(tokens["refresh_token"], api_resource());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(server_->stats().refresh_reuse_detected, 0);
}

TEST_F(ResourcesTest, RefreshNarrowsScopePerResourceAndTheFamilyKeepsTheFullGrant) {
  const json tokens = body_of(redeem_for(
      code_for({api_resource(), files_resource()}, "openid profile api"), api_resource()));
  ASSERT_TRUE(tokens.contains("refresh_token")) << tokens.dump();
  const json narrow = body_of(refresh_for(tokens["refresh_token"], files_resource(), "api"));
  ASSERT_TRUE(narrow.contains("access_token")) << narrow.dump();
  EXPECT_EQ(narrow["scope"], "api");
  EXPECT_EQ(get_me(files_resource(), narrow["access_token"])->status, 200);
  auto wider = refresh_for(narrow["refresh_token"], files_resource(), "api admin");
  EXPECT_EQ(error_of(wider), "invalid_scope");
  const json full = body_of(refresh_for(narrow["refresh_token"], api_resource()));
  EXPECT_EQ(full["scope"], "openid profile api");
}

TEST_F(ResourcesTest, StatsCountPerResourceUntilReset) {
  const std::string api = api_resource(), files = files_resource();
  const json for_files = body_of(service_token(files));
  const json for_api = body_of(service_token(""));  // no resource: /api's
  ASSERT_EQ(get_me(files, for_files["access_token"])->status, 200);
  ASSERT_EQ(get_me(files, for_api["access_token"])->status, 401);
  ASSERT_EQ(get_me(api, for_api["access_token"])->status, 200);
  const json code_tokens = body_of(redeem_for(code_for({files}), files));
  ASSERT_EQ(refresh_for(code_tokens["refresh_token"], files)->status, 200);

  const json stats = body_of(http_->Get("/mock/stats"));
  ASSERT_TRUE(stats["resources"].is_object()) << stats.dump();
  const json f = stats["resources"][files];
  EXPECT_EQ(f["token_requests"], 3);  // client credentials, code, refresh
  EXPECT_EQ(f["refresh_requests"], 1);
  EXPECT_EQ(f["api_requests"], 2);
  EXPECT_EQ(f["api_401"], 1);
  EXPECT_EQ(f["api_403"], 0);
  const json a = stats["resources"][api];
  EXPECT_EQ(a["token_requests"], 1);
  EXPECT_EQ(a["refresh_requests"], 0);
  EXPECT_EQ(a["api_requests"], 1);
  EXPECT_EQ(a["api_401"], 0);
  EXPECT_EQ(stats["endpoint_requests"]["files"], 2);
  EXPECT_EQ(stats["api_requests"], 1);  // the top-level counters stay /api's
  EXPECT_EQ(server_->stats().resources.at(files).api_401, 1);

  ASSERT_EQ(post_json("/mock/reset", "{}")->status, 200);
  const json after = body_of(http_->Get("/mock/stats"));
  for (const std::string& resource : {api, files}) {
    for (const char* counter :
         {"token_requests", "refresh_requests", "api_requests", "api_401", "api_403"}) {
      EXPECT_EQ(after["resources"][resource][counter], 0) << resource << " " << counter;
    }
  }
}

TEST(MockServerResourcesTls, SecondApiIsServedOverHttpsWithTheSameCertificate) {
  TempCertificate certificate;
  MockServerOptions options;
  options.tls_cert_file = certificate.cert_path;
  options.tls_key_file = certificate.key_path;
  MockServer server(options);
  server.start();
  const std::string files = server.files_url();
  EXPECT_EQ(files.rfind("https://127.0.0.1:", 0), 0u) << files;
  const std::string token = server.issue_tokens().access_token;  // /api's: refused, but over TLS
  {
    const std::string origin = files.substr(0, files.rfind('/'));
    const int port = std::stoi(origin.substr(origin.rfind(':') + 1));
    EXPECT_NE(port, server.port());
    httplib::SSLClient https("127.0.0.1", port);
    https.enable_server_certificate_verification(false);
    auto res = https.Get("/files/me", {{"Authorization", "Bearer " + token}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    EXPECT_EQ(error_of(res), "invalid_token");
    httplib::Client plain("127.0.0.1", port);
    plain.set_read_timeout(2, 0);
    auto clear = plain.Get("/files/me");
    EXPECT_TRUE(!clear || clear->status == 400) << "plain HTTP answered on the HTTPS port";
  }
  server.stop();
}

}  // namespace
}  // namespace freshtoken::mock::testing
