// freshtoken-cli end to end: every command and exit code, the CLI and the mock server run as
// real processes, the session kept in a file store in the test's own directory.
#include <sys/stat.h>

#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>

#include "cli_fixture.hpp"
#include "freshtoken/secret.hpp"

namespace freshtoken::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string device_grant = "urn:ietf:params:oauth:grant-type:device_code";

// Reads the device flow's first stderr line, "To sign in, open URL and enter the code CODE".
std::string user_code_of(Child& login, const std::string& issuer) {
  const std::string err = login.read_until(2, "\n");
  std::smatch match;
  const std::regex line("^To sign in, open (\\S+) and enter the code ([A-Z0-9-]+)\n");
  if (!std::regex_search(err, match, line)) {
    ADD_FAILURE() << "no code line in: " << err;
    return {};
  }
  EXPECT_EQ(match[1].str(), issuer + "/device");
  return match[2].str();
}

TEST_F(CliTest, LoginWithTheBrowserFlowThenGetPrintsTheResponseBody) {
  const auto login = cli({"login", "--browser"});
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_THAT(login.err, HasSubstr("Signed in as alice"));
  EXPECT_EQ(grants(server_->stats(), "authorization_code"), 1);

  const auto me = cli({"get", "/api/me"});
  EXPECT_EQ(me.exit_code, 0) << me.err;
  EXPECT_THAT(me.out, HasSubstr("\"sub\":\"alice\""));
}

TEST_F(CliTest, LoginWithTheDeviceFlowSucceedsOnceTheCodeIsApproved) {
  start_server({"--device-interval", "1"});
  auto login = start_cli({"login", "--device"});
  const std::string code = user_code_of(*login, server_->issuer());
  ASSERT_FALSE(code.empty());
  server_->post("/mock/device/approve", {{"user_code", code}, {"user", "alice"}});
  const auto result = login->finish();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("Waiting for approval"));
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(grants(server_->stats(), device_grant), 1);
  EXPECT_EQ(cli({"get", "/api/me"}).exit_code, 0);
}

TEST_F(CliTest, DeniedDeviceLoginExitsThreeAndStoresNothing) {
  start_server({"--device-interval", "1"});
  auto login = start_cli({"login", "--device"});
  const std::string code = user_code_of(*login, server_->issuer());
  ASSERT_FALSE(code.empty());
  server_->post("/mock/device/deny", {{"user_code", code}});
  const auto result = login->finish();
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_EQ(stored().refresh_token, "");
  EXPECT_EQ(cli({"get", "/api/me"}).exit_code, 3);
}

TEST_F(CliTest, HttpErrorStatusesExitOneAndStillPrintTheBody) {
  sign_in();
  const auto missing = cli({"get", "/api/no-such-thing"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.out, HasSubstr("not_found"));
  EXPECT_THAT(missing.err, HasSubstr("HTTP 404"));

  const auto forbidden = cli({"get", "/api/admin"});  // scope admin was not asked for
  EXPECT_EQ(forbidden.exit_code, 1);
  EXPECT_THAT(forbidden.err, HasSubstr("HTTP 403"));
}

TEST_F(CliTest, RequestSendsTheBodyFromDataOrFromStdin) {
  sign_in();
  const auto posted = cli({"request", "POST", "/api/echo", "--data", R"({"n":1})"});
  EXPECT_EQ(posted.exit_code, 0) << posted.err;
  EXPECT_THAT(posted.out, HasSubstr(R"("method":"POST")"));
  EXPECT_THAT(posted.out, HasSubstr(R"("body":"{\"n\":1}")"));

  const auto put = cli({"request", "put", "/api/echo", "-H", "X-Trace: 42"}, "from stdin");
  EXPECT_EQ(put.exit_code, 0) << put.err;
  EXPECT_THAT(put.out, HasSubstr(R"("method":"PUT")"));
  EXPECT_THAT(put.out, HasSubstr(R"("body":"from stdin")"));
  EXPECT_THAT(put.out, HasSubstr(R"("x-trace":"42")"));
}

TEST_F(CliTest, TokenPrintsAWorkingAccessTokenAndNothingElse) {
  sign_in();
  const auto result = cli({"token"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_FALSE(result.out.empty());
  EXPECT_EQ(result.out.find('\n'), result.out.size() - 1) << "exactly one line";
  const std::string token = result.out.substr(0, result.out.size() - 1);
  EXPECT_EQ(token, stored().access_token);
  EXPECT_EQ(server_->call_api("/api/me", token), 200);
  EXPECT_THAT(result.err, Not(HasSubstr(token)));
}

TEST_F(CliTest, StatusNamesUserExpiryAndStoreButNeverAToken) {
  sign_in();
  const auto token = cli({"token"});
  ASSERT_EQ(token.exit_code, 0);
  const std::string access_token = token.out.substr(0, token.out.find('\n'));
  const std::string refresh_token = stored().refresh_token;
  ASSERT_FALSE(refresh_token.empty());

  const auto status = cli({"status", "-v"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("alice"));
  EXPECT_THAT(status.out, HasSubstr("expires"));
  EXPECT_THAT(status.out, HasSubstr(store_));
  for (const auto& text : {status.out, status.err}) {
    EXPECT_THAT(text, Not(HasSubstr(access_token)));
    EXPECT_THAT(text, Not(HasSubstr(refresh_token)));
  }
}

TEST_F(CliTest, LogoutRevokesAndErasesThenEveryCommandNeedsALogin) {
  sign_in();
  const auto before = server_->stats();
  const auto logout = cli({"logout"});
  EXPECT_EQ(logout.exit_code, 0) << logout.err;
  EXPECT_EQ(server_->stats()["revocations"], before["revocations"].get<int>() + 1);
  EXPECT_EQ(stored().refresh_token, "");

  EXPECT_EQ(cli({"get", "/api/me"}).exit_code, 3);
  EXPECT_EQ(cli({"token"}).exit_code, 3);
  EXPECT_EQ(cli({"status"}).exit_code, 3);
  EXPECT_EQ(cli({"logout"}).exit_code, 0) << "signing out twice is fine";
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

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(cli({}).exit_code, 2) << "no command";
  EXPECT_EQ(cli({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(cli({"get"}).exit_code, 2) << "no URL";
  EXPECT_EQ(cli({"login", "--device", "--browser"}).exit_code, 2);
  EXPECT_EQ(cli({"--store", "floppy", "status"}).exit_code, 2);
  EXPECT_EQ(cli({"--ca-file", "/no/such/file", "status"}).exit_code, 2);
  EXPECT_EQ(run({FRESHTOKEN_CLI, "status"}, {{{"FRESHTOKEN_ISSUER", ""}}}).exit_code, 2)
      << "no issuer";
  EXPECT_EQ(cli({"--scope", "bogus", "login", "--device"}).exit_code, 2) << "scope refused";
  EXPECT_EQ(cli({"--client-id", "nobody", "login", "--device"}).exit_code, 2);
  EXPECT_EQ(cli({"--help"}).exit_code, 0);
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
