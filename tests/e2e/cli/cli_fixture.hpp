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

#include "freshtoken/transport.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace freshtoken::e2e {

using testing::TempDir;

// freshtoken-mock-server started on a free port; its control API over HTTP.
class MockServerProcess {
 public:
  explicit MockServerProcess(std::vector<std::string> flags);
  const std::string& issuer() const { return issuer_; }
  nlohmann::json get(const std::string& path) const;
  nlohmann::json post(const std::string& path, const nlohmann::json& body) const;
  nlohmann::json stats() const { return get("/mock/stats"); }
  // Sends `Authorization: Bearer <token>` to `path`; returns the HTTP status.
  int call_api(const std::string& path, const std::string& token) const;
  void stop() { child_.reset(); }

 private:
  std::unique_ptr<Child> child_;
  std::string issuer_;
  std::shared_ptr<Transport> transport_;
};

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

// stats["token_requests"][grant] or 0.
int grants(const nlohmann::json& stats, const std::string& grant);

}  // namespace freshtoken::e2e
