// DPoP (RFC 9449) at the mock server: discovery, binding (cnf.jkt, token_type DPoP), every
// proof rejection reason with a hand-forged proof, the bound refresh token and authorization
// code, the protected API's challenges, the nonce dance at both servers, per-client modes and
// the counters by reason.
#include <vector>

#include "dpop_forger.hpp"
#include "mock_server_fixture.hpp"

namespace freshtoken::mock::testing {
namespace {

using freshtoken::testing::DpopForger;
using freshtoken::testing::DpopForgery;

// The claims of a JWT, unverified.
json claims_of(const std::string& jwt) {
  const auto first = jwt.find('.');
  const auto second = jwt.find('.', first + 1);
  const auto text = util::base64url_decode(jwt.substr(first + 1, second - first - 1));
  return text ? json::parse(*text, nullptr, false) : json();
}

json stats_json_of(httplib::Client& http) {
  auto res = http.Get("/mock/stats");
  return body_of(res);
}

class DpopTest : public MockServerTest {
 protected:
  DpopTest() { options_.dpop = DpopMode::required; }

  std::string url(const std::string& path) const { return server_->issuer() + path; }

  // Clients stamp proofs with their real clock, whatever /mock/clock says.
  std::int64_t now() const { return DpopForger::now_seconds(); }

  // A proof for POST `path` by `forger`, changed by `change`.
  template <class Change>
  std::string proof_for(const DpopForger& forger, const std::string& method,
                        const std::string& path, Change change) const {
    DpopForgery f;
    f.htm = method;
    f.htu = url(path);
    f.iat = now();
    change(f);
    return forger.proof(f);
  }
  std::string proof_for(const DpopForger& forger, const std::string& method,
                        const std::string& path) const {
    return proof_for(forger, method, path, [](DpopForgery&) {});
  }

  httplib::Result post_with_proofs(const std::string& path, const Fields& fields,
                                   const std::vector<std::string>& proofs, bool basic = false) {
    httplib::Headers headers;
    for (const auto& p : proofs) headers.emplace("DPoP", p);
    if (basic) {
      headers.emplace("Authorization",
                      "Basic " + util::base64_encode("freshtoken-service:service-secret"));
    }
    return http_->Post(path.c_str(), headers, util::form_encode(fields),
                       "application/x-www-form-urlencoded");
  }

  // client_credentials of the confidential client with these proofs.
  httplib::Result service_token(const std::vector<std::string>& proofs) {
    return post_with_proofs("/token", {{"grant_type", "client_credentials"}}, proofs, true);
  }

  // A browser sign-in of freshtoken-demo redeemed with `proof` (none when empty).
  httplib::Result dpop_code_flow(const std::string& proof,
                                 const std::optional<std::string>& dpop_jkt = std::nullopt) {
    const std::string verifier = util::base64url_encode(util::random_bytes(32));
    Fields form = authorize_fields(verifier, "freshtoken-demo", "openid profile api", "n");
    if (dpop_jkt) form.emplace_back("dpop_jkt", *dpop_jkt);
    form.emplace_back("username", "alice");
    form.emplace_back("password", "wonderland");
    form.emplace_back("action", "approve");
    auto res = post_form("/authorize", form);
    const Query query = res ? query_of(res->get_header_value("Location")) : Query();
    code_ = query.count("code") ? query.at("code") : std::string();
    verifier_ = verifier;
    return redeem_with(proof);
  }
  httplib::Result redeem_with(const std::string& proof) {
    std::vector<std::string> proofs;
    if (!proof.empty()) proofs.push_back(proof);
    return post_with_proofs("/token",
                            {{"grant_type", "authorization_code"},
                             {"code", code_},
                             {"redirect_uri", redirect_uri()},
                             {"client_id", "freshtoken-demo"},
                             {"code_verifier", verifier_}},
                            proofs);
  }

