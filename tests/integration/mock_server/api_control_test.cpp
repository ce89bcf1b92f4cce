// Discovery, JWKS and JWT structure, the protected API's challenges, revocation,
// introspection, userinfo, the /mock/ control API, faults, bad input, concurrency and TLS.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <thread>
#include <vector>

#include "mock_server_fixture.hpp"

namespace freshtoken::mock::testing {
namespace {

using std::chrono::seconds;

class ApiTest : public MockServerTest {};

std::vector<std::string> split_jwt(const std::string& jwt) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const auto dot = jwt.find('.', start);
    parts.push_back(jwt.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

json decode_part(const std::string& part) {
  const auto text = util::base64url_decode(part);
  return text ? json::parse(*text, nullptr, false) : json();
}

// Verifies an RS256 JWS against a JWK, independently of the server's code.
bool verify_rs256(const std::string& jwt, const json& jwk) {
  const auto parts = split_jwt(jwt);
  if (parts.size() != 3) return false;
  const auto n = util::base64url_decode(jwk["n"].get<std::string>());
  const auto e = util::base64url_decode(jwk["e"].get<std::string>());
  const auto signature = util::base64url_decode(parts[2]);
  if (!n || !e || !signature) return false;
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                           static_cast<int>(n->size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                           static_cast<int>(e->size()), nullptr);
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, bn_n);
  OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, bn_e);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* key = nullptr;
  bool ok = EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
  const std::string input = parts[0] + "." + parts[1];
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ok = ok && EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key) == 1 &&
       EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(signature->data()),
                        signature->size(), reinterpret_cast<const unsigned char*>(input.data()),
                        input.size()) == 1;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(key);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(builder);
  BN_free(bn_n);
  BN_free(bn_e);
  return ok;
}

TEST_F(ApiTest, DiscoveryAtBothWellKnownPaths) {
  for (const char* path :
       {"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"}) {
    auto res = http_->Get(path);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << path;
    const json doc = body_of(res);
    const std::string iss = server_->issuer();
    EXPECT_EQ(doc["issuer"], iss);
    EXPECT_EQ(doc["token_endpoint"], iss + "/token");
    EXPECT_EQ(doc["authorization_endpoint"], iss + "/authorize");
    EXPECT_EQ(doc["device_authorization_endpoint"], iss + "/device_authorization");
    EXPECT_EQ(doc["revocation_endpoint"], iss + "/revoke");
    EXPECT_EQ(doc["introspection_endpoint"], iss + "/introspect");
    EXPECT_EQ(doc["userinfo_endpoint"], iss + "/userinfo");
    EXPECT_EQ(doc["jwks_uri"], iss + "/jwks");
    EXPECT_EQ(doc["code_challenge_methods_supported"], json::array({"S256"}));
  }
}

TEST_F(ApiTest, AccessAndIdTokensAreRs256JwtsVerifiableWithJwks) {
  const json jwks = body_of(http_->Get("/jwks"));
  ASSERT_EQ(jwks["keys"].size(), 1u);
  const json jwk = jwks["keys"][0];
  EXPECT_EQ(jwk["kty"], "RSA");
  EXPECT_EQ(jwk["alg"], "RS256");
  EXPECT_EQ(jwks, json::parse(server_->jwks()));

  const json tokens = code_flow();
  const std::string access = tokens["access_token"];
  ASSERT_EQ(split_jwt(access).size(), 3u);
  const json header = decode_part(split_jwt(access)[0]);
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_EQ(header["typ"], "at+jwt");
  EXPECT_EQ(header["kid"], jwk["kid"]);
  const json claims = decode_part(split_jwt(access)[1]);
  EXPECT_EQ(claims["iss"], server_->issuer());
  EXPECT_EQ(claims["sub"], "alice");
  EXPECT_EQ(claims["client_id"], "freshtoken-demo");
  EXPECT_EQ(claims["scope"], "openid profile api");
  EXPECT_TRUE(claims["aud"].is_string());
  EXPECT_TRUE(claims["jti"].is_string());
  EXPECT_EQ(claims["exp"].get<long>() - claims["iat"].get<long>(), 3600);
  EXPECT_TRUE(verify_rs256(access, jwk));

  const std::string id_token = tokens["id_token"];
  const json id_claims = decode_part(split_jwt(id_token)[1]);
  EXPECT_EQ(decode_part(split_jwt(id_token)[0])["kid"], jwk["kid"]);
  EXPECT_EQ(id_claims["iss"], server_->issuer());
  EXPECT_EQ(id_claims["sub"], "alice");
  EXPECT_EQ(id_claims["aud"], "freshtoken-demo");
  EXPECT_EQ(id_claims["nonce"], "n-0S6");
  EXPECT_TRUE(id_claims["exp"].is_number_integer());
  EXPECT_TRUE(id_claims["iat"].is_number_integer());
  EXPECT_TRUE(verify_rs256(id_token, jwk));

  std::string tampered = access;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_rs256(tampered, jwk));
}

