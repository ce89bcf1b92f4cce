// The freshtoken-mock-server program: first stdout line is the issuer, SIGTERM stops it cleanly,
// and its flags reach the server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace {

// The program started with `flags`; its first stdout line, the issuer, is read.
struct Program {
  explicit Program(std::vector<std::string> flags) {
    int out[2];
    if (pipe(out) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addclose(&actions, out[1]);
    flags.insert(flags.begin(), FRESHTOKEN_MOCK_SERVER_PROGRAM);
    std::vector<char*> argv;
    for (auto& f : flags) argv.push_back(f.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = 0;
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    char c = 0;
    while (read(out[0], &c, 1) == 1 && c != '\n') issuer += c;
    close(out[0]);
  }
  ~Program() {
    if (pid > 0 && kill(pid, SIGTERM) == 0) waitpid(pid, nullptr, 0);
  }
  int port() const { return std::stoi(issuer.substr(issuer.rfind(':') + 1)); }
  // SIGTERM, then the exit status; -1 when it did not exit by itself.
  int stop() {
    if (pid <= 0 || kill(pid, SIGTERM) != 0) return -1;
    int status = 0;
    const pid_t waited = waitpid(pid, &status, 0);
    pid = 0;
    return waited > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  pid_t pid = 0;
  std::string issuer;
};

TEST(MockServerProgram, PrintsIssuerFirstAndStopsCleanlyOnSigterm) {
  Program program({"--port", "0", "--access-token-ttl", "120"});
  ASSERT_GT(program.pid, 0);
  const std::string& line = program.issuer;
  EXPECT_TRUE(std::regex_match(line, std::regex(R"(http://127\.0\.0\.1:[0-9]+)"))) << line;
  {
    httplib::Client client("127.0.0.1", program.port());
    auto res = client.Get("/.well-known/oauth-authorization-server");
    ASSERT_TRUE(res);
    EXPECT_EQ(nlohmann::json::parse(res->body)["issuer"], line);
    auto token = client.Post("/token",
                             "grant_type=client_credentials&client_id=freshtoken-service&"
                             "client_secret=service-secret",
                             "application/x-www-form-urlencoded");
    ASSERT_TRUE(token);
    EXPECT_EQ(nlohmann::json::parse(token->body)["expires_in"], 120);
  }
  EXPECT_EQ(program.stop(), 0);
}

TEST(MockServerProgram, ServesTheSecondApiOnTheFilesPortItWasGiven) {
  // A free port for --files-port: bind one, note it, let it go.
  int files_port = 0;
  {
    const int probe = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      files_port = ntohs(address.sin_port);
    }
    close(probe);
  }
  ASSERT_GT(files_port, 0);
  Program program({"--port", "0", "--files-port", std::to_string(files_port)});
  ASSERT_GT(program.pid, 0);
  EXPECT_TRUE(std::regex_match(program.issuer, std::regex(R"(http://127\.0\.0\.1:[0-9]+)")))
      << program.issuer;
  httplib::Client client("127.0.0.1", program.port());
  auto listed = client.Get("/mock/resources");
  ASSERT_TRUE(listed);
  const std::string files = "http://127.0.0.1:" + std::to_string(files_port) + "/files";
  const auto apis = nlohmann::json::parse(listed->body);
  ASSERT_EQ(apis.size(), 2u) << listed->body;
  EXPECT_EQ(apis[1]["base_url"], files);
  auto token = client.Post("/token",
                           "grant_type=client_credentials&client_id=freshtoken-service&"
                           "client_secret=service-secret&resource=" +
                               httplib::detail::encode_query_param(files),
                           "application/x-www-form-urlencoded");
  ASSERT_TRUE(token);
  ASSERT_EQ(token->status, 200) << token->body;
  httplib::Client api("127.0.0.1", files_port);
  auto me = api.Get(
      "/files/me",
      {{"Authorization",
        "Bearer " + nlohmann::json::parse(token->body)["access_token"].get<std::string>()}});
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 200) << me->body;
  EXPECT_EQ(nlohmann::json::parse(me->body)["resource"], files);
  EXPECT_EQ(program.stop(), 0);
}

TEST(MockServerProgram, RequireOfflineAccessFlagWithholdsRefreshTokensWithoutTheScope) {
  Program program({"--port", "0", "--require-offline-access"});
  ASSERT_GT(program.pid, 0);
  ASSERT_FALSE(program.issuer.empty());
  httplib::Client client("127.0.0.1", program.port());
  auto without = client.Post("/mock/tokens", R"({"scope": "openid api"})", "application/json");
  ASSERT_TRUE(without);
  ASSERT_EQ(without->status, 200) << without->body;
  EXPECT_FALSE(nlohmann::json::parse(without->body).contains("refresh_token"));
  auto with =
      client.Post("/mock/tokens", R"({"scope": "openid api offline_access"})", "application/json");
  ASSERT_TRUE(with);
  EXPECT_TRUE(nlohmann::json::parse(with->body).contains("refresh_token")) << with->body;
  EXPECT_EQ(program.stop(), 0);
}

TEST(MockServerProgram, DpopFlagsReachTheServer) {
  Program program({"--port", "0", "--dpop", "allowed", "--dpop-nonce", "on", "--dpop-client",
                   "freshtoken-service=required"});
  ASSERT_GT(program.pid, 0);
  ASSERT_FALSE(program.issuer.empty());
  httplib::Client client("127.0.0.1", program.port());
  auto discovery = client.Get("/.well-known/openid-configuration");
  ASSERT_TRUE(discovery);
  EXPECT_EQ(nlohmann::json::parse(discovery->body)
                .value("dpop_signing_alg_values_supported", nlohmann::json()),
            nlohmann::json::array({"ES256"}));
  // freshtoken-service must send a proof; the refusal carries the token endpoint's nonce.
  httplib::Headers basic = {
      {"Authorization", "Basic ZnJlc2h0b2tlbi1zZXJ2aWNlOnNlcnZpY2Utc2VjcmV0"}};
  auto token = client.Post("/token", basic, "grant_type=client_credentials",
                           "application/x-www-form-urlencoded");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->status, 400);
  EXPECT_EQ(nlohmann::json::parse(token->body).value("error", ""), "invalid_dpop_proof");
  EXPECT_FALSE(token->get_header_value("DPoP-Nonce").empty());
  EXPECT_EQ(program.stop(), 0);
}

TEST(MockServerProgram, RefusesABadDpopModeWithAUsageError) {
  for (const char* flags : {" --dpop sometimes", " --dpop-client freshtoken-demo",
                            " --dpop-client freshtoken-demo=maybe", " --dpop-nonce yes"}) {
    const std::string command =
        std::string(FRESHTOKEN_MOCK_SERVER_PROGRAM) + flags + " >/dev/null 2>&1";
    const int status = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(status)) << flags;
    // A usage error, not a crash (which the shell reports as 128 + the signal).
    EXPECT_NE(WEXITSTATUS(status), 0) << flags;
    EXPECT_LT(WEXITSTATUS(status), 128) << flags;
  }
}

TEST(MockServerProgram, RefusesABadFlag) {
  const std::string command =
      std::string(FRESHTOKEN_MOCK_SERVER_PROGRAM) + " --rotation sideways >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
}

}  // namespace
