#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "fake_transport.hpp"
#include "freshtoken/sign_in.hpp"
#include "sign_in/jwt.hpp"
#include "test_keys.hpp"
#include "util/encoding.hpp"

namespace freshtoken {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;
using testing::ec_key;
using testing::FakeTransport;
using testing::jwks_of;
using testing::rsa_key;
using testing::rsa_key_2;
using testing::TestKey;

constexpr const char* kIssuer = "https://issuer.example";
constexpr const char* kJwksUri = "https://issuer.example/jwks";
constexpr const char* kClient = "client-1";
const auto kNow = std::chrono::system_clock::time_point(seconds(1'700'000'000));

long long epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<seconds>(t.time_since_epoch()).count();
}

class IdTokenTest : public ::testing::Test {
 protected:
  IdTokenTest() {
    transport_->set_handler([this](const Request& request) -> Result<Response> {
      if (request.url != kJwksUri) return Error(ErrorCode::network, "unexpected URL");
      return testing::json_response(200, jwks_.dump());
    });
  }

  json claims() const {
    return {{"iss", kIssuer},           {"sub", "alice"},          {"aud", kClient},
            {"exp", epoch(kNow) + 300}, {"iat", epoch(kNow) - 10}, {"nonce", "nonce-123"}};
  }

  Result<IdTokenClaims> verify(const std::string& token, std::optional<Secret> nonce = Secret(
                                                             std::string_view("nonce-123"))) {
    return verifier_.verify(Secret(std::string_view(token)), nonce);
  }

  // The claims with `claim` set to `value`, signed, are refused for that claim.
  void expect_refused_with(const std::string& claim, const json& value) {
    auto c = claims();
    c[claim] = value;
    expect_refused(rsa_key().sign(c), claim);
  }
  void expect_refused(const std::string& token, const std::string& message_part) {
    auto result = verify(token);
    ASSERT_FALSE(result) << "accepted a token that should fail: " << message_part;
    EXPECT_EQ(result.error().code(), ErrorCode::invalid_response);
    EXPECT_NE(result.error().message().find(message_part), std::string::npos)
        << result.error().message();
    // Never the token (nor its signature) in the message.
    auto dot = token.rfind('.');
    if (dot != std::string::npos && token.size() - dot > 8) {
      EXPECT_EQ(result.error().message().find(token.substr(dot + 1)), std::string::npos);
    }
  }

  json jwks_ = jwks_of({&rsa_key(), &ec_key()});
  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  IdTokenVerifier verifier_{transport_, kJwksUri, kIssuer, kClient, clock_, seconds(60)};
};

TEST_F(IdTokenTest, ValidRs256TokenVerifiesAndReturnsItsClaims) {
  auto result = verify(rsa_key().sign(claims()));
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->subject, "alice");
  EXPECT_EQ(result->issuer, kIssuer);
  ASSERT_EQ(result->audience.size(), 1u);
  EXPECT_EQ(result->audience[0], kClient);
  EXPECT_EQ(epoch(result->expires_at), epoch(kNow) + 300);
  EXPECT_EQ(json::parse(result->json)["sub"], "alice");
  EXPECT_EQ(transport_->request_count(), 1u);
}

TEST_F(IdTokenTest, ValidEs256TokenVerifies) {
  auto result = verify(ec_key().sign(claims()));
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->subject, "alice");
}

TEST_F(IdTokenTest, JwksIsFetchedOnceForManyTokens) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(verify(rsa_key().sign(claims())));
  ASSERT_TRUE(verify(ec_key().sign(claims())));
  EXPECT_EQ(transport_->request_count(), 1u);
}

TEST_F(IdTokenTest, TamperedRs256SignatureIsRefused) {
  std::string token = rsa_key().sign(claims());
  char& last = token[token.size() - 5];
  last = last == 'A' ? 'B' : 'A';
  expect_refused(token, "signature");
}

TEST_F(IdTokenTest, TamperedEs256SignatureIsRefused) {
  std::string token = ec_key().sign(claims());
  char& c = token[token.rfind('.') + 3];
  c = c == 'A' ? 'B' : 'A';
  expect_refused(token, "signature");
}

