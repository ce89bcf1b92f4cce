// freshtoken-cli end to end, the commands: login (browser, device, denied), get, request, token,
// status, logout and usage errors. The CLI and the mock server run as real processes; the
// session is kept in a file store in the test's own directory.
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

// Reads the device flow's first stderr line, "To sign in, open URL and enter the code CODE".
// (No std::regex: GCC 12 warns inside it under -fsanitize=address, and warnings are errors.)
std::string user_code_of(Child& login, const std::string& issuer) {
  const std::string err = login.read_until(2, "\n");
  const std::string line = err.substr(0, err.find('\n'));
  const std::string prefix = "To sign in, open " + issuer + "/device and enter the code ";
  if (line.rfind(prefix, 0) != 0 || line.size() == prefix.size()) {
    ADD_FAILURE() << "no code line in: " << err;
    return {};
  }
  const std::string code = line.substr(prefix.size());
  EXPECT_EQ(code.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"), std::string::npos)
      << code;
  return code;
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

// A launch with a valid stored access token goes straight to the API: the authorization
// server hears nothing from it, not even discovery.
TEST_F(CliTest, GetWithAValidStoredTokenMakesNoRequestToTheAuthorizationServer) {
  sign_in();
  const nlohmann::json before = server_->stats()["endpoint_requests"];
  ASSERT_TRUE(before.is_object());

  const auto me = cli({"get", "/api/me"});
  ASSERT_EQ(me.exit_code, 0) << me.err;
  EXPECT_THAT(me.out, HasSubstr("\"sub\":\"alice\""));

  const nlohmann::json after = server_->stats()["endpoint_requests"];
  for (const auto& [endpoint, count] : after.items()) {
    const int made = count.get<int>() - before.value(endpoint, 0);
    EXPECT_EQ(made, endpoint == "api" ? 1 : 0) << endpoint;
  }
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

// True when `text` holds a byte a terminal could act on: a C0 control other than the line
// ends the CLI writes itself, DEL, or a C1 control in UTF-8 (U+0080-U+009F).
bool has_terminal_control(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return true;
    }
  }
  return false;
}

TEST_F(CliTest, ServerTextWithTerminalEscapesIsPrintedEscaped) {
  // A hostile server: escape sequences in the device code, the verification URL and the
  // error description (ESC, BEL, and U+009B, CSI on its own in a UTF-8 terminal).
  server_->post("/mock/faults",
                {{"endpoint", "device_authorization"},
                 {"kind", "status"},
                 {"status", 200},
                 {"body", R"({"device_code":"DC","user_code":"AB\u001b[2JCD",)"
                          R"("verification_uri":"https://evil.example/\u001b]0;owned\u0007",)"
                          R"("expires_in":30,"interval":1})"}});
  server_->post("/mock/faults", {{"endpoint", "token"},
                                 {"kind", "status"},
                                 {"status", 400},
                                 {"body", R"({"error":"invalid_grant",)"
                                          R"("error_description":"bad \u009b31mred\u001b[0m"})"}});
  const auto result = cli({"login", "--device"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_FALSE(has_terminal_control(result.err)) << ::testing::PrintToString(result.err);
  EXPECT_THAT(result.err, HasSubstr("open https://evil.example/\\x1b]0;owned\\x07 and enter "
                                    "the code AB\\x1b[2JCD"));
  // The SDK's error already has the C1 and C0 controls of the description replaced.
  EXPECT_THAT(result.err, HasSubstr("invalid_grant: bad ?31mred?[0m"));
}

TEST_F(CliTest, HttpErrorStatusesExitOneAndStillPrintTheBody) {
  sign_in();
  const auto missing = cli({"get", "/api/no-such-thing"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.out, HasSubstr("not_found"));
  EXPECT_THAT(missing.err, HasSubstr("HTTP 404"));
}

TEST_F(CliTest, AForbiddenInsufficientScopeExitsLoginRequiredNamingTheScope) {
  sign_in();
  // The SDK turns the API's 403 insufficient_scope into an error: a sign-in asking for the
  // scope (step-up) is what helps, so the exit code says "login required".
  const auto forbidden = cli({"get", "/api/admin"});  // scope admin was not asked for
  EXPECT_EQ(forbidden.exit_code, 3) << forbidden.err;
  EXPECT_THAT(forbidden.err, HasSubstr("insufficient_scope"));
  EXPECT_THAT(forbidden.err, HasSubstr("\"admin\""));
  EXPECT_THAT(forbidden.err, HasSubstr("HTTP 403"));
  EXPECT_THAT(forbidden.err, HasSubstr("login --scope"));
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

TEST_F(CliTest, DpopLoginBindsTheTokensStatusShowsTheKeyAndACopiedTokenIsRefused) {
  start_server({"--auto-approve", "--dpop", "required", "--dpop-nonce", "on"});
  const auto login = cli({"login", "--browser", "--dpop"});
  ASSERT_EQ(login.exit_code, 0) << login.err;
  const auto me = cli({"get", "/api/me"});
  EXPECT_EQ(me.exit_code, 0) << me.err;
  EXPECT_THAT(me.out, HasSubstr("alice"));

  const auto status = cli({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("DPoP key:       thumbprint "));
  const std::string access_token = stored().access_token;
  ASSERT_FALSE(access_token.empty());
  EXPECT_THAT(status.out, Not(HasSubstr(access_token)));
  // The token without the key: refused; the CLI, which has the key, goes on.
  EXPECT_EQ(server_->call_api("/api/me", access_token), 401);
  EXPECT_EQ(cli({"get", "/api/me"}).exit_code, 0);
  EXPECT_EQ(cli({"logout"}).exit_code, 0);
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

}  // namespace
}  // namespace freshtoken::e2e
