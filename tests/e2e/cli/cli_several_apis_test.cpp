// freshtoken-cli end to end with two APIs (#22): `token --resource`, `get --resource` against the
// mock's second API (/files, on a port of its own), a resource the server does not know, and an
// API that wants more scope. The mock accepts a token at an API only when it was minted for
// that API's resource.
#include <gmock/gmock.h>

#include <string>

#include "cli_fixture.hpp"

namespace freshtoken::e2e {
namespace {

using ::testing::HasSubstr;

class CliSeveralApisTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    const auto resources = server_->get("/mock/resources");
    ASSERT_EQ(resources.size(), 2u) << resources.dump();
    api_ = resources[0].at("resource").get<std::string>();
    files_ = resources[1].at("resource").get<std::string>();
  }
  long resource_counter(const std::string& resource, const std::string& counter) const {
    return server_->stats()["resources"][resource].value(counter, -1L);
  }

  std::string api_;
  std::string files_;
};

TEST_F(CliSeveralApisTest, TokenWithAResourcePrintsATokenOnlyThatApiAccepts) {
  sign_in();
  const auto files = cli({"token", "--resource", files_});
  ASSERT_EQ(files.exit_code, 0) << files.err;
  ASSERT_FALSE(files.out.empty());
  const std::string files_token = files.out.substr(0, files.out.find('\n'));
  const auto plain = cli({"token"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const std::string default_token = plain.out.substr(0, plain.out.find('\n'));
  // (Tokens are compared without printing them: test output carries none.)
  EXPECT_TRUE(files_token != default_token) << "a token per API";
  EXPECT_EQ(resource_counter(files_, "refresh_requests"), 1) << "had by refresh";

  // The files token at /api, and the default token at /files, are refused.
  EXPECT_EQ(server_->call_api("/api/me", files_token), 401);
  EXPECT_EQ(server_->call_api("/api/me", default_token), 200);

  // A second process finds the files token in the store: no new refresh.
  const auto again = cli({"token", "--resource", files_});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(again.out.substr(0, again.out.find('\n')) == files_token) << "the stored token";
  EXPECT_EQ(resource_counter(files_, "refresh_requests"), 1);
  EXPECT_EQ(files.err.find(files_token), std::string::npos) << "a token on stderr";
}

TEST_F(CliSeveralApisTest, GetWithTheResourceReachesTheSecondApiAndWithoutItIsRefused) {
  sign_in();
  const auto with = cli({"get", files_ + "/me", "--resource", files_});
  ASSERT_EQ(with.exit_code, 0) << with.err;
  EXPECT_THAT(with.out, HasSubstr("\"sub\":\"alice\""));
  EXPECT_THAT(with.out, HasSubstr(files_));

  // Without --resource the default token goes to /files, whose audience check refuses it.
  const auto without = cli({"get", files_ + "/me"});
  EXPECT_EQ(without.exit_code, 1) << without.err;
  // (Refused again after the 401's refresh and retry: the new default token is no better.)
  EXPECT_GE(resource_counter(files_, "api_401"), 1);

  // status lists the second API's token (no secret: its resource and expiry).
  const auto status = cli({"status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("API token:      " + files_));

  // --scope after the command is the token's: a narrower token for /api still works there.
  const auto narrowed = cli({"get", "/api/me", "--resource", api_, "--scope", "api"});
  ASSERT_EQ(narrowed.exit_code, 0) << narrowed.err;
  EXPECT_THAT(narrowed.out, HasSubstr("\"scope\":\"api\""));
}

TEST_F(CliSeveralApisTest, AnUnknownResourceExitsTwo) {
  sign_in();
  const auto token = cli({"token", "--resource", "https://unknown.example/"});
  EXPECT_EQ(token.exit_code, 2) << token.err;
  EXPECT_THAT(token.err, HasSubstr("invalid_target"));
  const auto get = cli({"get", files_ + "/me", "--resource", "https://unknown.example/"});
  EXPECT_EQ(get.exit_code, 2) << get.err;
  // Nothing was erased: the sign-in still serves.
  EXPECT_EQ(cli({"get", "/api/me"}).exit_code, 0);
}

TEST_F(CliSeveralApisTest, InsufficientScopeExitsThreeNamingTheScopeAndTheLoginThatAsksForIt) {
  sign_in();
  const auto admin = cli({"get", "/api/admin", "--resource", api_});
  EXPECT_EQ(admin.exit_code, 3) << admin.err;
  EXPECT_THAT(admin.err, HasSubstr("\"admin\""));
  EXPECT_THAT(admin.err, HasSubstr("freshtoken-cli login --scope \"openid profile api admin\""));
}

}  // namespace
}  // namespace freshtoken::e2e