TEST_F(IdTokenTest, SwappedPayloadIsRefused) {
  std::string token = rsa_key().sign(claims());
  auto evil = claims();
  evil["sub"] = "mallory";
  std::string forged_payload = util::base64url_encode(evil.dump());
  auto dot1 = token.find('.');
  auto dot2 = token.rfind('.');
  token = token.substr(0, dot1 + 1) + forged_payload + token.substr(dot2);
  expect_refused(token, "signature");
}

TEST_F(IdTokenTest, SignatureByAnotherKeyWithTheSameKidIsRefused) {
  TestKey impostor("RS256", rsa_key().kid());
  expect_refused(impostor.sign(claims()), "signature");
}

TEST_F(IdTokenTest, Es256SignatureInDerFormIsRefused) {
  json h = {{"alg", "ES256"}, {"kid", ec_key().kid()}};
  std::string input =
      util::base64url_encode(h.dump()) + "." + util::base64url_encode(claims().dump());
  expect_refused(input + "." + util::base64url_encode(ec_key().der_signature(input)), "64 bytes");
}

TEST_F(IdTokenTest, WrongAudienceIsRefused) { expect_refused_with("aud", "another-client"); }

TEST_F(IdTokenTest, AudienceListMustContainClientAndNameItAsAzp) {
  auto c = claims();
  c["aud"] = json::array({"another-client", kClient});
  expect_refused(rsa_key().sign(c), "azp");
  c["azp"] = "another-client";
  expect_refused(rsa_key().sign(c), "azp");
  c["azp"] = kClient;
  EXPECT_TRUE(verify(rsa_key().sign(c)));
}

TEST_F(IdTokenTest, WrongIssuerIsRefused) { expect_refused_with("iss", "https://evil.example"); }

TEST_F(IdTokenTest, WrongOrMissingNonceIsRefused) {
  auto c = claims();
  c["nonce"] = "nonce-456";
  expect_refused(rsa_key().sign(c), "nonce");
  c.erase("nonce");
  expect_refused(rsa_key().sign(c), "nonce");
}

TEST_F(IdTokenTest, NonceIsNotRequiredWhenNoneWasSent) {
  auto c = claims();
  c.erase("nonce");
  EXPECT_TRUE(verify(rsa_key().sign(c), std::nullopt));
}

TEST_F(IdTokenTest, ExpiredTokenIsRefusedOutsideTheLeewayOnly) {
  std::string token = rsa_key().sign(claims());
  clock_->advance(seconds(300 + 59));
  EXPECT_TRUE(verify(token)) << "within the 60 s leeway";
  clock_->advance(seconds(1));
  expect_refused(token, "expired");
}

TEST_F(IdTokenTest, TokenIssuedInTheFutureIsRefused) {
  auto c = claims();
  c["iat"] = epoch(kNow) + 120;
  expect_refused(rsa_key().sign(c), "iat");
  c["iat"] = epoch(kNow) + 30;  // clock skew within the leeway
  EXPECT_TRUE(verify(rsa_key().sign(c)));
}

TEST_F(IdTokenTest, TokenNotYetValidIsRefusedOutsideTheLeewayOnly) {
  auto c = claims();
  c["nbf"] = epoch(kNow) + 61;
  expect_refused(rsa_key().sign(c), "nbf");
  c["nbf"] = epoch(kNow) + 60;  // clock skew within the leeway
  EXPECT_TRUE(verify(rsa_key().sign(c)));
  c["nbf"] = epoch(kNow) - 10;
  EXPECT_TRUE(verify(rsa_key().sign(c)));
}

TEST_F(IdTokenTest, MalformedNbfIsRefused) { expect_refused_with("nbf", "soon"); }

TEST_F(IdTokenTest, MissingRequiredClaimsAreRefused) {
  for (const char* name : {"sub", "exp", "iat", "aud", "iss"}) {
    auto c = claims();
    c.erase(name);
    expect_refused(rsa_key().sign(c), name);
  }
  expect_refused_with("exp", "tomorrow");
}

TEST_F(IdTokenTest, UnknownKidRefetchesTheJwksOnceThenFails) {
  ASSERT_TRUE(verify(rsa_key().sign(claims())));
  ASSERT_EQ(transport_->request_count(), 1u);
  expect_refused(rsa_key_2().sign(claims()), "kid");
  EXPECT_EQ(transport_->request_count(), 2u);
}

TEST_F(IdTokenTest, UnknownKidOnFirstUseFetchesOnlyOnce) {
  expect_refused(rsa_key_2().sign(claims()), "kid");
  EXPECT_EQ(transport_->request_count(), 1u);
}

