// DPoP in the Session: the key travels with the record (and with adoption), every refresh and
// revocation is proved with the key its token came with, and a nonce resend is not a second
// use of the refresh token.
#include <gtest/gtest.h>

#include "dpop.hpp"
#include "dpop_proof_reader.hpp"
#include "session_test_support.hpp"

namespace freshtoken::testing {
namespace {

const char kAccount[] = "https://as.example|app|alice";

Response dpop_token_response(const std::string& access_token, const std::string& refresh_token) {
  return json_response(200, R"({"access_token":")" + access_token +
                                R"(","token_type":"DPoP","expires_in":100,"refresh_token":")" +
                                refresh_token + "\"}");
}

// The thumbprint of the key that signed `request`'s proof, checked to verify; "" without one.
std::string proof_thumbprint(const Request& request) {
  auto header = request.headers.get("DPoP");
  if (!header) return "";
  auto proof = read_dpop_proof(*header);
  if (!proof || !proof->signature_valid) return "(invalid proof)";
  const auto& jwk = proof->header["jwk"];
  const std::string canonical = R"({"crv":"P-256","kty":"EC","x":")" + jwk["x"].get<std::string>() +
                                R"(","y":")" + jwk["y"].get<std::string>() + "\"}";
  return util::base64url_encode(util::sha256(canonical));
}

class SessionDpopTest : public SessionTest {
 protected:
  SessionDpopTest() {
    ClientConfig client;
    client.client_id = "app";
    client.dpop = DpopMode::required;
    server_ = std::make_shared<AuthorizationServer>(transport_, metadata(), client, clock_);
  }

  TokenSet dpop_tokens(std::shared_ptr<const DpopKey> key, const std::string& access_token = "at-0",
                       const std::string& refresh_token = "rt-0") const {
    TokenSet t = tokens(100s, access_token, refresh_token);
    t.token_type = "DPoP";
    t.dpop_key = std::move(key);
    return t;
  }

  // Another process's record, DPoP-bound to `key`.
  void store_dpop_record(const std::string& access_token, const std::string& refresh_token,
                         Clock::time_point expires_at, std::shared_ptr<const DpopKey> key) {
    detail::StoredTokens t;
    t.access_token = Secret(access_token);
    t.refresh_token = Secret(refresh_token);
    t.token_type = "DPoP";
    t.issued_at = clock_->now();
    t.expires_at = expires_at;
    t.dpop_key = std::move(key);
    ASSERT_TRUE(store_->save("freshtoken", kAccount, detail::encode_stored_tokens(t)));
  }

  void serve_dpop_tokens() {
    transport_->set_handler([this](const Request& request) -> Result<Response> {
      if (request.url == "https://as.example/revoke") return json_response(200, "");
      const int n = ++issued_;
      return dpop_token_response("at-" + std::to_string(n), "rt-" + std::to_string(n));
    });
  }
};

TEST(StoredDpopKey, TheKeyRoundTripsWithTheRecordAndOldRecordsStillRead) {
  auto key = DpopKey::generate();
  detail::StoredTokens t;
  t.refresh_token = Secret(std::string_view("rt"));
  t.token_type = "DPoP";
  t.dpop_key = key;
  auto back = detail::decode_stored_tokens(detail::encode_stored_tokens(t));
  ASSERT_TRUE(back) << back.error().to_string();
  ASSERT_TRUE(back->dpop_key);
  EXPECT_EQ(back->dpop_key->thumbprint(), key->thumbprint());
  EXPECT_EQ(back->token_type, "DPoP");

  auto old = detail::decode_stored_tokens(
      Secret(std::string_view(R"({"v":1,"refresh_token":"rt","token_type":"Bearer"})")));
  ASSERT_TRUE(old) << old.error().to_string();
  EXPECT_FALSE(old->dpop_key);
}

TEST(StoredDpopKey, DpopTokensWithoutAUsableKeyAreAStorageError) {
  const char* documents[] = {
      R"({"v":1,"refresh_token":"secret-rt","token_type":"DPoP"})",
      R"({"v":1,"refresh_token":"secret-rt","token_type":"DPoP","dpop_key":"secret-rt"})",
      R"({"v":1,"refresh_token":"secret-rt","token_type":"DPoP","dpop_key":7})",
  };
  for (const char* document : documents) {
    auto decoded = detail::decode_stored_tokens(Secret(std::string_view(document)));
    ASSERT_FALSE(decoded) << document;
    EXPECT_EQ(decoded.error().code(), ErrorCode::storage);
    EXPECT_EQ(decoded.error().message().find("secret-rt"), std::string::npos);
  }
}

