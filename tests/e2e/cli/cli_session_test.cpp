// freshtoken-cli end to end, the session across processes: reuse without a new sign-in,
// refresh before expiry and never one that the command does not need, the -v log (rotation
// visible, no token value), and the failure exit codes (server down: 4, loose file store: 5,
// TLS with and without --ca-file).
#include <sys/stat.h>

#include <gmock/gmock.h>

#include <chrono>
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

// Rewrites the stored session's times (the file store's JSON, real clock) as if its access
// token had been issued `age` ago and expires `left` from now; the server still accepts it.
void age_stored_access_token(const std::filesystem::path& store_dir, std::chrono::seconds age,
                             std::chrono::seconds left) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  int rewritten = 0;
  for (const auto& entry : std::filesystem::directory_iterator(store_dir)) {
    if (!entry.is_regular_file()) continue;
    nlohmann::json doc;
    {
      std::ifstream in(entry.path());
      doc = nlohmann::json::parse(in, nullptr, false);
    }
    if (!doc.is_object() || !doc.contains("access_token")) continue;
    doc["issued_at"] = now - static_cast<double>(age.count());
    doc["expires_at"] = now + static_cast<double>(left.count());
    std::ofstream(entry.path(), std::ios::trunc) << doc.dump();  // in place: stays 0600
    ++rewritten;
  }
  ASSERT_EQ(rewritten, 1);
}

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

TEST_F(CliTest, ATokenPastItsSoftPointIsUsedAndGetExitsWithoutStartingARefresh) {
  sign_in();
  // Lifetime 3600 s, 3300 s of it gone: past the soft point (80% ± 5%), outside the 30 s hard
  // margin. A background refresh would now meet a slow token endpoint, and the process would
  // either wait for it or, killed once its output is there, leave it unfinished.
  age_stored_access_token(store_dir(), std::chrono::seconds(3300), std::chrono::seconds(300));
  const std::string refresh_token = stored().refresh_token;
  server_->post("/mock/faults",
                {{"endpoint", "token"}, {"kind", "delay"}, {"delay_ms", 3000}, {"times", 1}});

  const auto me = cli({"get", "/api/me"});
  EXPECT_EQ(me.exit_code, 0) << me.err;
  EXPECT_THAT(me.out, HasSubstr("alice"));
  const auto stats = server_->stats();
  EXPECT_EQ(grants(stats, "refresh_token"), 0) << "get began a refresh it did not need";
  EXPECT_EQ(stats["faults_triggered"], 0);
  // Fingerprints, so that a failure prints no token.
  EXPECT_EQ(Secret(stored().refresh_token).fingerprint(), Secret(refresh_token).fingerprint());
}

TEST_F(CliTest, ATokenInsideItsHardMarginIsRefreshedAndSavedBeforeGetExits) {
  sign_in();
  age_stored_access_token(store_dir(), std::chrono::seconds(3590), std::chrono::seconds(10));
  const std::string refresh_token = stored().refresh_token;
  server_->post("/mock/faults",
                {{"endpoint", "token"}, {"kind", "delay"}, {"delay_ms", 300}, {"times", 1}});

  const auto me = cli({"get", "/api/me"});
  EXPECT_EQ(me.exit_code, 0) << me.err;
  EXPECT_EQ(grants(server_->stats(), "refresh_token"), 1);
  EXPECT_NE(Secret(stored().refresh_token).fingerprint(), Secret(refresh_token).fingerprint())
      << "rotated and saved";
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
  // The stored access token is still valid: handing it out needs no server.
  EXPECT_EQ(cli({"token"}).exit_code, 0);
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
