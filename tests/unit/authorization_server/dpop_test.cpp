// DPoP (RFC 9449) at the authorization server: proofs, token_type DPoP, the Bearer fallback,
// the nonce dance, dpop_jkt and the DPoP parts of WWW-Authenticate.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "dpop.hpp"
#include "dpop_proof_reader.hpp"
#include "oauth_parsing.hpp"
#include "sign_in/pkce.hpp"
#include "test_helpers.hpp"
#include "www_authenticate.hpp"

namespace freshtoken::testing {
namespace {

const std::string kDpopTokens =
    R"({"access_token":"at-1","token_type":"DPoP","expires_in":60,"refresh_token":"rt-1"})";
const std::string kBearerTokens =
    R"({"access_token":"at-1","token_type":"Bearer","expires_in":60,"refresh_token":"rt-1"})";

ClientConfig dpop_client(DpopMode mode) {
  ClientConfig c = public_client();
  c.dpop = mode;
  return c;
}

DpopProof proof_of(const Request& request) {
  auto header = request.headers.get("DPoP");
  EXPECT_TRUE(header.has_value()) << request.url << " has no DPoP header";
  auto proof = read_dpop_proof(header ? *header : "");
  EXPECT_TRUE(proof.has_value());
  return proof ? *proof : DpopProof{};
}

TEST(DpopProofTest, HeaderAndClaimsAreRfc9449sAndTheSignatureVerifies) {
  auto key = DpopKey::generate();
  const Secret token(std::string_view("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"));
  const auto now = Clock::time_point(std::chrono::seconds(1'700'000'123));
  auto text = detail::dpop_proof(*key, "GET", "https://rs.example/api/items?q=secret#frag", &token,
                                 "n-1", now);
  ASSERT_TRUE(text);
  auto proof = read_dpop_proof(*text);
  ASSERT_TRUE(proof);
  EXPECT_TRUE(proof->signature_valid);
  EXPECT_EQ(proof->header.size(), 3u);
  EXPECT_EQ(proof->header["typ"], "dpop+jwt");
  EXPECT_EQ(proof->header["alg"], "ES256");
  const auto& jwk = proof->header["jwk"];
  EXPECT_EQ(jwk.size(), 4u) << "public members only: " << jwk.dump();
  EXPECT_EQ(jwk["kty"], "EC");
  EXPECT_EQ(jwk["crv"], "P-256");
  EXPECT_FALSE(jwk.contains("d"));

  EXPECT_EQ(proof->claims["htm"], "GET");
  EXPECT_EQ(proof->claims["htu"], "https://rs.example/api/items");
  EXPECT_EQ(proof->claims["iat"], 1'700'000'123);
  EXPECT_EQ(proof->claims["nonce"], "n-1");
  // RFC 9449 §7.1's example access token and its ath.
  EXPECT_EQ(proof->claims["ath"], "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
  EXPECT_GE(proof->claims["jti"].get<std::string>().size(), 16u);
  EXPECT_EQ(proof->claims.size(), 6u) << proof->claims.dump();
}

TEST(DpopProofTest, TokenRequestProofsHaveNoAthOrNonceAndAFreshJtiEachTime) {
  auto key = DpopKey::generate();
  std::set<std::string> jtis;
  for (int i = 0; i < 5; ++i) {
    auto text = detail::dpop_proof(*key, "POST", "https://as.example/token", nullptr, "",
                                   Clock::time_point{});
    ASSERT_TRUE(text);
    auto proof = read_dpop_proof(*text);
    ASSERT_TRUE(proof);
    EXPECT_FALSE(proof->claims.contains("ath"));
    EXPECT_FALSE(proof->claims.contains("nonce"));
    jtis.insert(proof->claims["jti"].get<std::string>());
  }
  EXPECT_EQ(jtis.size(), 5u);
}

TEST(DpopProofTest, ClaimsStayValidJsonWhateverTheUrlAndNonceHold) {
  auto key = DpopKey::generate();
  auto text = detail::dpop_proof(*key, "GET", "https://rs.example/a\"b\\c\x01d?x", nullptr, "n\"1",
                                 Clock::time_point{});
  ASSERT_TRUE(text);
  auto proof = read_dpop_proof(*text);
  ASSERT_TRUE(proof);
  EXPECT_EQ(proof->claims["htu"], "https://rs.example/a\"b\\c\x01d");
  EXPECT_EQ(proof->claims["nonce"], "n\"1");
}

TEST(DpopKeyTest, ThumbprintIsRfc7638OverThePublicJwk) {
  auto key = DpopKey::generate();
  const std::string jwk = detail::dpop_public_jwk(key->state().key);
  EXPECT_EQ(jwk.rfind(R"({"crv":"P-256","kty":"EC","x":")", 0), 0u) << jwk;
  EXPECT_EQ(key->thumbprint(), util::base64url_encode(util::sha256(jwk)));
  EXPECT_EQ(key->thumbprint().size(), 43u);
  EXPECT_NE(DpopKey::generate()->thumbprint(), key->thumbprint());
}

TEST(DpopKeyTest, StorageFormRoundTripsAndRefusesGarbage) {
  auto key = DpopKey::generate();
  auto back = detail::decode_dpop_key(detail::encode_dpop_key(*key).reveal());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->thumbprint(), key->thumbprint());
  EXPECT_FALSE(detail::decode_dpop_key(""));
  EXPECT_FALSE(detail::decode_dpop_key("a.b"));
  EXPECT_FALSE(detail::decode_dpop_key("AAAA.AAAA.AAAA"));
}

TEST(DpopServerTest, RefreshWithAKeySendsAProofAndBindsTheDpopTokensToIt) {
  ServerFixture f;
  auto server = f.make(dpop_client(DpopMode::required));
  auto key = DpopKey::generate();
  f.transport->enqueue(json_response(200, kDpopTokens));
  auto tokens = server.refresh(Secret(std::string_view("rt-0")), "", key);
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  EXPECT_EQ(tokens->token_type, "DPoP");
  EXPECT_EQ(tokens->dpop_key, key);
  auto proof = proof_of(f.transport->requests().at(0));
  EXPECT_TRUE(proof.signature_valid);
  EXPECT_EQ(proof.claims["htm"], "POST");
  EXPECT_EQ(proof.claims["htu"], "https://as.example/token");
  // The server compares iat with its wall clock: the system clock, not the injected one.
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_LE(std::abs(proof.claims["iat"].get<long long>() - now), 5);
  EXPECT_FALSE(proof.claims.contains("ath"));
  EXPECT_EQ(proof.header["jwk"]["x"], util::base64url_encode(key->state().key.x()));
}

TEST(DpopServerTest, WithoutAKeyNoProofIsSentAndADpopTokenTypeIsRefused) {
  ServerFixture f;
  auto server = f.make();
  f.transport->enqueue(json_response(200, kDpopTokens));
  auto tokens = server.refresh(Secret(std::string_view("rt-0")));
  EXPECT_FALSE(f.transport->requests().at(0).headers.contains("DPoP"));
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::invalid_response);
}

TEST(DpopServerTest, BearerAnswerToADpopRequestIsAnErrorWhenDpopIsRequired) {
  ServerFixture f;
  auto server = f.make(dpop_client(DpopMode::required));
  f.transport->enqueue(json_response(200, kBearerTokens));
  auto tokens = server.refresh(Secret(std::string_view("rt-0")), "", DpopKey::generate());
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::invalid_response);
  EXPECT_NE(tokens.error().message().find("Bearer token to a DPoP request"), std::string::npos)
      << tokens.error().message();
}

TEST(DpopServerTest, BearerAnswerToADpopRequestFallsBackToBearerWhenSupported) {
  ServerFixture f;
  auto metadata = test_metadata();
  metadata.dpop_signing_alg_values_supported = {"ES256"};
  auto server = f.make(dpop_client(DpopMode::when_supported), metadata);
  f.transport->enqueue(json_response(200, kBearerTokens));
  auto tokens = server.refresh(Secret(std::string_view("rt-0")), "", DpopKey::generate());
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  EXPECT_EQ(tokens->token_type, "Bearer");
  EXPECT_FALSE(tokens->dpop_key);
}

TEST(DpopServerTest, WhenSupportedUsesDpopOnlyIfTheServerListsEs256) {
  ServerFixture f;
  auto metadata = test_metadata();
  EXPECT_FALSE(f.make(dpop_client(DpopMode::when_supported), metadata).uses_dpop());
  EXPECT_FALSE(f.make(dpop_client(DpopMode::when_supported), metadata).new_dpop_key());
  metadata.dpop_signing_alg_values_supported = {"RS256"};
  EXPECT_FALSE(f.make(dpop_client(DpopMode::when_supported), metadata).uses_dpop());
  metadata.dpop_signing_alg_values_supported = {"RS256", "ES256"};
  EXPECT_TRUE(f.make(dpop_client(DpopMode::when_supported), metadata).uses_dpop());
  EXPECT_FALSE(f.make(dpop_client(DpopMode::off), metadata).uses_dpop());
  EXPECT_TRUE(f.make(dpop_client(DpopMode::required), test_metadata()).uses_dpop());
  EXPECT_TRUE(f.make(dpop_client(DpopMode::required), test_metadata()).new_dpop_key());
}

TEST(DpopServerTest, UseDpopNonceIsAnsweredByOneResendWithTheNonceAndTheSameRefreshToken) {
  ServerFixture f;
  auto server = f.make(dpop_client(DpopMode::required));
  Headers nonce;
  nonce.set("DPoP-Nonce", "eyJ7S_zG.nonce-1");
  f.transport->enqueue(json_response(400, R"({"error":"use_dpop_nonce"})", nonce));
  f.transport->enqueue(json_response(200, kDpopTokens));
  auto tokens = server.refresh(Secret(std::string_view("rt-0")), "", DpopKey::generate());
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  auto requests = f.transport->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(form_of(requests[0])["refresh_token"], "rt-0");
  EXPECT_EQ(form_of(requests[1])["refresh_token"], "rt-0");
  auto first = proof_of(requests[0]);
  auto second = proof_of(requests[1]);
  EXPECT_FALSE(first.claims.contains("nonce"));
  EXPECT_EQ(second.claims["nonce"], "eyJ7S_zG.nonce-1");
  EXPECT_NE(first.claims["jti"], second.claims["jti"]);

  // Remembered for the server's next request.
  f.transport->enqueue(json_response(200, R"({})"));
  (void)server.revoke(Secret(std::string_view("rt-1")), "refresh_token", tokens->dpop_key);
  EXPECT_EQ(proof_of(f.transport->requests().at(2)).claims["nonce"], "eyJ7S_zG.nonce-1");
}

TEST(DpopServerTest, UseDpopNonceIsRetriedOnlyOnceAndNotWithoutANonce) {
  ServerFixture f;
  auto server = f.make(dpop_client(DpopMode::required));
  f.transport->enqueue(json_response(400, R"({"error":"use_dpop_nonce"})"));
  auto tokens = server.refresh(Secret(std::string_view("rt-0")), "", DpopKey::generate());
  ASSERT_FALSE(tokens);
  EXPECT_EQ(f.transport->request_count(), 1u);
  ASSERT_TRUE(tokens.error().oauth());
  EXPECT_EQ(tokens.error().oauth()->error, "use_dpop_nonce");

  Headers nonce;
  nonce.set("DPoP-Nonce", "n-2");
  f.transport->enqueue(json_response(400, R"({"error":"use_dpop_nonce"})", nonce));
  f.transport->enqueue(json_response(400, R"({"error":"use_dpop_nonce"})", nonce));
  f.transport->enqueue(json_response(200, kDpopTokens));
  tokens = server.refresh(Secret(std::string_view("rt-0")), "", DpopKey::generate());
  ASSERT_FALSE(tokens);
  EXPECT_EQ(f.transport->request_count(), 3u);
}

TEST(DpopServerTest, EveryGrantAndRevocationCarriesAProofForItsEndpoint) {
  ServerFixture f;
  auto server = f.make(dpop_client(DpopMode::required));
  auto key = DpopKey::generate();
  f.transport->set_handler([](const Request& request) -> Result<Response> {
    if (request.url == "https://as.example/revoke") return json_response(200, "");
    return json_response(200, kDpopTokens);
  });
  ASSERT_TRUE(server.exchange_code(Secret(std::string_view("code")), "http://127.0.0.1:1/cb",
                                   Secret(std::string_view("verifier")), key));
  ASSERT_TRUE(server.poll_device_token(Secret(std::string_view("dc")), key));
  ASSERT_TRUE(server.revoke(Secret(std::string_view("rt-1")), "refresh_token", key));
  auto confidential = f.make([] {
    auto c = confidential_client(ClientAuth::client_secret_basic, "svc", "s3cret");
    c.dpop = DpopMode::required;
    return c;
  }());
  auto cc = confidential.client_credentials();
  ASSERT_TRUE(cc);
  ASSERT_TRUE(cc->dpop_key);
  auto requests = f.transport->requests();
  ASSERT_EQ(requests.size(), 4u);
  const char* urls[] = {"https://as.example/token", "https://as.example/token",
                        "https://as.example/revoke", "https://as.example/token"};
  for (std::size_t i = 0; i < 4; ++i) {
    auto proof = proof_of(requests[i]);
    EXPECT_TRUE(proof.signature_valid) << i;
    EXPECT_EQ(proof.claims["htu"], urls[i]) << i;
    EXPECT_EQ(proof.claims["htm"], "POST") << i;
  }
  EXPECT_EQ(proof_of(requests[3]).header["jwk"]["x"],
            util::base64url_encode(cc->dpop_key->state().key.x()));
}

TEST(DpopServerTest, DiscoveryReadsDpopSigningAlgValuesSupported) {
  auto metadata = detail::parse_discovery_document(
      R"({"issuer":"https://as.example","token_endpoint":"https://as.example/token",)"
      R"("dpop_signing_alg_values_supported":["ES256","PS256"]})");
  ASSERT_TRUE(metadata);
  EXPECT_EQ(metadata->dpop_signing_alg_values_supported,
            (std::vector<std::string>{"ES256", "PS256"}));
  EXPECT_FALSE(detail::parse_discovery_document(
      R"({"issuer":"https://as.example","dpop_signing_alg_values_supported":"ES256"})"));
}

TEST(DpopServerTest, AuthorizationUrlCarriesDpopJktAndRefusesItAsAnExtraParameter) {
  detail::AuthorizationRequest request;
  request.endpoint = "https://as.example/authorize";
  request.client_id = "app";
  request.redirect_uri = "http://127.0.0.1:1/callback";
  request.state = Secret(std::string_view("st"));
  request.code_challenge = "cc";
  request.dpop_jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
  auto url = detail::build_authorization_url(request);
  ASSERT_TRUE(url);
  EXPECT_NE(url->find("&dpop_jkt=0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"), std::string::npos)
      << *url;
  request.extra = {{"dpop_jkt", "other"}};
  EXPECT_FALSE(detail::build_authorization_url(request));
}

TEST(DpopChallengeTest, ParsesTheDpopChallengeBesideABearerOne) {
  auto challenge = detail::find_dpop_challenge(
      {R"(Bearer realm="api", DPoP algs="ES256 PS256", error="use_dpop_nonce", )"
       R"(error_description="Resource server requires nonce in DPoP proof")"});
  ASSERT_TRUE(challenge);
  EXPECT_EQ(challenge->error, "use_dpop_nonce");
  EXPECT_EQ(challenge->algs, (std::vector<std::string>{"ES256", "PS256"}));
  EXPECT_EQ(challenge->error_description, "Resource server requires nonce in DPoP proof");
  EXPECT_FALSE(detail::find_dpop_challenge({R"(Bearer error="invalid_token")"}));
}

TEST(DpopChallengeTest, DpopNonceIsOneOrMoreNqchars) {
  EXPECT_EQ(detail::parse_dpop_nonce(" eyJ7S_zG.aBc!~ "), "eyJ7S_zG.aBc!~");
  EXPECT_FALSE(detail::parse_dpop_nonce(""));
  EXPECT_FALSE(detail::parse_dpop_nonce("a\"b"));
  EXPECT_FALSE(detail::parse_dpop_nonce("a\\b"));
  EXPECT_FALSE(detail::parse_dpop_nonce("a b"));
  EXPECT_FALSE(detail::parse_dpop_nonce(std::string(1025, 'a')));
  EXPECT_FALSE(detail::parse_dpop_nonce("caf\xc3\xa9"));
}

}  // namespace
}  // namespace freshtoken::testing