TEST_F(SessionDpopTest, RefreshIsProvedWithTheSignInKeyAndServesTheTokenWithIt) {
  serve_dpop_tokens();
  auto key = DpopKey::generate();
  auto session = make_session();
  ASSERT_TRUE(session->sign_in(dpop_tokens(key)));
  EXPECT_EQ(session->status()->dpop_thumbprint, key->thumbprint());
  clock_->advance(200s);
  auto served = session->access_token();
  ASSERT_TRUE(served) << served.error().to_string();
  EXPECT_EQ(served->token.reveal(), "at-1");
  EXPECT_EQ(served->dpop_key, key);
  ASSERT_EQ(token_requests(), 1u);
  EXPECT_EQ(proof_thumbprint(transport_->requests()[0]), key->thumbprint());
}

TEST_F(SessionDpopTest, ASecondProcessResumesWithTheStoredKey) {
  serve_dpop_tokens();
  auto key = DpopKey::generate();
  {
    auto first = make_session();
    ASSERT_TRUE(first->sign_in(dpop_tokens(key)));
  }
  auto second = make_session();  // another process, same store
  auto served = second->access_token();
  ASSERT_TRUE(served) << served.error().to_string();
  ASSERT_TRUE(served->dpop_key);
  EXPECT_EQ(served->dpop_key->thumbprint(), key->thumbprint());
  clock_->advance(200s);
  ASSERT_EQ(token_of(*second), "at-1");
  EXPECT_EQ(proof_thumbprint(transport_->requests().at(0)), key->thumbprint());
}

TEST_F(SessionDpopTest, AnAdoptedRefreshTokenIsProvedWithTheKeyItWasStoredWith) {
  serve_dpop_tokens();
  auto mine = DpopKey::generate();
  auto theirs = DpopKey::generate();
  auto session = make_session();
  ASSERT_TRUE(session->sign_in(dpop_tokens(mine)));
  clock_->advance(200s);
  // Another process signed in again (a new key) and its access token has expired too.
  store_dpop_record("at-other", "rt-other", clock_->now() - 1s, theirs);
  ASSERT_EQ(token_of(*session), "at-1");
  EXPECT_EQ(refresh_token_sent(0), "rt-other");
  EXPECT_EQ(proof_thumbprint(transport_->requests().at(0)), theirs->thumbprint());
  EXPECT_EQ(session->access_token()->dpop_key->thumbprint(), theirs->thumbprint());
}

TEST_F(SessionDpopTest, ABearerSessionGetsAKeyAtItsFirstRefreshOnceDpopIsOn) {
  serve_dpop_tokens();
  auto session = make_session();
  ASSERT_TRUE(session->sign_in(tokens(100s)));  // Bearer tokens, from before DPoP was on
  EXPECT_EQ(session->status()->dpop_thumbprint, "");
  clock_->advance(200s);
  auto served = session->access_token();
  ASSERT_TRUE(served) << served.error().to_string();
  ASSERT_TRUE(served->dpop_key);
  EXPECT_EQ(proof_thumbprint(transport_->requests().at(0)), served->dpop_key->thumbprint());
  auto stored = detail::decode_stored_tokens(*store_->load("freshtoken", kAccount));
  ASSERT_TRUE(stored);
  ASSERT_TRUE(stored->dpop_key);
  EXPECT_EQ(stored->dpop_key->thumbprint(), served->dpop_key->thumbprint());
}

TEST_F(SessionDpopTest, ANonceResendDoesNotSpendTheRefreshTokenTwiceNorEraseIt) {
  int calls = 0;
  transport_->set_handler([&calls](const Request&) -> Result<Response> {
    if (++calls == 1) {
      Headers headers;
      headers.set("DPoP-Nonce", "n-1");
      return json_response(400, R"({"error":"use_dpop_nonce"})", headers);
    }
    return dpop_token_response("at-1", "rt-1");
  });
  auto session = make_session();
  ASSERT_TRUE(session->sign_in(dpop_tokens(DpopKey::generate())));
  clock_->advance(200s);
  ASSERT_EQ(token_of(*session), "at-1");
  ASSERT_EQ(token_requests(), 2u);
  EXPECT_EQ(refresh_token_sent(0), "rt-0");
  EXPECT_EQ(refresh_token_sent(1), "rt-0");
  EXPECT_EQ(stored_refresh_token(), "rt-1");
  for (const auto& e : events_.events()) {
    EXPECT_NE(e.kind, SessionEventKind::login_required);
    EXPECT_NE(e.kind, SessionEventKind::refresh_failed);
  }
}

TEST_F(SessionDpopTest, SignOutRevokesWithAProofAndErasesTheKeyWithTheRecord) {
  serve_dpop_tokens();
  auto key = DpopKey::generate();
  auto session = make_session();
  ASSERT_TRUE(session->sign_in(dpop_tokens(key)));
  ASSERT_TRUE(session->sign_out());
  auto requests = transport_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].url, "https://as.example/revoke");
  EXPECT_EQ(proof_thumbprint(requests[0]), key->thumbprint());
  EXPECT_FALSE(store_->load("freshtoken", kAccount));
  EXPECT_EQ(session->status()->dpop_thumbprint, "");
}

}  // namespace
}  // namespace freshtoken::testing
