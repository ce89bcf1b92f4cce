// No secret in the CLI's output: freshtoken-cli -v through login (browser), get (with a 401
// and a rotating refresh), token, status, a failing refresh, logout and a get after it, against
// the in-process mock server. Every token the store ever held, the code of the sign-in
// redirect and the token `token` printed are looked for in every stdout and stderr — except
// the stdout of `token`, the one place a token may appear.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "freshtoken/mock_server.hpp"

namespace freshtoken {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

class CliCanaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "freshtoken-cli-canary.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    // A headless browser that follows the redirects to the CLI's listener and writes down
    // where it ended (the redirect carrying the code).
    std::ofstream(dir_ / "browser") << "#!/bin/sh\nexec curl -sL -o /dev/null -w "
                                       "'%{url_effective}\\n' \"$1\" >> '"
                                    << (dir_ / "locations").string() << "'\n";
    fs::permissions(dir_ / "browser", fs::perms::owner_all);
    mock::MockServerOptions options;
    options.auto_approve = true;
    options.threads = 8;
    server_ = std::make_unique<mock::MockServer>(options);
    server_->start();
  }
  void TearDown() override {
    server_->stop();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  CliRun cli(const std::string& args) {
    const auto out = dir_ / "out", err = dir_ / "err";
    const std::string command = "BROWSER='" + (dir_ / "browser").string() + "' '" + FRESHTOKEN_CLI +
                                "' -v --issuer " + server_->issuer() +
                                " --store file:" + (dir_ / "store").string() + " " + args + " > '" +
                                out.string() + "' 2> '" + err.string() + "' < /dev/null";
    const int status = std::system(command.c_str());
    CliRun run;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = read_file(out);
    run.err = read_file(err);
    outputs_.push_back(args + " stderr: " + run.err);
    if (args != "token") outputs_.push_back(args + " stdout: " + run.out);
    collect_store();
    return run;
  }

  void canary(const std::string& value) {
    if (value.size() >= 8) canaries_.insert(value);
  }

  void collect_store() {
    std::error_code missing;
    for (const auto& entry : fs::directory_iterator(dir_ / "store", missing)) {
      const json doc = json::parse(read_file(entry.path()), nullptr, false);
      if (!doc.is_object()) continue;
      for (const char* name : {"access_token", "refresh_token", "id_token"}) {
        if (doc.contains(name) && doc[name].is_string()) canary(doc[name].get<std::string>());
      }
    }
  }

  fs::path dir_;
  std::unique_ptr<mock::MockServer> server_;
  std::vector<std::string> outputs_;
  std::set<std::string> canaries_;
};

TEST_F(CliCanaryTest, VerboseCliPrintsNoTokenExceptThroughTheTokenCommand) {
  CliRun login = cli("login --browser");
  ASSERT_EQ(login.exit_code, 0) << login.err;
  const std::string locations = read_file(dir_ / "locations");
  const auto code_at = locations.find("code=");
  ASSERT_NE(code_at, std::string::npos);
  canary(locations.substr(code_at + 5, locations.find_first_of("&\n", code_at) - code_at - 5));

  EXPECT_EQ(cli("get /api/me").exit_code, 0);
  server_->revoke_access_tokens();  // 401 -> refresh with rotation -> resend
  EXPECT_EQ(cli("get /api/echo").exit_code, 0);
  CliRun token = cli("token");
  ASSERT_EQ(token.exit_code, 0) << token.err;
  std::string printed = token.out.substr(0, token.out.find('\n'));
  canary(printed);
  EXPECT_EQ(canaries_.count(printed), 1u);
  EXPECT_EQ(cli("status").exit_code, 0);

  mock::Fault fault;
  fault.kind = mock::FaultKind::status;
  fault.status = 503;
  fault.times = 4;
  server_->arm_fault(fault);
  server_->revoke_access_tokens();
  EXPECT_EQ(cli("get /api/me").exit_code, 4);
  EXPECT_EQ(cli("logout").exit_code, 0);
  EXPECT_EQ(cli("get /api/me").exit_code, 3);

  // The scan means something only if there was a lot to find, and verbose output to search.
  ASSERT_GE(canaries_.size(), 6u);
  std::size_t verbose = 0;
  for (const auto& output : outputs_) verbose += output.size();
  ASSERT_GT(verbose, 500u);
  for (const auto& output : outputs_) {
    for (const auto& secret : canaries_) {
      EXPECT_EQ(output.find(secret), std::string::npos)
          << "a secret of length " << secret.size()
          << " in the output of: " << output.substr(0, output.find(':'));
    }
  }
}

}  // namespace
}  // namespace freshtoken