TEST_F(IdTokenTest, RotatedKeyIsFoundByRefetchingTheJwks) {
  ASSERT_TRUE(verify(rsa_key().sign(claims())));
  jwks_ = jwks_of({&rsa_key_2()});  // the server rotated its signing key
  auto rotated = verify(rsa_key_2().sign(claims()));
  ASSERT_TRUE(rotated) << rotated.error().to_string();
  EXPECT_EQ(transport_->request_count(), 2u);
  EXPECT_TRUE(verify(rsa_key_2().sign(claims())));
  EXPECT_EQ(transport_->request_count(), 2u) << "the new JWKS is cached";
  expect_refused(rsa_key().sign(claims()), "kid");  // the old key is gone
}

TEST_F(IdTokenTest, TokenWithoutKidUsesTheOnlyKeyOfItsType) {
  EXPECT_TRUE(verify(ec_key().sign(claims(), json::object(), /*with_kid=*/false)));
  EXPECT_TRUE(verify(rsa_key().sign(claims(), json::object(), /*with_kid=*/false)));
}

TEST_F(IdTokenTest, TokenWithoutKidIsRefusedWhenSeveralKeysCouldFit) {
  jwks_ = jwks_of({&rsa_key(), &rsa_key_2()});
  expect_refused(rsa_key().sign(claims(), json::object(), /*with_kid=*/false), "kid");
}

TEST_F(IdTokenTest, AlgNoneIsRefusedWithoutFetchingKeys) {
  json header = {{"alg", "none"}};
  std::string token =
      util::base64url_encode(header.dump()) + "." + util::base64url_encode(claims().dump()) + ".";
  expect_refused(token, "none");
  expect_refused(token + "c2ln", "none");
  EXPECT_EQ(transport_->request_count(), 0u);
}

TEST_F(IdTokenTest, Hs256IsRefusedEvenWithThePublicKeyAsSecret) {
  // The classic key-confusion attack: HMAC keyed with the server's public RSA modulus.
  std::string modulus = rsa_key().jwk()["n"];
  expect_refused(testing::hs256_jws(claims(), modulus, rsa_key().kid()), "symmetric");
  EXPECT_EQ(transport_->request_count(), 0u);
}

TEST_F(IdTokenTest, OtherAlgorithmsAreRefused) {
  for (const char* alg : {"RS512", "PS256", "ES384", "EdDSA", "rs256", ""}) {
    expect_refused(rsa_key().sign(claims(), {{"alg", alg}}), "alg");
  }
  expect_refused(rsa_key().sign(claims(), {{"alg", 256}}), "alg");
}

TEST_F(IdTokenTest, CriticalHeaderIsRefused) {
  expect_refused(rsa_key().sign(claims(), {{"crit", json::array({"exp"})}}), "critical");
}

TEST_F(IdTokenTest, MalformedJwsStringsAreRefusedCleanly) {
  std::string good = rsa_key().sign(claims());
  std::string h = good.substr(0, good.find('.'));
  std::string p = util::base64url_encode(claims().dump());
  std::vector<std::string> bad = {
      "",
      "abc",
      "a.b",
      "a.b.c.d",
      "..",
      "!!!." + p + ".c2ln",
      h + ".!!!.c2ln",
      h + "." + p + ".c2ln=",
      util::base64url_encode("not json") + "." + p + ".c2ln",
      util::base64url_encode("[1,2]") + "." + p + ".c2ln",
      util::base64url_encode("{}") + "." + p + ".c2ln",
      h + "." + util::base64url_encode("\"a string\"") + ".c2ln",
      h + "." + util::base64url_encode("{\"sub\":") + ".c2ln",
      h + "." + p + ".",
      std::string(70 * 1024, 'a') + "." + p + ".c2ln",
      util::base64url_encode("{\"alg\":\"RS256\",\"kid\":7}") + "." + p + ".c2ln",
  };
  for (const auto& token : bad) {
    auto result = verify(token);
    ASSERT_FALSE(result) << token.substr(0, 40);
    EXPECT_EQ(result.error().code(), ErrorCode::invalid_response) << token.substr(0, 40);
  }
}

TEST_F(IdTokenTest, ShortRsaKeysAreRefused) {
  TestKey weak("RS256", "weak", 1024);
  jwks_ = jwks_of({&weak});
  expect_refused(weak.sign(claims()), "2048");
}

