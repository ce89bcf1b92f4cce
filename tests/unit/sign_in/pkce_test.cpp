#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "sign_in/pkce.hpp"
#include "util/encoding.hpp"

namespace freshtoken::detail {
namespace {

std::map<std::string, std::string> query_of(const std::string& url) {
  std::map<std::string, std::string> out;
  auto fields = util::form_decode_fields(url.substr(url.find('?') + 1));
  EXPECT_TRUE(fields.has_value());
  for (auto& [k, v] : *fields) {
    EXPECT_EQ(out.count(k), 0u) << "repeated parameter " << k;
    out[k] = v;
  }
  return out;
}

bool is_unreserved_base64url(const std::string& s) {
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

TEST(Pkce, S256ChallengeMatchesRfc7636AppendixB) {
  EXPECT_EQ(s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(Pkce, VerifierIs43Base64UrlCharactersAndMatchesItsChallenge) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    Pkce pkce = make_pkce();
    std::string verifier(pkce.verifier.reveal());
    EXPECT_EQ(verifier.size(), 43u);  // RFC 7636 §4.1: 43..128, from 32 random octets
    EXPECT_TRUE(is_unreserved_base64url(verifier)) << "charset";
    EXPECT_EQ(pkce.challenge, s256_challenge(verifier));
    EXPECT_EQ(pkce.challenge.size(), 43u);
    seen.insert(verifier);
  }
  EXPECT_EQ(seen.size(), 20u) << "verifiers are random";
}

TEST(Pkce, StateAndNonceCarryAtLeast128Bits) {
  Secret a = random_url_token(), b = random_url_token();
  EXPECT_GE(util::base64url_decode(a.reveal())->size(), 16u);
  EXPECT_NE(a, b);
}

TEST(Scope, ContainsMatchesWholeItemsOnly) {
  EXPECT_TRUE(scope_contains("openid profile", "openid"));
  EXPECT_TRUE(scope_contains("profile openid", "openid"));
  EXPECT_TRUE(scope_contains("openid", "openid"));
  EXPECT_FALSE(scope_contains("openidx profile", "openid"));
  EXPECT_FALSE(scope_contains("", "openid"));
  EXPECT_FALSE(scope_contains("api.read", "openid"));
}

AuthorizationRequest sample_request() {
  AuthorizationRequest r;
  r.endpoint = "https://as.example/authorize";
  r.client_id = "my app";
  r.redirect_uri = "http://127.0.0.1:4711/callback";
  r.scope = "openid offline_access";
  r.state = Secret(std::string_view("st&te"));
  r.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  r.nonce = Secret(std::string_view("n0nce"));
  return r;
}

TEST(AuthorizationUrl, CarriesEveryParameterOfACodeRequestWithPkce) {
  auto url = build_authorization_url(sample_request());
  ASSERT_TRUE(url);
  EXPECT_EQ(url->rfind("https://as.example/authorize?", 0), 0u) << *url;
  auto q = query_of(*url);
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["client_id"], "my app");
  EXPECT_EQ(q["redirect_uri"], "http://127.0.0.1:4711/callback");
  EXPECT_EQ(q["scope"], "openid offline_access");
  EXPECT_EQ(q["state"], "st&te");
  EXPECT_EQ(q["code_challenge"], "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  EXPECT_EQ(q["code_challenge_method"], "S256");
  EXPECT_EQ(q["nonce"], "n0nce");
  EXPECT_EQ(q.size(), 8u);
}

TEST(AuthorizationUrl, OmitsNonceAndScopeWhenEmptyAndKeepsEndpointQuery) {
  auto r = sample_request();
  r.endpoint = "https://as.example/authorize?tenant=a";
  r.nonce = Secret();
  r.scope.clear();
  r.extra = {{"prompt", "login"}};
  auto url = build_authorization_url(r);
  ASSERT_TRUE(url);
  auto q = query_of(*url);
  EXPECT_EQ(q["tenant"], "a");
  EXPECT_EQ(q["prompt"], "login");
  EXPECT_EQ(q.count("nonce"), 0u);
  EXPECT_EQ(q.count("scope"), 0u);
}

TEST(AuthorizationUrl, RefusesExtraParametersThatOverrideTheFlow) {
  for (const char* name :
       {"state", "redirect_uri", "code_challenge_method", "nonce", "client_id"}) {
    auto r = sample_request();
    r.extra = {{name, "evil"}};
    auto url = build_authorization_url(r);
    ASSERT_FALSE(url) << name;
    EXPECT_EQ(url.error().code(), ErrorCode::config);
  }
  auto r = sample_request();
  r.endpoint.clear();
  EXPECT_FALSE(build_authorization_url(r));
}

TEST(AuthorizationUrl, RefusesPlainHttpEndpointOffLoopback) {
  auto r = sample_request();
  r.endpoint = "http://as.example/authorize";
  auto url = build_authorization_url(r);
  ASSERT_FALSE(url);
  EXPECT_EQ(url.error().code(), ErrorCode::config);
  r.endpoint = "http://127.0.0.1:8080/authorize";
  EXPECT_TRUE(build_authorization_url(r));
}

}  // namespace
}  // namespace freshtoken::detail