  httplib::Result refresh_with(const std::string& refresh_token, const std::string& proof) {
    std::vector<std::string> proofs;
    if (!proof.empty()) proofs.push_back(proof);
    return post_with_proofs("/token",
                            {{"grant_type", "refresh_token"},
                             {"refresh_token", refresh_token},
                             {"client_id", "freshtoken-demo"}},
                            proofs);
  }

  httplib::Result api_get(const std::string& path, const std::string& scheme,
                          const std::string& token, const std::string& proof) {
    httplib::Headers headers = {{"Authorization", scheme + " " + token}};
    if (!proof.empty()) headers.emplace("DPoP", proof);
    return http_->Get(path.c_str(), headers);
  }

  // An access token bound to `forger`'s key (client credentials: no browser needed).
  std::string bound_token(const DpopForger& forger) {
    const json tokens = body_of(service_token({proof_for(forger, "POST", "/token")}));
    return tokens.value("access_token", std::string());
  }

  std::string code_, verifier_;
};

TEST_F(DpopTest, DiscoveryAdvertisesEs256) {
  const json doc = body_of(http_->Get("/.well-known/openid-configuration"));
  EXPECT_EQ(doc.value("dpop_signing_alg_values_supported", json()), json::array({"ES256"}));
}

TEST_F(MockServerTest, DiscoveryDoesNotAdvertiseDpopWhenItIsOff) {
  const json doc = body_of(http_->Get("/.well-known/openid-configuration"));
  EXPECT_FALSE(doc.contains("dpop_signing_alg_values_supported"));
}

TEST_F(DpopTest, AValidProofBindsTheAccessTokenToTheKeysThumbprint) {
  const DpopForger forger;
  auto res = dpop_code_flow(proof_for(forger, "POST", "/token"));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json tokens = body_of(res);
  EXPECT_EQ(tokens["token_type"], "DPoP");
  EXPECT_EQ(claims_of(tokens["access_token"])["cnf"], json({{"jkt", forger.thumbprint()}}));
  auto api = api_get("/api/me", "DPoP", tokens["access_token"],
                     proof_for(forger, "GET", "/api/me", [&](DpopForgery& f) {
                       f.ath = DpopForger::ath(tokens["access_token"]);
                     }));
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200) << api->body;
  EXPECT_EQ(body_of(api)["sub"], "alice");
}

// /mock/clock ages tokens; a client's proofs still carry its real clock's time.
TEST_F(DpopTest, AShiftedServerClockStillAcceptsProofsStampedWithTheRealClock) {
  server_->advance_clock(std::chrono::hours(2));
  const DpopForger forger;
  auto res = dpop_code_flow(proof_for(forger, "POST", "/token"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(server_->stats().dpop_rejections.iat, 0);
}

TEST_F(DpopTest, RequiredModeRefusesATokenRequestWithoutAProof) {
  auto res = service_token({});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(error_of(res), "invalid_dpop_proof");
  EXPECT_EQ(server_->stats().dpop_rejections.missing, 1);
}

// Each broken proof is refused at /token with invalid_dpop_proof and counted under its reason.
TEST_F(DpopTest, EachBrokenProofIsRefusedAndCountedByReason) {
  const DpopForger forger;
  const DpopForger other;
  struct Case {
    const char* name;
    std::vector<std::string> proofs;
    long DpopRejectionCounts::*counter;
  };
  const std::string replayed = proof_for(forger, "POST", "/token");
  ASSERT_EQ(service_token({replayed})->status, 200);
  json ec_p384 = forger.public_jwk();
  ec_p384["crv"] = "P-384";
  const std::vector<Case> cases = {
      {"not a JWS", {"not.a-jws"}, &DpopRejectionCounts::malformed},
      {"two headers",
       {proof_for(forger, "POST", "/token"), proof_for(forger, "POST", "/token")},
       &DpopRejectionCounts::malformed},
      {"typ",
       {proof_for(forger, "POST", "/token", [](DpopForgery& f) { f.typ = "JWT"; })},
       &DpopRejectionCounts::typ},
      {"alg none",
       {proof_for(forger, "POST", "/token", [](DpopForgery& f) { f.alg = "none"; })},
       &DpopRejectionCounts::alg},
      {"alg HS256",
       {proof_for(forger, "POST", "/token", [](DpopForgery& f) { f.alg = "HS256"; })},
       &DpopRejectionCounts::alg},
      {"alg RS256",
       {proof_for(forger, "POST", "/token", [](DpopForgery& f) { f.alg = "RS256"; })},
       &DpopRejectionCounts::alg},
      {"private jwk",
       {proof_for(forger, "POST", "/token", [](DpopForgery& f) { f.private_jwk = true; })},
       &DpopRejectionCounts::jwk},
      {"P-384 jwk",
       {proof_for(forger, "POST", "/token", [&](DpopForgery& f) { f.jwk = ec_p384; })},
       &DpopRejectionCounts::jwk},
      {"bad signature",
       {proof_for(forger, "POST", "/token", [](DpopForgery& f) { f.bad_signature = true; })},
       &DpopRejectionCounts::signature},
      {"another key's jwk",
       {proof_for(forger, "POST", "/token", [&](DpopForgery& f) { f.jwk = other.public_jwk(); })},
       &DpopRejectionCounts::signature},
      {"htm", {proof_for(forger, "GET", "/token")}, &DpopRejectionCounts::htm},
      {"htu path", {proof_for(forger, "POST", "/revoke")}, &DpopRejectionCounts::htu},
      {"htu host",
       {proof_for(forger, "POST", "/token",
                  [&](DpopForgery& f) { f.htu = "http://attacker.example/token"; })},
       &DpopRejectionCounts::htu},
      {"iat too old",
       {proof_for(forger, "POST", "/token", [&](DpopForgery& f) { f.iat = now() - 120; })},
       &DpopRejectionCounts::iat},
      {"iat in the future",
       {proof_for(forger, "POST", "/token", [&](DpopForgery& f) { f.iat = now() + 60; })},
       &DpopRejectionCounts::iat},
      {"replayed jti", {replayed}, &DpopRejectionCounts::jti_replay},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const long before = server_->stats().dpop_rejections.*c.counter;
    auto res = service_token(c.proofs);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << error_of(res);  // a 200's body would hold a token
    EXPECT_EQ(error_of(res), "invalid_dpop_proof");
    EXPECT_EQ(server_->stats().dpop_rejections.*c.counter, before + 1);
  }
  // Equivalent spellings of the same URI are the same htu (RFC 9449 §4.3, RFC 3986 §6.2).
  auto same = service_token({proof_for(forger, "POST", "/token", [&](DpopForgery& f) {
    f.htu = "HTTP://127.0.0.1:" + std::to_string(server_->port()) + "/token?x=1#f";
  })});
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 200) << same->body;
}

TEST_F(DpopTest, StatsCountRejectionsByReasonInJson) {
  const DpopForger forger;
  service_token({});
  service_token({proof_for(forger, "POST", "/token", [](DpopForgery& f) { f.typ = "jwt"; })});
  const json stats = stats_json_of(*http_);
  ASSERT_TRUE(stats.contains("dpop_rejections")) << stats.dump();
  EXPECT_EQ(stats["dpop_rejections"]["missing"], 1);
  EXPECT_EQ(stats["dpop_rejections"]["typ"], 1);
  EXPECT_EQ(stats["dpop_rejections"]["key_mismatch"], 0);
}

TEST_F(DpopTest, TheApiAcceptsABoundTokenOnlyWithAMatchingProof) {
  const DpopForger forger;
  const DpopForger thief;
  const std::string token = bound_token(forger);
  ASSERT_FALSE(token.empty());
  const auto good_ath = [&](DpopForgery& f) { f.ath = DpopForger::ath(token); };

  auto as_bearer = api_get("/api/me", "Bearer", token, "");
  ASSERT_TRUE(as_bearer);
  EXPECT_EQ(as_bearer->status, 401);
  EXPECT_EQ(
      as_bearer->get_header_value("WWW-Authenticate").rfind("DPoP error=\"invalid_token\"", 0), 0u)
      << as_bearer->get_header_value("WWW-Authenticate");
  EXPECT_NE(as_bearer->get_header_value("WWW-Authenticate").find("algs=\"ES256\""),
            std::string::npos);

  auto no_proof = api_get("/api/me", "DPoP", token, "");
  ASSERT_TRUE(no_proof);
  EXPECT_EQ(no_proof->status, 401);
  EXPECT_EQ(
      no_proof->get_header_value("WWW-Authenticate").rfind("DPoP error=\"invalid_dpop_proof\"", 0),
      0u);

  auto wrong_ath = api_get("/api/me", "DPoP", token,
                           proof_for(forger, "GET", "/api/me",
                                     [](auto& f) { f.ath = DpopForger::ath("another token"); }));
  ASSERT_TRUE(wrong_ath);
  EXPECT_EQ(wrong_ath->status, 401);
  auto no_ath = api_get("/api/me", "DPoP", token, proof_for(forger, "GET", "/api/me"));
  ASSERT_TRUE(no_ath);
  EXPECT_EQ(no_ath->status, 401);

  auto stolen = api_get("/api/me", "DPoP", token, proof_for(thief, "GET", "/api/me", good_ath));
  ASSERT_TRUE(stolen);
  EXPECT_EQ(stolen->status, 401);
  EXPECT_EQ(error_of(stolen), "invalid_dpop_proof");

  auto good = api_get("/api/me", "DPoP", token, proof_for(forger, "GET", "/api/me", good_ath));
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200) << good->body;

  const DpopRejectionCounts counts = server_->stats().dpop_rejections;
  EXPECT_EQ(counts.missing, 2);  // as Bearer, and DPoP without a proof
  EXPECT_EQ(counts.ath, 2);
  EXPECT_EQ(counts.key_mismatch, 1);
}

// The second API checks proofs against its own origin: htu names /files on its port.
TEST_F(DpopTest, TheFilesApiTakesABoundTokenWithAProofForItsOwnOrigin) {
  const DpopForger forger;
  const std::string files = server_->files_url();
  const json tokens = body_of(
      post_with_proofs("/token", {{"grant_type", "client_credentials"}, {"resource", files}},
                       {proof_for(forger, "POST", "/token")}, true));
  const std::string token = tokens.value("access_token", std::string());
  ASSERT_FALSE(token.empty()) << tokens.dump();
  EXPECT_EQ(tokens["token_type"], "DPoP");
  const std::string origin = files.substr(0, files.rfind('/'));
  httplib::Client api(origin);
  auto get_me = [&](const std::string& htu) {
    DpopForgery f;
    f.htm = "GET";
    f.htu = htu;
    f.iat = now();
    f.ath = DpopForger::ath(token);
    return api.Get("/files/me", {{"Authorization", "DPoP " + token}, {"DPoP", forger.proof(f)}});
  };
  auto issuer_htu = get_me(url("/files/me"));  // the issuer's origin is not this API's
  ASSERT_TRUE(issuer_htu);
  EXPECT_EQ(issuer_htu->status, 401);
  EXPECT_EQ(error_of(issuer_htu), "invalid_dpop_proof");
  auto good = get_me(files + "/me");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200) << good->body;
  EXPECT_EQ(body_of(good)["resource"], files);
  EXPECT_EQ(server_->stats().dpop_rejections.htu, 1);
}

