// The authorization server's answers are bounded far below the transport's own limit: a
// discovery document, JWKS, token, device or revocation answer larger than 1 MiB is an
// invalid_response however valid its content, and a token response refused so keeps the
// session's refresh token.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

#include "freshtoken/sign_in.hpp"
#include "mock_session_fixture.hpp"
#include "stored_tokens.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr std::size_t kLimit = 1024 * 1024;

// The fixture's transport keeps its default limit (64 MiB), far above the one pinned here.
class ServerResponseLimitTest : public testing::MockServerSessionTest {
 protected:
  // A well-formed answer of `endpoint`, grown past the limit by a field nobody reads: only
  // its size is wrong.
  void arm_oversized(mock::FaultEndpoint endpoint, json answer) {
    answer["x_padding"] = std::string(kLimit, 'p');
    mock::Fault fault;
    fault.endpoint = endpoint;
    fault.kind = mock::FaultKind::status;
    fault.status = 200;
    fault.body = answer.dump();
    server_->arm_fault(fault);
  }
  json fetch(const std::string& url) {
    Request request;
    request.url = url;
    auto response = transport_->send(request);
    EXPECT_TRUE(response && response->status == 200);
    return response ? json::parse(response->body) : json();
  }
  static void expect_too_large(const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::invalid_response) << error.to_string();
    EXPECT_NE(error.message().find("response body exceeds 1048576 bytes"), std::string::npos)
        << error.message();
    EXPECT_EQ(error.message().find("ppppp"), std::string::npos);  // never the body
  }
};

TEST_F(ServerResponseLimitTest, OversizedDiscoveryDocumentIsRefused) {
  arm_oversized(mock::FaultEndpoint::discovery,
                fetch(server_->issuer() + "/.well-known/openid-configuration"));
  auto discovered = AuthorizationServer::discover(transport_, server_->issuer(), client_, clock_);
  ASSERT_FALSE(discovered) << "an oversized discovery document was used";
  expect_too_large(discovered.error());
}

TEST_F(ServerResponseLimitTest, OversizedJwksIsRefused) {
  const auto issued = server_->issue_tokens("alice", "freshtoken-demo", "openid profile");
  ASSERT_FALSE(issued.id_token.empty());
  arm_oversized(mock::FaultEndpoint::jwks, fetch(as_->metadata()->jwks_uri));
  IdTokenVerifier verifier(transport_, as_->metadata()->jwks_uri, server_->issuer(),
                           "freshtoken-demo");
  auto claims = verifier.verify(Secret(issued.id_token));
  ASSERT_FALSE(claims) << "keys from an oversized JWKS were used";
  expect_too_large(claims.error());
}

TEST_F(ServerResponseLimitTest, OversizedRevocationAnswerIsRefused) {
  const auto issued = server_->issue_tokens("alice", "freshtoken-demo", "profile");
  arm_oversized(mock::FaultEndpoint::revoke, json::object());
  auto revoked = as_->revoke(Secret(issued.refresh_token), "refresh_token");
  ASSERT_FALSE(revoked) << "an oversized revocation answer was taken as success";
  expect_too_large(revoked.error());
}

TEST_F(ServerResponseLimitTest, OversizedDeviceAuthorizationIsRefused) {
  arm_oversized(mock::FaultEndpoint::device_authorization,
                {{"device_code", "dc"},
                 {"user_code", "ABCD-EFGH"},
                 {"verification_uri", server_->issuer() + "/device"},
                 {"expires_in", 600},
                 {"interval", 5}});
  auto started = as_->start_device_authorization("profile");
  ASSERT_FALSE(started) << "an oversized device authorization answer was used";
  expect_too_large(started.error());
}

TEST_F(ServerResponseLimitTest, OversizedTokenResponseFailsTheRefreshAndKeepsTheRefreshToken) {
  RefreshPolicy policy;
  policy.initial_backoff = 1ms;
  policy.max_backoff = 1ms;
  policy.max_retries = 0;
  policy.pause_after_failure = 0s;
  auto session = make_session(policy);
  const auto issued = server_->issue_tokens("alice", testing::kDemoClient, "profile");
  const std::string refresh_token = issued.refresh_token;
  TokenSet tokens;
  tokens.access_token = Secret(issued.access_token);
  tokens.refresh_token = Secret(refresh_token);
  tokens.issued_at = clock_->now();
  tokens.expires_at = clock_->now() + 1h;
  ASSERT_TRUE(session->sign_in(std::move(tokens)));

  // The refresh gets a valid token response, too large to be read.
  mock::Fault fault = testing::token_fault(mock::FaultKind::status);
  fault.status = 200;
  fault.body = json{{"access_token", "oversized-access-token"},
                    {"token_type", "Bearer"},
                    {"expires_in", 3600},
                    {"refresh_token", "oversized-refresh-token"},
                    {"x_padding", std::string(kLimit, 'p')}}
                   .dump();
  server_->arm_fault(fault);
  clock_->advance(2h);
  auto token = session->token();
  ASSERT_FALSE(token) << "a token from an oversized response was used";
  expect_too_large(token.error());
  EXPECT_TRUE(session->status()->signed_in);
  auto stored = store_->load(service_, account());
  ASSERT_TRUE(stored) << stored.error().to_string();
  auto decoded = detail::decode_stored_tokens(*stored);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_TRUE(decoded->refresh_token.reveal() == refresh_token);  // not printed: a secret

  // The refresh token kept still works.
  auto fresh = session->token();
  ASSERT_TRUE(fresh) << fresh.error().to_string();
  EXPECT_NE(fresh->reveal(), "oversized-access-token");
}

}  // namespace
}  // namespace freshtoken
