// The freshtoken-mock-server program: first stdout line is the issuer, SIGTERM stops it cleanly.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace {

TEST(MockServerProgram, PrintsIssuerFirstAndStopsCleanlyOnSigterm) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addclose(&actions, out[1]);
  const char* program = FRESHTOKEN_MOCK_SERVER_PROGRAM;
  char* argv[] = {const_cast<char*>(program), const_cast<char*>("--port"),
                  const_cast<char*>("0"),     const_cast<char*>("--access-token-ttl"),
                  const_cast<char*>("120"),   nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, program, &actions, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);

  std::string line;
  char c = 0;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  EXPECT_TRUE(std::regex_match(line, std::regex(R"(http://127\.0\.0\.1:[0-9]+)"))) << line;

  const auto port = std::stoi(line.substr(line.rfind(':') + 1));
  {
    httplib::Client client("127.0.0.1", port);
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
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  close(out[0]);
}

TEST(MockServerProgram, RefusesABadFlag) {
  const std::string command =
      std::string(FRESHTOKEN_MOCK_SERVER_PROGRAM) + " --rotation sideways >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
}

}  // namespace