TEST_F(DpopTest, UserinfoTakesABoundTokenWithAProof) {
  const DpopForger forger;
  auto tokens = body_of(dpop_code_flow(proof_for(forger, "POST", "/token")));
  const std::string token = tokens.value("access_token", std::string());
  auto res = api_get(
      "/userinfo", "DPoP", token,
      proof_for(forger, "GET", "/userinfo", [&](auto& f) { f.ath = DpopForger::ath(token); }));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  auto as_bearer = api_get("/userinfo", "Bearer", token, "");
  ASSERT_TRUE(as_bearer);
  EXPECT_EQ(as_bearer->status, 401);
}

class DpopAllowedTest : public DpopTest {
 protected:
  DpopAllowedTest() { options_.dpop = DpopMode::allowed; }
};

TEST_F(DpopAllowedTest, WithoutAProofATokenRequestGetsABearerTokenAsBefore) {
  const json tokens = code_flow();
  EXPECT_EQ(tokens["token_type"], "Bearer");
  EXPECT_FALSE(claims_of(tokens["access_token"]).contains("cnf"));
  auto api = get_with_token("/api/me", tokens["access_token"]);
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200);
  EXPECT_EQ(server_->stats().dpop_rejections.missing, 0);
}

// The WWW-Authenticate values of `res`, in order.
std::vector<std::string> challenges_of(const httplib::Result& res) {
  std::vector<std::string> out;
  const auto range = res->headers.equal_range("WWW-Authenticate");
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

TEST_F(DpopAllowedTest, WithoutATokenTheApiOffersBearerAndDpop) {
  auto res = http_->Get("/api/me");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(challenges_of(res), (std::vector<std::string>{"Bearer", "DPoP algs=\"ES256\""}));
}

TEST_F(DpopTest, WithoutATokenTheApiOffersOnlyDpopWhenItIsRequired) {
  auto res = http_->Get("/api/me");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(challenges_of(res), std::vector<std::string>{"DPoP algs=\"ES256\""});
}

TEST_F(DpopAllowedTest, ABoundRefreshTokenIsRefusedWithAnotherKeyOrNoProofAndNotSpent) {
  const DpopForger forger;
  const DpopForger thief;
  const json tokens = body_of(dpop_code_flow(proof_for(forger, "POST", "/token")));
  const std::string refresh_token = tokens.value("refresh_token", std::string());
  ASSERT_FALSE(refresh_token.empty()) << tokens.dump();

  auto without = refresh_with(refresh_token, "");
  ASSERT_TRUE(without);
  EXPECT_EQ(without->status, 400);
  EXPECT_EQ(error_of(without), "invalid_grant");
  auto other_key = refresh_with(refresh_token, proof_for(thief, "POST", "/token"));
  ASSERT_TRUE(other_key);
  EXPECT_EQ(error_of(other_key), "invalid_grant");

  // Neither rotated the token nor counted as a reuse: the holder of the key refreshes on.
  auto mine = refresh_with(refresh_token, proof_for(forger, "POST", "/token"));
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->status, 200) << mine->body;
  const json next = body_of(mine);
  EXPECT_EQ(next["token_type"], "DPoP");
  EXPECT_EQ(claims_of(next["access_token"])["cnf"]["jkt"], forger.thumbprint());
  // The rotated token is bound to the same key.
  EXPECT_EQ(error_of(refresh_with(next["refresh_token"], proof_for(thief, "POST", "/token"))),
            "invalid_grant");
  const MockServerStats stats = server_->stats();
  EXPECT_EQ(stats.refreshes, 1);
  EXPECT_EQ(stats.refresh_reuse_detected, 0);
  EXPECT_EQ(stats.families_revoked, 0);
  EXPECT_EQ(stats.dpop_rejections.missing, 1);
  EXPECT_EQ(stats.dpop_rejections.key_mismatch, 2);
}

