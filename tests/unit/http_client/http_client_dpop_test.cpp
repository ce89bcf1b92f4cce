// HttpClient with DPoP-bound tokens (RFC 9449 §7): `Authorization: DPoP` with a new proof per
// exchange (attempt and redirect hop), the resource server's nonce dance, and invalid_token in
// a DPoP challenge.
#include <gtest/gtest.h>

#include <string>

#include "dpop.hpp"
#include "dpop_proof_reader.hpp"
#include "fake_tokens.hpp"
#include "fake_transport.hpp"
#include "freshtoken/http_client.hpp"

namespace freshtoken::testing {
namespace {

// FakeTokens whose tokens are bound to one DPoP key.
class DpopTokens : public FakeTokens {
 public:
  Result<AccessToken> access_token() override {
    auto t = token();
    if (!t) return t.error();
    return AccessToken{std::move(*t), key};
  }
  std::shared_ptr<const DpopKey> key = DpopKey::generate();
};

Response dpop_challenge(const std::string& error, const std::string& nonce = {}) {
  Headers headers;
  headers.add("WWW-Authenticate", R"(DPoP algs="ES256", error=")" + error + "\"");
  if (!nonce.empty()) headers.set("DPoP-Nonce", nonce);
  return response(401, std::move(headers));
}

std::string ath_of(const std::string& token) { return util::base64url_encode(util::sha256(token)); }

struct HttpClientDpopTest : ::testing::Test {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  std::shared_ptr<DpopTokens> tokens = std::make_shared<DpopTokens>();
  HttpClient client{transport, tokens};

  Request sent(std::size_t i) const { return transport->requests().at(i); }
  DpopProof proof(std::size_t i) const {
    auto header = sent(i).headers.get("DPoP");
    EXPECT_TRUE(header) << "request " << i << " has no DPoP header";
    auto read = read_dpop_proof(header ? *header : "");
    EXPECT_TRUE(read);
    if (read) {
      EXPECT_TRUE(read->signature_valid);
    }
    return read ? *read : DpopProof{};
  }
};

TEST_F(HttpClientDpopTest, ABoundTokenGoesAsDpopWithAProofOfMethodUrlAndTokenHash) {
  transport->enqueue(response(200));
  ASSERT_TRUE(client.post("https://api.example/items?page=2#top", "{}"));
  EXPECT_EQ(sent(0).headers.get("Authorization"), "DPoP token-1");
  auto p = proof(0);
  EXPECT_EQ(p.claims["htm"], "POST");
  EXPECT_EQ(p.claims["htu"], "https://api.example/items");
  EXPECT_EQ(p.claims["ath"], ath_of("token-1"));
  EXPECT_EQ(p.header["jwk"]["x"], util::base64url_encode(tokens->key->state().key.x()));
  EXPECT_FALSE(p.claims.contains("nonce"));
}

TEST_F(HttpClientDpopTest, UseDpopNonceIsAnsweredByOneResendOfTheSameTokenWithTheNonce) {
  transport->enqueue(dpop_challenge("use_dpop_nonce", "rs-nonce-1"));
  transport->enqueue(response(200, {}, "ok"));
  auto result = client.get("https://api.example/me");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->body, "ok");
  ASSERT_EQ(transport->request_count(), 2u);
  EXPECT_EQ(sent(1).headers.get("Authorization"), "DPoP token-1");
  EXPECT_EQ(proof(1).claims["nonce"], "rs-nonce-1");
  EXPECT_NE(proof(0).claims["jti"], proof(1).claims["jti"]);
  EXPECT_TRUE(tokens->invalidated().empty()) << "a nonce retry is not a token rejection";

  // Remembered for the origin; a response carrying a new one replaces it.
  Headers rotated;
  rotated.set("DPoP-Nonce", "rs-nonce-2");
  transport->enqueue(response(200, rotated));
  transport->enqueue(response(200));
  ASSERT_TRUE(client.get("https://api.example/other"));
  ASSERT_TRUE(client.get("https://api.example/third"));
  EXPECT_EQ(proof(2).claims["nonce"], "rs-nonce-1");
  EXPECT_EQ(proof(3).claims["nonce"], "rs-nonce-2");
}

TEST_F(HttpClientDpopTest, UseDpopNonceTwiceIsReturnedAndAChallengeWithoutNonceIsNotRetried) {
  transport->enqueue(dpop_challenge("use_dpop_nonce", "n-1"));
  transport->enqueue(dpop_challenge("use_dpop_nonce", "n-2"));
  auto result = client.get("https://api.example/me");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_EQ(transport->request_count(), 2u);

  transport->enqueue(dpop_challenge("use_dpop_nonce"));
  result = client.get("https://api.example/me");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_EQ(transport->request_count(), 3u);
}

TEST_F(HttpClientDpopTest, InvalidTokenInADpopChallengeRefreshesAndRetriesOnce) {
  transport->enqueue(dpop_challenge("invalid_token"));
  transport->enqueue(response(200));
  auto result = client.get("https://api.example/me");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(tokens->invalidated(), std::vector<std::string>{"token-1"});
  EXPECT_EQ(sent(1).headers.get("Authorization"), "DPoP token-2");
  EXPECT_EQ(proof(1).claims["ath"], ath_of("token-2"));
}

TEST_F(HttpClientDpopTest, EveryRedirectHopGetsItsOwnProofAndNoneLeavesTheOrigin) {
  transport->enqueue(response(303, {{"Location", "/done?x=1"}}));
  transport->enqueue(response(302, {{"Location", "https://elsewhere.example/x"}}));
  transport->enqueue(response(200));
  ASSERT_TRUE(client.post("https://api.example/start", "{}"));
  ASSERT_EQ(transport->request_count(), 3u);
  EXPECT_EQ(proof(0).claims["htm"], "POST");
  EXPECT_EQ(proof(0).claims["htu"], "https://api.example/start");
  EXPECT_EQ(proof(1).claims["htm"], "GET");
  EXPECT_EQ(proof(1).claims["htu"], "https://api.example/done");
  EXPECT_NE(proof(0).claims["jti"], proof(1).claims["jti"]);
  EXPECT_FALSE(sent(2).headers.contains("DPoP"));
  EXPECT_FALSE(sent(2).headers.contains("Authorization"));
}

TEST_F(HttpClientDpopTest, ABearerTokenSourceSendsNoProof) {
  auto bearer_tokens = std::make_shared<FakeTokens>();
  HttpClient bearer_client(transport, bearer_tokens);
  transport->enqueue(response(200));
  ASSERT_TRUE(bearer_client.get("https://api.example/me"));
  EXPECT_EQ(sent(0).headers.get("Authorization"), "Bearer token-1");
  EXPECT_FALSE(sent(0).headers.contains("DPoP"));
}

}  // namespace
}  // namespace freshtoken::testing