TEST_F(ApiTest, ChallengesFor401And403) {
  auto none = http_->Get("/api/me");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate").find("error="), std::string::npos);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate").rfind("Bearer", 0), 0u);

  auto garbage = get_with_token("/api/me", "not.a.jwt");
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status, 401);
  EXPECT_EQ(garbage->get_header_value("WWW-Authenticate"), "Bearer error=\"invalid_token\"");

  const auto tokens = server_->issue_tokens("alice", "freshtoken-demo", "openid api");
  // An id token is not an access token.
  auto id = get_with_token("/api/me", tokens.id_token);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->status, 401);

  auto admin = get_with_token("/api/admin", tokens.access_token);
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->status, 403);
  EXPECT_EQ(admin->get_header_value("WWW-Authenticate"),
            "Bearer error=\"insufficient_scope\", scope=\"admin\"");
  auto admin_post = http_->Post("/api/admin", {{"Authorization", "Bearer " + tokens.access_token}},
                                "{}", "application/json");
  ASSERT_TRUE(admin_post);
  EXPECT_EQ(admin_post->status, 403);

  const auto admin_tokens = server_->issue_tokens("alice", "freshtoken-demo", "api admin");
  auto allowed = get_with_token("/api/admin", admin_tokens.access_token);
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);

  const auto no_api = server_->issue_tokens("alice", "freshtoken-demo", "openid");
  auto forbidden = get_with_token("/api/me", no_api.access_token);
  ASSERT_TRUE(forbidden);
  EXPECT_EQ(forbidden->status, 403);

  const MockServerStats stats = server_->stats();
  EXPECT_EQ(stats.api_requests, 7);
  EXPECT_EQ(stats.api_401, 3);
}

TEST_F(ApiTest, EchoReturnsWhatItReceivedWithoutTheToken) {
  const auto tokens = server_->issue_tokens();
  const std::string token = tokens.access_token;
  auto res =
      http_->Put("/api/echo?x=1", {{"Authorization", "Bearer " + token}, {"X-Custom", "hello"}},
                 "payload", "text/plain");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const json echo = body_of(res);
  EXPECT_EQ(echo["method"], "PUT");
  EXPECT_EQ(echo["path"], "/api/echo");
  EXPECT_EQ(echo["query"]["x"], "1");
  EXPECT_EQ(echo["body"], "payload");
  EXPECT_EQ(echo["headers"]["x-custom"], "hello");
  EXPECT_EQ(echo["token_sha256"], util::hex(util::sha256(token)));
  EXPECT_EQ(res->body.find(token), std::string::npos);
}

