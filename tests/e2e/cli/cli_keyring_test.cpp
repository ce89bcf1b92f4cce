// freshtoken-cli with its default store, libsecret, in the private gnome-keyring that
// scripts/with-keyring provides. Skipped anywhere else, so that a test never writes to a
// developer's own keyring.
#include <gmock/gmock.h>

#include <cstdlib>
#include <string>

#include "cli_fixture.hpp"

namespace freshtoken::e2e {
namespace {

using ::testing::HasSubstr;

class CliKeyringTest : public CliTest {
 protected:
  void SetUp() override {
    const char* private_keyring = std::getenv("FRESHTOKEN_PRIVATE_KEYRING");
    if (private_keyring == nullptr || std::string(private_keyring) != "1") {
      GTEST_SKIP() << "needs the private keyring of scripts/with-keyring";
    }
    CliTest::SetUp();
    store_ = "libsecret";
  }
};

TEST_F(CliKeyringTest, TheNextProcessResumesFromTheKeyringAndLogoutErasesIt) {
  sign_in();
  const auto before = server_->stats();

  const auto me = cli({"get", "/api/me"});
  EXPECT_EQ(me.exit_code, 0) << me.err;
  EXPECT_THAT(me.out, HasSubstr("\"sub\":\"alice\""));
  const auto status = cli({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("kept in libsecret"));
  const auto after = server_->stats();
  EXPECT_EQ(grants(after, "authorization_code"), grants(before, "authorization_code"));
  EXPECT_EQ(after["authorize_requests"], before["authorize_requests"]);

  EXPECT_EQ(cli({"logout"}).exit_code, 0);
  EXPECT_EQ(cli({"get", "/api/me"}).exit_code, 3);
  EXPECT_EQ(cli({"status"}).exit_code, 3);
}

TEST_F(CliKeyringTest, RotatedRefreshTokensAreSavedToTheKeyring) {
  sign_in();
  server_->post("/mock/revoke", {{"what", "access_tokens"}});
  EXPECT_EQ(cli({"get", "/api/me"}).exit_code, 0);  // refreshes and rotates
  EXPECT_EQ(cli({"get", "/api/me"}).exit_code, 0);  // uses what the first one saved
  const auto stats = server_->stats();
  EXPECT_EQ(grants(stats, "refresh_token"), 1);
  EXPECT_EQ(stats["refresh_reuse_detected"], 0);
}

}  // namespace
}  // namespace freshtoken::e2e
