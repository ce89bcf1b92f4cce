#include "cli_fixture.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace freshtoken::e2e {

void CliTest::SetUp() {
  store_ = "file:" + store_dir().string();
  const auto browser = dir_.path() / "browser";
  // A headless "browser": follows the redirects of an --auto-approve server to the
  // CLI's loopback listener.
  std::ofstream(browser) << "#!/bin/sh\nexec curl -sL -o /dev/null \"$1\"\n";
  std::filesystem::permissions(browser, std::filesystem::perms::owner_all);
  start_server({"--auto-approve"});
}

void CliTest::start_server(std::vector<std::string> flags) {
  server_.reset();
  server_ = std::make_unique<MockServerProcess>(std::move(flags));
}

namespace {

std::vector<std::string> cli_argv(const std::string& issuer, const std::string& store,
                                  const std::vector<std::string>& args) {
  std::vector<std::string> argv{FRESHTOKEN_CLI, "--issuer", issuer, "--store", store};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace

Output CliTest::cli(const std::vector<std::string>& args, const std::string& input,
                    const std::map<std::string, std::string>& env) const {
  SpawnOptions options;
  options.env = {{"BROWSER", (dir_.path() / "browser").string()}};
  for (const auto& [name, value] : env) options.env[name] = value;
  return run(cli_argv(server_->issuer(), store_, args), options, input);
}

std::unique_ptr<Child> CliTest::start_cli(const std::vector<std::string>& args) const {
  return std::make_unique<Child>(cli_argv(server_->issuer(), store_, args));
}

void CliTest::sign_in() {
  const auto result = cli({"login", "--browser"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
}

StoredTokens CliTest::stored() const {
  StoredTokens tokens;
  std::error_code missing;
  for (const auto& entry : std::filesystem::directory_iterator(store_dir(), missing)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    const auto doc =
        nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}), nullptr, false);
    if (!doc.is_object()) continue;
    tokens.access_token = doc.value("access_token", "");
    tokens.refresh_token = doc.value("refresh_token", "");
  }
  return tokens;
}

}  // namespace freshtoken::e2e