TEST_F(ApiTest, ControlRevocationsKillAccessTokens) {
  const auto a = server_->issue_tokens("alice");
  const auto b = server_->issue_tokens("bob");
  auto res = post_json("/mock/revoke", R"({"what": "user", "user": "alice"})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(get_with_token("/api/me", a.access_token)->status, 401);
  EXPECT_EQ(error_of(refresh(a.refresh_token)), "invalid_grant");
  EXPECT_EQ(get_with_token("/api/me", b.access_token)->status, 200);

  server_->revoke_access_tokens();
  EXPECT_EQ(get_with_token("/api/me", b.access_token)->status, 401);
  auto fresh = refresh(b.refresh_token);  // the family is untouched
  ASSERT_TRUE(fresh);
  ASSERT_EQ(fresh->status, 200);
  const json c = body_of(fresh);
  EXPECT_EQ(get_with_token("/api/me", c["access_token"])->status, 200);

  res = post_json("/mock/revoke",
                  json{{"what", "family"}, {"refresh_token", c["refresh_token"]}}.dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(error_of(refresh(c["refresh_token"])), "invalid_grant");
  EXPECT_EQ(get_with_token("/api/me", c["access_token"])->status, 401);
  EXPECT_EQ(server_->stats().families_revoked, 2);
}

TEST_F(ApiTest, Rfc7009RevocationOfRefreshAndAccessTokens) {
  const auto tokens = server_->issue_tokens();
  auto unknown =
      post_form("/revoke", {{"token", "never-issued"}, {"client_id", "freshtoken-demo"}});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 200);
  EXPECT_EQ(error_of(post_form("/revoke", {{"client_id", "freshtoken-demo"}})), "invalid_request");
  EXPECT_EQ(post_form("/revoke", {{"token", "x"}, {"client_id", "nobody"}})->status, 401);

  auto at = post_form("/revoke", {{"token", tokens.access_token},
                                  {"token_type_hint", "access_token"},
                                  {"client_id", "freshtoken-demo"}});
  ASSERT_TRUE(at);
  EXPECT_EQ(at->status, 200);
  EXPECT_EQ(get_with_token("/api/me", tokens.access_token)->status, 401);

  const json more = body_of(refresh(tokens.refresh_token));
  auto rt =
      post_form("/revoke", {{"token", more["refresh_token"]}, {"client_id", "freshtoken-demo"}});
  ASSERT_TRUE(rt);
  EXPECT_EQ(rt->status, 200);
  EXPECT_EQ(error_of(refresh(more["refresh_token"])), "invalid_grant");
  EXPECT_EQ(get_with_token("/api/me", more["access_token"])->status, 401);
}

TEST_F(ApiTest, Rfc7662Introspection) {
  const auto tokens = server_->issue_tokens();
  auto active = body_of(
      post_form("/introspect", {{"token", tokens.access_token}},
                std::make_pair(std::string("freshtoken-service"), std::string("service-secret"))));
  EXPECT_EQ(active["active"], true);
  EXPECT_EQ(active["sub"], "alice");
  EXPECT_EQ(active["client_id"], "freshtoken-demo");
  EXPECT_EQ(active["scope"], "openid profile api");
  auto refresh_info = body_of(post_form(
      "/introspect", {{"token", tokens.refresh_token}, {"client_id", "freshtoken-demo"}}));
  EXPECT_EQ(refresh_info["active"], true);
  EXPECT_EQ(refresh_info["token_type"], "refresh_token");
  EXPECT_EQ(
      body_of(post_form("/introspect", {{"token", "bogus"}, {"client_id", "freshtoken-demo"}})),
      json({{"active", false}}));
  server_->advance_clock(seconds(3601));
  EXPECT_EQ(body_of(post_form("/introspect", {{"token", tokens.access_token},
                                              {"client_id", "freshtoken-demo"}}))["active"],
            false);
  EXPECT_EQ(post_form("/introspect", {{"token", "x"}})->status, 401);
}

TEST_F(ApiTest, UserinfoNeedsOpenidScope) {
  const auto tokens = server_->issue_tokens("bob", "freshtoken-demo", "openid profile api");
  auto info = get_with_token("/userinfo", tokens.access_token);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, 200);
  EXPECT_EQ(body_of(info)["sub"], "bob");
  EXPECT_EQ(body_of(info)["preferred_username"], "bob");
  const auto api_only = server_->issue_tokens("bob", "freshtoken-demo", "api");
  EXPECT_EQ(get_with_token("/userinfo", api_only.access_token)->status, 403);
  EXPECT_EQ(http_->Get("/userinfo")->status, 401);
}