// RFC 9449 §5: a refresh token issued to a public client's DPoP request is bound, also when
// the session began with Bearer tokens (an application that turned DPoP on later).
TEST_F(DpopAllowedTest, ABearerFamilyIsBoundToTheKeyOfItsFirstDpopRefresh) {
  const DpopForger forger;
  const DpopForger thief;
  const json bearer = code_flow();
  ASSERT_EQ(bearer["token_type"], "Bearer");
  auto upgraded = refresh_with(bearer["refresh_token"], proof_for(forger, "POST", "/token"));
  ASSERT_TRUE(upgraded);
  ASSERT_EQ(upgraded->status, 200) << upgraded->body;
  const json next = body_of(upgraded);
  EXPECT_EQ(next["token_type"], "DPoP");
  EXPECT_EQ(error_of(refresh_with(next["refresh_token"], proof_for(thief, "POST", "/token"))),
            "invalid_grant");
  EXPECT_EQ(error_of(refresh_with(next["refresh_token"], "")), "invalid_grant");
  auto mine = refresh_with(next["refresh_token"], proof_for(forger, "POST", "/token"));
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->status, 200) << mine->body;
}

TEST_F(DpopAllowedTest, ACodeBoundWithDpopJktIsRedeemedOnlyWithThatKey) {
  const DpopForger forger;
  const DpopForger thief;
  auto stolen = dpop_code_flow(proof_for(thief, "POST", "/token"), forger.thumbprint());
  ASSERT_TRUE(stolen);
  EXPECT_EQ(stolen->status, 400);
  EXPECT_EQ(error_of(stolen), "invalid_grant");
  auto no_proof = redeem_with("");
  ASSERT_TRUE(no_proof);
  EXPECT_EQ(error_of(no_proof), "invalid_grant");
  auto mine = redeem_with(proof_for(forger, "POST", "/token"));
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->status, 200) << mine->body;
  EXPECT_EQ(server_->stats().dpop_rejections.key_mismatch, 1);
}

