// The fixture of the freshtoken-cli end-to-end tests: a freshtoken-mock-server process of
// the test's own, a private temporary directory (file store, $BROWSER script) and helpers to
// run the CLI against both.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mock_server_process.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace freshtoken::e2e {

using testing::grants;
using testing::MockServerProcess;
using testing::TempDir;

struct StoredTokens {
  std::string access_token;
  std::string refresh_token;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // Replaces the server (e.g. other flags).
  void start_server(std::vector<std::string> flags);
  // freshtoken-cli --issuer <server> --store <store_> args...
  Output cli(const std::vector<std::string>& args, const std::string& input = {},
             const std::map<std::string, std::string>& env = {}) const;
  // Starts the CLI in the background (for login --device).
  std::unique_ptr<Child> start_cli(const std::vector<std::string>& args) const;
  // `login --browser` through the $BROWSER script (the server auto-approves).
  void sign_in();
  // What the file store holds right now (the test reads it; the CLI never prints it).
  StoredTokens stored() const;
  std::filesystem::path store_dir() const { return dir_.path() / "store"; }

  TempDir dir_;
  std::unique_ptr<MockServerProcess> server_;
  std::string store_;
};

}  // namespace freshtoken::e2e