// ---------------------------------------------------------------- faults

TEST_F(ApiTest, StatusFaultAnswersStatusBodyAndRetryAfterThenRecovers) {
  auto armed = post_json("/mock/faults", R"({"endpoint": "token", "kind": "status", "status": 503,
      "retry_after": "2", "body": "{\"error\":\"temporarily_unavailable\"}", "times": 2})");
  ASSERT_TRUE(armed);
  ASSERT_EQ(armed->status, 200) << armed->body;
  EXPECT_EQ(body_of(armed)["armed"]["times"], 2);
  const auto tokens = server_->issue_tokens();
  for (int i = 0; i < 2; ++i) {
    auto res = refresh(tokens.refresh_token);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 503);
    EXPECT_EQ(res->get_header_value("Retry-After"), "2");
    EXPECT_EQ(error_of(res), "temporarily_unavailable");
  }
  auto ok = refresh(tokens.refresh_token);  // the faulted requests did not touch the family
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(server_->stats().token_requests.refresh_token, 3);
}

TEST_F(ApiTest, FaultsApplyOnlyToTheirEndpoint) {
  Fault fault;
  fault.endpoint = FaultEndpoint::api;
  fault.kind = FaultKind::status;
  fault.status = 500;
  server_->arm_fault(fault);
  EXPECT_EQ(http_->Get("/.well-known/openid-configuration")->status, 200);
  EXPECT_EQ(http_->Get("/api/me")->status, 500);
  EXPECT_EQ(http_->Get("/api/me")->status, 401);
}

TEST_F(ApiTest, DelayFaultStillAnswers) {
  Fault fault;
  fault.endpoint = FaultEndpoint::discovery;
  fault.kind = FaultKind::delay;
  fault.delay_ms = 150;
  server_->arm_fault(fault);
  const auto start = std::chrono::steady_clock::now();
  auto res = http_->Get("/.well-known/openid-configuration");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_GE(elapsed, std::chrono::milliseconds(150));
}