TEST_F(IdTokenTest, JwksFetchFailuresAreReported) {
  transport_->enqueue(Error(ErrorCode::network, "connection refused"));
  auto result = verify(rsa_key().sign(claims()));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::network);
  transport_->enqueue(testing::json_response(503, "{}"));
  result = verify(rsa_key().sign(claims()));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().http_status(), 503);
  transport_->enqueue(testing::json_response(200, "<html>"));
  result = verify(rsa_key().sign(claims()));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::invalid_response);
  EXPECT_TRUE(verify(rsa_key().sign(claims()))) << "a later fetch succeeds";
}

TEST_F(IdTokenTest, MissingJwksUriIsAConfigError) {
  IdTokenVerifier verifier(transport_, "", kIssuer, kClient, clock_);
  auto result = verifier.verify(Secret(std::string_view(rsa_key().sign(claims()))));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::config);
}

TEST_F(IdTokenTest, PlainHttpJwksUriToARemoteHostIsRefusedBeforeAnyRequest) {
  for (const char* uri : {"http://issuer.example/jwks", "http://10.0.0.1/jwks", "ftp://x/jwks"}) {
    IdTokenVerifier verifier(transport_, uri, kIssuer, kClient, clock_);
    auto result = verifier.verify(Secret(std::string_view(rsa_key().sign(claims()))));
    ASSERT_FALSE(result) << uri;
    EXPECT_EQ(result.error().code(), ErrorCode::config) << uri;
    EXPECT_NE(result.error().message().find("jwks_uri"), std::string::npos)
        << result.error().message();
  }
  EXPECT_EQ(transport_->request_count(), 0u);
}

TEST_F(IdTokenTest, HandBuiltMetadataWithPlainHttpJwksUriIsRefused) {
  ServerMetadata metadata;
  metadata.issuer = kIssuer;
  metadata.token_endpoint = "https://issuer.example/token";
  metadata.jwks_uri = "http://issuer.example/jwks";
  AuthorizationServer server(transport_, metadata,
                             ClientConfig{kClient, Secret(), ClientAuth::none}, clock_);
  IdTokenVerifier verifier(server);
  auto result = verifier.verify(Secret(std::string_view(rsa_key().sign(claims()))));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::config);
  EXPECT_EQ(transport_->request_count(), 0u);
}

TEST_F(IdTokenTest, PlainHttpJwksUriToLoopbackIsAllowed) {
  transport_->set_handler([this](const Request&) -> Result<Response> {
    return testing::json_response(200, jwks_.dump());
  });
  IdTokenVerifier verifier(transport_, "http://127.0.0.1:8080/jwks", kIssuer, kClient, clock_);
  auto result = verifier.verify(Secret(std::string_view(rsa_key().sign(claims()))));
  EXPECT_TRUE(result) << result.error().to_string();
}

TEST(Jwks, SkipsKeysItCannotUseAndRefusesNonJwks) {
  json doc = jwks_of({&rsa_key(), &ec_key()});
  doc["keys"].push_back({{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "abc"}});
  doc["keys"].push_back({{"kty", "RSA"}, {"kid", "broken"}, {"n", "!!"}, {"e", "AQAB"}});
  doc["keys"].push_back("not an object");
  auto keys = detail::parse_jwks(doc.dump());
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->size(), 2u);
  for (const char* bad : {"", "[]", "{}", "{\"keys\": {}}", "null", "{\"keys\": [", "\xff\xfe"}) {
    EXPECT_FALSE(detail::parse_jwks(bad)) << bad;
  }
}

TEST(Jwks, EcKeyNotOnTheCurveIsRefused) {
  json jwk = ec_key().jwk();
  jwk["y"] = util::base64url_encode(std::string(32, '\x01'));
  auto keys = detail::parse_jwks(json{{"keys", json::array({jwk})}}.dump());
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 1u);
  auto jws = detail::parse_jws(ec_key().sign({{"sub", "x"}}));
  ASSERT_TRUE(jws);
  auto verified = detail::verify_jws_signature(*jws, (*keys)[0]);
  ASSERT_FALSE(verified);
  EXPECT_NE(verified.error().message().find("P-256"), std::string::npos);
}

}  // namespace
}  // namespace freshtoken
