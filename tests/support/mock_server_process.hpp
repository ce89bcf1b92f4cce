// The freshtoken-mock-server program as a child process of the test, and its control API over
// HTTP, for the tests that need the server in a process of its own (the CLI, the benchmark,
// processes sharing one account).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "freshtoken/transport.hpp"

namespace freshtoken::testing {

// Started with `--port 0` and `flags`; its first stdout line is the issuer. The destructor
// stops it with SIGTERM (SIGKILL when it does not exit in time).
class MockServerProcess {
 public:
  // Throws std::runtime_error when the program does not start or prints no issuer. With
  // `--tls-cert <file>` among the flags, the control API trusts that certificate.
  explicit MockServerProcess(const std::vector<std::string>& flags);
  ~MockServerProcess();
  MockServerProcess(const MockServerProcess&) = delete;
  MockServerProcess& operator=(const MockServerProcess&) = delete;

  const std::string& issuer() const { return issuer_; }
  pid_t pid() const { return pid_; }
  // The control API; both throw std::runtime_error on anything but a 200 with JSON.
  nlohmann::json get(const std::string& path) const;
  nlohmann::json post(const std::string& path, const nlohmann::json& body) const;
  nlohmann::json stats() const { return get("/mock/stats"); }
  // Arms a fault on the token endpoint: {"endpoint": "token", "kind": kind, ...}.
  void arm_token_fault(const std::string& kind, int delay_ms, int times) const;
  // Sends `Authorization: Bearer <token>` to `path`; the HTTP status, -1 when the exchange
  // failed.
  int call_api(const std::string& path, const std::string& token) const;
  // Stops the server now (what the destructor does).
  void stop();

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string issuer_;
  std::shared_ptr<Transport> transport_;
};

// stats["token_requests"][grant], or 0 when the server saw none.
int grants(const nlohmann::json& stats, const std::string& grant);

}  // namespace freshtoken::testing