TEST_F(ApiTest, DropFaultClosesWithoutAnswerAndDoesNotHandle) {
  const auto tokens = server_->issue_tokens();
  Fault fault;
  fault.kind = FaultKind::drop;
  server_->arm_fault(fault);
  auto dropped = refresh(tokens.refresh_token);
  EXPECT_FALSE(dropped);
  EXPECT_EQ(server_->stats().refreshes, 0);
  auto ok = refresh(tokens.refresh_token);  // not rotated: still the current token
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(ApiTest, TruncateFaultSendsHalfTheBody) {
  Fault fault;
  fault.endpoint = FaultEndpoint::jwks;
  fault.kind = FaultKind::truncate;
  server_->arm_fault(fault);
  std::string received;
  auto res = http_->Get("/jwks", [&](const char* data, std::size_t length) {
    received.append(data, length);
    return true;
  });
  EXPECT_FALSE(res);  // the connection closed before Content-Length bytes arrived
  const std::string full = server_->jwks();
  EXPECT_EQ(received, full.substr(0, full.size() / 2));
  EXPECT_EQ(http_->Get("/jwks")->body, full);
}

TEST_F(ApiTest, NotJsonFaultAnswers200Html) {
  Fault fault;
  fault.kind = FaultKind::not_json;
  server_->arm_fault(fault);
  auto res = post_form("/token", {{"grant_type", "client_credentials"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_TRUE(body_of(res).is_discarded());
}

TEST_F(ApiTest, CommitThenDropOnApiHandlesThenDrops) {
  const auto tokens = server_->issue_tokens();
  Fault fault;
  fault.endpoint = FaultEndpoint::api;
  fault.kind = FaultKind::commit_then_drop;
  server_->arm_fault(fault);
  EXPECT_FALSE(get_with_token("/api/me", tokens.access_token));
  EXPECT_EQ(server_->stats().api_requests, 1);
  EXPECT_EQ(get_with_token("/api/me", tokens.access_token)->status, 200);
}

TEST_F(ApiTest, CommitThenDelayRotatesBeforeItAnswers) {
  const auto tokens = server_->issue_tokens();
  Fault fault;
  fault.kind = FaultKind::commit_then_delay;
  fault.delay_ms = 800;
  server_->arm_fault(fault);
  auto refresh = std::async(std::launch::async, [&] {
    return client()->Post("/token",
                          util::form_encode({{"grant_type", "refresh_token"},
                                             {"refresh_token", tokens.refresh_token},
                                             {"client_id", "freshtoken-demo"}}),
                          "application/x-www-form-urlencoded");
  });
  for (int i = 0; i < 400 && server_->stats().token_requests.refresh_token == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // The answer has not arrived, but the old refresh token is already rotated out.
  EXPECT_EQ(refresh.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  auto old = body_of(post_form(
      "/introspect", {{"token", tokens.refresh_token}, {"client_id", "freshtoken-demo"}}));
  EXPECT_EQ(old["active"], false);
  auto res = refresh.get();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(body_of(res).value("refresh_token", ""), tokens.refresh_token);
}

// ---------------------------------------------------------------- bad input and control API

TEST_F(ApiTest, BadInputGetsRfcShapedErrorsAndNeverACrash) {
  auto huge =
      http_->Post("/token", std::string(2 * 1024 * 1024, 'a'), "application/x-www-form-urlencoded");
  if (huge) {  // httplib may also close the connection while the body is still being sent
    EXPECT_EQ(huge->status, 413);
    EXPECT_EQ(error_of(huge), "invalid_request");
  }
  http_ = client();
  auto malformed = http_->Post("/token", "grant_type=%zz&client_id=freshtoken-demo",
                               "application/x-www-form-urlencoded");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(error_of(malformed), "invalid_request");
  EXPECT_EQ(error_of(post_form("/token", {{"grant_type", "refresh_token"},
                                          {"grant_type", "client_credentials"},
                                          {"client_id", "freshtoken-demo"}})),
            "invalid_request");  // repeated parameter
  auto json_body =
      http_->Post("/token", R"({"grant_type":"client_credentials"})", "application/json");
  ASSERT_TRUE(json_body);
  EXPECT_EQ(error_of(json_body), "invalid_request");
  auto get_token = http_->Get("/token");
  ASSERT_TRUE(get_token);
  EXPECT_EQ(get_token->status, 405);

  for (const char* bad :
       {"{not json", "[1,2]", R"({"endpoint": "token", "kind": "explode"})",
        R"({"endpoint": "nowhere", "kind": "drop"})", R"({"kind": "status", "times": 0})",
        R"({"kind": "delay", "delay_ms": "x"})"}) {
    auto res = post_json("/mock/faults", bad);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << bad;
    EXPECT_EQ(error_of(res), "invalid_request") << bad;
  }
  EXPECT_EQ(post_json("/mock/clock", R"({"offset_seconds": "soon"})")->status, 400);
  EXPECT_EQ(post_json("/mock/revoke", R"({"what": "everything"})")->status, 400);
  EXPECT_EQ(post_json("/mock/revoke", R"({"what": "family", "refresh_token": "x"})")->status, 400);
  EXPECT_EQ(post_json("/mock/device/approve", R"({"user_code": "NOPE-NOPE"})")->status, 400);
  auto missing = http_->Get("/no/such/thing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(error_of(missing), "not_found");
  EXPECT_EQ(server_->stats().faults_armed, 0);
  EXPECT_EQ(http_->Get("/.well-known/openid-configuration")->status, 200);  // still serving
}

TEST_F(ApiTest, ControlApiStatsClockAndReset) {
  const auto tokens = server_->issue_tokens();
  auto clock = post_json("/mock/clock", R"({"offset_seconds": 3601})");
  ASSERT_TRUE(clock);
  EXPECT_EQ(body_of(clock)["offset_seconds"], 3601);
  EXPECT_EQ(server_->clock_offset(), seconds(3601));
  EXPECT_EQ(get_with_token("/api/me", tokens.access_token)->status, 401);

  const json stats = body_of(http_->Get("/mock/stats"));
  for (const char* key : {"token_requests", "refreshes", "refresh_reuse_detected",
                          "families_revoked", "api_requests", "api_401", "connections"}) {
    EXPECT_TRUE(stats.contains(key)) << key;
  }
  EXPECT_TRUE(stats["token_requests"].is_object());
  EXPECT_EQ(stats["api_401"], 1);
  EXPECT_GE(stats["connections"].get<long>(), 1);

  auto reset = http_->Post("/mock/reset", "", "application/json");
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->status, 200);
  EXPECT_EQ(server_->clock_offset(), seconds(0));
  EXPECT_EQ(server_->stats().api_401, 0);
  // Tokens are forgotten: neither the access token nor the refresh token work any more.
  EXPECT_EQ(get_with_token("/api/me", tokens.access_token)->status, 401);
  EXPECT_EQ(error_of(refresh(tokens.refresh_token)), "invalid_grant");

  auto issued = post_json("/mock/tokens", R"({"user": "bob", "scope": "api"})");
  ASSERT_TRUE(issued);
  EXPECT_EQ(body_of(get_with_token("/api/me", body_of(issued)["access_token"]))["sub"], "bob");
}

// A token with its own lifetime: what a benchmark baseline that cannot refresh needs on a
// server whose tokens live seconds.
TEST_F(ApiTest, ControlTokensMayHaveTheirOwnLifetime) {
  auto issued = post_json("/mock/tokens", R"({"access_token_ttl_s": 7200})");
  ASSERT_TRUE(issued);
  ASSERT_EQ(issued->status, 200);
  const json tokens = body_of(issued);
  EXPECT_EQ(tokens["expires_in"], 7200);
  const json claims = decode_part(split_jwt(tokens["access_token"])[1]);
  EXPECT_EQ(claims["exp"].get<long>() - claims["iat"].get<long>(), 7200);
  server_->set_clock_offset(seconds(3601));  // past the server's own one-hour lifetime
  EXPECT_EQ(get_with_token("/api/me", tokens["access_token"])->status, 200);
  // Refreshed tokens get the server's lifetime again.
  EXPECT_EQ(body_of(refresh(tokens["refresh_token"]))["expires_in"], 3600);

  for (const char* bad :
       {R"({"access_token_ttl_s": 0})", R"({"access_token_ttl_s": -5})",
        R"({"access_token_ttl_s": "long"})", R"({"access_token_ttl_s": 9223372036854775807})"}) {
    auto res = post_json("/mock/tokens", bad);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << bad;
  }
}

TEST_F(ApiTest, ControlPostWithoutContentLengthDoesNotWaitForABody) {
  // What `curl -X POST <issuer>/mock/reset` sends.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  timeval timeout{5, 0};  // the server's read timeout is longer
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(server_->port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  const std::string request = "POST /mock/reset HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  char buffer[512] = {};
  const ssize_t n = recv(fd, buffer, sizeof buffer - 1, 0);
  close(fd);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer).rfind("HTTP/1.1 200", 0), 0u) << buffer;
}

TEST_F(ApiTest, SixtyFourConcurrentKeepAliveClients) {
  const auto tokens = server_->issue_tokens();
  const std::string token = tokens.access_token;
  server_->reset();
  const auto fresh = server_->issue_tokens();
  const std::string access = fresh.access_token;
  constexpr int kClients = 64;
  constexpr int kRequests = 20;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&] {
      auto c = client();
      for (int r = 0; r < kRequests; ++r) {
        auto res = c->Get("/api/me", {{"Authorization", "Bearer " + access}});
        if (res && res->status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  const MockServerStats stats = server_->stats();
  EXPECT_EQ(stats.api_requests, kClients * kRequests);
  EXPECT_EQ(stats.connections, kClients);  // keep-alive: one connection per client
}

// ---------------------------------------------------------------- TLS

TEST(MockServerTls, ServesHttpsWithCertAndKey) {
  TempCertificate certificate;
  MockServerOptions options;
  options.tls_cert_file = certificate.cert_path;
  options.tls_key_file = certificate.key_path;
  MockServer server(options);
  server.start();
  EXPECT_EQ(server.issuer().rfind("https://127.0.0.1:", 0), 0u);
  {
    httplib::SSLClient https("127.0.0.1", server.port());
    https.enable_server_certificate_verification(false);
    auto res = https.Get("/.well-known/openid-configuration");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(body_of(res)["issuer"], server.issuer());
  }
  server.stop();
}

TEST(MockServerTls, MissingCertificateFileFailsToStart) {
  MockServerOptions options;
  options.tls_cert_file = "/nonexistent/cert.pem";
  options.tls_key_file = "/nonexistent/key.pem";
  MockServer server(options);
  EXPECT_THROW(server.start(), std::runtime_error);
}

// What a launch test reads to see whether a client spoke to the authorization server at all.
TEST_F(ApiTest, StatsCountRequestsPerEndpointUntilReset) {
  const auto tokens = server_->issue_tokens();
  ASSERT_EQ(http_->Get("/.well-known/openid-configuration")->status, 200);
  ASSERT_EQ(http_->Get("/.well-known/oauth-authorization-server")->status, 200);
  ASSERT_EQ(http_->Get("/jwks")->status, 200);
  ASSERT_TRUE(http_->Get("/authorize"));
  ASSERT_TRUE(refresh(tokens.refresh_token));
  ASSERT_TRUE(post_form("/token", {{"grant_type", "nonsense"}}));
  ASSERT_TRUE(post_form("/device_authorization", {{"client_id", "freshtoken-demo"}}));
  ASSERT_TRUE(post_form("/revoke", {{"token", "unknown"}, {"client_id", "freshtoken-demo"}}));
  ASSERT_TRUE(post_form("/introspect", {{"token", "unknown"}}));
  ASSERT_TRUE(get_with_token("/userinfo", tokens.access_token));
  ASSERT_TRUE(get_with_token("/api/me", tokens.access_token));
  ASSERT_TRUE(get_with_token("/api/echo", "not-a-token"));
  ASSERT_TRUE(http_->Get("/mock/stats"));  // the control API is not an endpoint

  const json expected = {{"discovery", 2},
                         {"jwks", 1},
                         {"authorize", 1},
                         {"token", 2},
                         {"device_authorization", 1},
                         {"revoke", 1},
                         {"introspect", 1},
                         {"userinfo", 1},
                         {"api", 2},
                         {"files", 0}};
  EXPECT_EQ(body_of(http_->Get("/mock/stats"))["endpoint_requests"], expected);
  EXPECT_EQ(server_->stats().endpoint_requests.discovery, 2);
  EXPECT_EQ(server_->stats().endpoint_requests.token, 2);

  ASSERT_EQ(http_->Post("/mock/reset", "", "application/json")->status, 200);
  const json zero = {{"discovery", 0},
                     {"jwks", 0},
                     {"authorize", 0},
                     {"token", 0},
                     {"device_authorization", 0},
                     {"revoke", 0},
                     {"introspect", 0},
                     {"userinfo", 0},
                     {"api", 0},
                     {"files", 0}};
  EXPECT_EQ(body_of(http_->Get("/mock/stats"))["endpoint_requests"], zero);
}

// Behind a proxy or relay, the server announces the URL its clients reach it at.
TEST(MockServerIssuer, AGivenIssuerIsAnnouncedInDiscoveryAndUnderEveryEndpoint) {
  MockServerOptions options;
  options.issuer = "http://127.0.0.1:1";
  MockServer server(options);
  server.start();
  EXPECT_EQ(server.issuer(), "http://127.0.0.1:1");
  httplib::Client http("127.0.0.1", server.port());
  const json discovery = body_of(http.Get("/.well-known/openid-configuration"));
  EXPECT_EQ(discovery["issuer"], "http://127.0.0.1:1");
  EXPECT_EQ(discovery["token_endpoint"], "http://127.0.0.1:1/token");
  server.stop();
}

}  // namespace
}  // namespace freshtoken::mock::testing
