// freshtoken-cli end to end, the session across processes: reuse without a new sign-in,
// refresh before expiry, the -v log (rotation visible, no token value), and the failure exit
// codes (server down: 4, loose file store: 5, TLS with and without --ca-file).
#include <sys/stat.h>

#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "cli_fixture.hpp"
#include "freshtoken/secret.hpp"

namespace freshtoken::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string device_grant = "urn:ietf:params:oauth:grant-type:device_code";

TEST_F(CliTest, ASecondProcessReusesTheStoredSessionWithoutSigningIn) {
  sign_in();
  const auto before = server_->stats();
  EXPECT_EQ(cli({"get", "/api/me"}).exit_code, 0);
  EXPECT_EQ(cli({"get", "/api/me"}).exit_code, 0);
  EXPECT_EQ(cli({"status"}).exit_code, 0);
  const auto after = server_->stats();
  EXPECT_EQ(grants(after, "authorization_code"), grants(before, "authorization_code"));
  EXPECT_EQ(grants(after, device_grant), 0);
  EXPECT_EQ(after["authorize_requests"], before["authorize_requests"]);
  EXPECT_EQ(after["api_requests"], before["api_requests"].get<int>() + 2);
}

TEST_F(CliTest, AnExpiredAccessTokenIsRefreshedBeforeTheCall) {
  start_server({"--auto-approve", "--access-token-ttl", "2"});
  sign_in();
  const std::string first = stored().refresh_token;
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // the real clock of two processes
  const auto me = cli({"get", "/api/me"});
  EXPECT_EQ(me.exit_code, 0) << me.err;
  const auto stats = server_->stats();
  EXPECT_GE(grants(stats, "refresh_token"), 1);
  EXPECT_EQ(stats["api_401"], 0);
  EXPECT_NE(stored().refresh_token, first) << "rotated and saved";
}

TEST_F(CliTest, VerboseOutputShowsTheRotationButNeverATokenValue) {
  sign_in();
  const StoredTokens old_tokens = stored();
  server_->post("/mock/revoke", {{"what", "access_tokens"}});

  const auto me = cli({"-v", "get", "/api/me"});
  EXPECT_EQ(me.exit_code, 0) << me.err;
  const StoredTokens new_tokens = stored();
  ASSERT_NE(new_tokens.refresh_token, old_tokens.refresh_token);
  EXPECT_EQ(server_->stats()["api_401"], 1) << "one transparent retry";
  EXPECT_THAT(me.err, HasSubstr("retrying once"));
  EXPECT_THAT(me.err, HasSubstr("rotated " + Secret(new_tokens.refresh_token).fingerprint()));
  for (const auto& secret : {old_tokens.access_token, old_tokens.refresh_token,
                             new_tokens.access_token, new_tokens.refresh_token}) {
    EXPECT_THAT(me.err, Not(HasSubstr(secret)));
    EXPECT_THAT(me.out, Not(HasSubstr(secret)));
  }
}

TEST_F(CliTest, AnUnreachableServerExitsFour) {
  sign_in();
  server_->stop();
  EXPECT_EQ(cli({"get", "/api/me"}).exit_code, 4);
  EXPECT_EQ(cli({"token"}).exit_code, 4);
  EXPECT_EQ(cli({"status"}).exit_code, 4);
  EXPECT_EQ(cli({"login", "--device"}).exit_code, 4);
  const auto logout = cli({"logout"});
  EXPECT_EQ(logout.exit_code, 4) << "erased locally, but not revoked";
  EXPECT_THAT(logout.err, HasSubstr("Signed out locally"));
  EXPECT_EQ(stored().refresh_token, "");
}

TEST_F(CliTest, AFileStoreOthersCanReadExitsFiveAndIsNotUsed) {
  sign_in();
  for (const auto& entry : std::filesystem::directory_iterator(store_dir())) {
    ASSERT_EQ(::chmod(entry.path().c_str(), 0644), 0);
  }
  const auto me = cli({"get", "/api/me"});
  EXPECT_EQ(me.exit_code, 5) << me.err;
  EXPECT_EQ(cli({"status"}).exit_code, 5);
  EXPECT_EQ(cli({"token"}).exit_code, 5);
  EXPECT_EQ(server_->stats()["api_requests"], 0);
}

TEST_F(CliTest, CaFileMakesAnHttpsServerWithATestCertificateTrusted) {
  const std::string openssl = "/usr/bin/openssl";
  if (!std::filesystem::exists(openssl)) GTEST_SKIP() << "needs the openssl program";
  const auto cert = (dir_.path() / "cert.pem").string();
  const auto key = (dir_.path() / "key.pem").string();
  const auto made =
      run({openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
           "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  start_server({"--auto-approve", "--tls-cert", cert, "--tls-key", key});
  ASSERT_EQ(server_->issuer().rfind("https://", 0), 0u);
  const auto browser = dir_.path() / "tls-browser";
  std::ofstream(browser) << "#!/bin/sh\nexec curl -sL --cacert '" << cert
                         << "' -o /dev/null \"$1\"\n";
  std::filesystem::permissions(browser, std::filesystem::perms::owner_all);
  const std::map<std::string, std::string> env{{"BROWSER", browser.string()}};

  const auto untrusted = cli({"login", "--browser"}, {}, env);
  EXPECT_EQ(untrusted.exit_code, 4);
  EXPECT_THAT(untrusted.err, HasSubstr("tls"));
  const auto login = cli({"--ca-file", cert, "login", "--browser"}, {}, env);
  ASSERT_EQ(login.exit_code, 0) << login.err;
  const auto me = cli({"--ca-file", cert, "get", "/api/me"});
  EXPECT_EQ(me.exit_code, 0) << me.err;
  EXPECT_THAT(me.out, HasSubstr("alice"));
}

}  // namespace
}  // namespace freshtoken::e2e