TEST_F(DpopAllowedTest, RevocationChecksAProofWhenOneComes) {
  const DpopForger forger;
  const json tokens = body_of(dpop_code_flow(proof_for(forger, "POST", "/token")));
  const Fields form = {{"token", tokens.value("refresh_token", std::string())},
                       {"client_id", "freshtoken-demo"}};
  auto bad = post_with_proofs("/revoke", form, {proof_for(forger, "POST", "/token")});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(error_of(bad), "invalid_dpop_proof");
  EXPECT_EQ(server_->stats().families_revoked, 0);
  auto good = post_with_proofs("/revoke", form, {proof_for(forger, "POST", "/revoke")});
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200);
  EXPECT_EQ(server_->stats().families_revoked, 1);
}

class DpopNonceTest : public DpopTest {
 protected:
  DpopNonceTest() { options_.dpop_nonce = true; }
};

TEST_F(DpopNonceTest, TheTokenEndpointDemandsItsNonceAndAnswersWithAFreshOne) {
  const DpopForger forger;
  auto first = service_token({proof_for(forger, "POST", "/token")});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 400);
  EXPECT_EQ(error_of(first), "use_dpop_nonce");
  const std::string nonce = first->get_header_value("DPoP-Nonce");
  ASSERT_FALSE(nonce.empty());
  auto wrong = service_token(
      {proof_for(forger, "POST", "/token", [](DpopForgery& f) { f.nonce = "made-up"; })});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(error_of(wrong), "use_dpop_nonce");
  auto second = service_token(
      {proof_for(forger, "POST", "/token", [&](DpopForgery& f) { f.nonce = nonce; })});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200) << second->body;
  EXPECT_FALSE(second->get_header_value("DPoP-Nonce").empty());
  EXPECT_EQ(server_->stats().dpop_rejections.nonce, 2);

  // Long after, the nonce is stale (rotated out twice).
  server_->advance_clock(std::chrono::seconds(120));
  auto stale = service_token(
      {proof_for(forger, "POST", "/token", [&](DpopForgery& f) { f.nonce = nonce; })});
  ASSERT_TRUE(stale);
  EXPECT_EQ(error_of(stale), "use_dpop_nonce");
  EXPECT_NE(stale->get_header_value("DPoP-Nonce"), nonce);
}

TEST_F(DpopNonceTest, ARefreshRetriedForANonceSpendsTheRefreshTokenOnce) {
  const DpopForger forger;
  const std::string nonce =
      service_token({proof_for(forger, "POST", "/token")})->get_header_value("DPoP-Nonce");
  const json tokens = body_of(dpop_code_flow(
      proof_for(forger, "POST", "/token", [&](DpopForgery& f) { f.nonce = nonce; })));
  const std::string refresh_token = tokens.value("refresh_token", std::string());
  ASSERT_FALSE(refresh_token.empty()) << tokens.dump();
  auto no_nonce = refresh_with(refresh_token, proof_for(forger, "POST", "/token"));
  ASSERT_TRUE(no_nonce);
  EXPECT_EQ(error_of(no_nonce), "use_dpop_nonce");
  auto retry = refresh_with(refresh_token, proof_for(forger, "POST", "/token", [&](auto& f) {
                              f.nonce = no_nonce->get_header_value("DPoP-Nonce");
                            }));
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->status, 200) << retry->body;
  const MockServerStats stats = server_->stats();
  EXPECT_EQ(stats.refreshes, 1);
  EXPECT_EQ(stats.refresh_reuse_detected, 0);
}

TEST_F(DpopNonceTest, TheApiDemandsANonceOfItsOwn) {
  const DpopForger forger;
  const std::string as_nonce =
      service_token({proof_for(forger, "POST", "/token")})->get_header_value("DPoP-Nonce");
  const json tokens = body_of(service_token(
      {proof_for(forger, "POST", "/token", [&](DpopForgery& f) { f.nonce = as_nonce; })}));
  const std::string access = tokens.value("access_token", std::string());
  ASSERT_FALSE(access.empty()) << tokens.dump();
  const auto with = [&](const std::string& nonce) {
    return proof_for(forger, "GET", "/api/me", [&](DpopForgery& f) {
      f.ath = DpopForger::ath(access);
      f.nonce = nonce;
    });
  };
  auto first = api_get("/api/me", "DPoP", access, proof_for(forger, "GET", "/api/me", [&](auto& f) {
                         f.ath = DpopForger::ath(access);
                       }));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 401);
  EXPECT_EQ(first->get_header_value("WWW-Authenticate").rfind("DPoP error=\"use_dpop_nonce\"", 0),
            0u)
      << first->get_header_value("WWW-Authenticate");
  const std::string rs_nonce = first->get_header_value("DPoP-Nonce");
  ASSERT_FALSE(rs_nonce.empty());
  EXPECT_NE(rs_nonce, as_nonce);
  auto with_as_nonce = api_get("/api/me", "DPoP", access, with(as_nonce));
  ASSERT_TRUE(with_as_nonce);
  EXPECT_EQ(with_as_nonce->status, 401);
  auto second = api_get("/api/me", "DPoP", access, with(rs_nonce));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200) << second->body;
}

class DpopPerClientTest : public DpopTest {
 protected:
  DpopPerClientTest() {
    options_.dpop = DpopMode::off;
    options_.dpop_clients["freshtoken-other"] = DpopMode::required;
  }
};

TEST_F(DpopPerClientTest, AClientsOwnModeOverridesTheServers) {
  const json demo = code_flow("freshtoken-demo");
  EXPECT_EQ(demo["token_type"], "Bearer");
  const json other = code_flow("freshtoken-other");
  EXPECT_EQ(other.value("error", std::string()), "invalid_dpop_proof") << other.dump();
  const json doc = body_of(http_->Get("/.well-known/openid-configuration"));
  EXPECT_EQ(doc.value("dpop_signing_alg_values_supported", json()), json::array({"ES256"}));
}

}  // namespace
}  // namespace freshtoken::mock::testing
