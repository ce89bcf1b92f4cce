#include "contract.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>

#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
// windows.h first: psapi.h needs its types.
#include <psapi.h>
#else
#include <sys/resource.h>

#include "contract_server.hpp"
#endif

namespace freshtoken::contract {
namespace {

constexpr const char* kServerVariable = "FRESHTOKEN_TRANSPORT_CONTRACT_SERVER";

Endpoints parse_endpoints(const std::string& line) {
  const auto json = nlohmann::json::parse(line);
  Endpoints e;
  e.http = json.at("http").get<std::string>();
  e.https = json.at("https").get<std::string>();
  e.https_other = json.at("https_other").get<std::string>();
  e.raw = json.at("raw").get<std::string>();
  e.proxy = json.at("proxy").get<std::string>();
  e.control = json.at("control").get<std::string>();
  e.ca_pem = json.at("ca_pem").get<std::string>();
  e.ca_file = json.at("ca_file").get<std::string>();
  e.unused_port = json.at("unused_port").get<int>();
  return e;
}

#if !defined(_WIN32)
// The contract server in this process, for as long as the tests run.
class InProcessServer : public ::testing::Environment {
 public:
  const std::string& line() {
    if (!server_) {
      server_ = std::make_unique<testing::ContractServer>();
      line_ = server_->endpoints_json();
    }
    return line_;
  }
  void TearDown() override { server_.reset(); }

 private:
  std::unique_ptr<testing::ContractServer> server_;
  std::string line_;
};
InProcessServer* const in_process =
    static_cast<InProcessServer*>(::testing::AddGlobalTestEnvironment(new InProcessServer));
#endif

Endpoints load_endpoints() {
  if (const char* line = std::getenv(kServerVariable); line != nullptr && *line != '\0')
    return parse_endpoints(line);
#if defined(_WIN32)
  std::fprintf(stderr,
               "%s is not set: start freshtoken-transport-contract-server on Linux and set it to "
               "the line it prints\n",
               kServerVariable);
  std::abort();
#else
  return parse_endpoints(in_process->line());
#endif
}

nlohmann::json control(const std::string& path) {
  Request request;
  request.url = endpoints().control + path;
  request.timeout = std::chrono::seconds(60);
  auto response = make()->send(request);
  if (!response)
    throw std::runtime_error("contract server control: " + response.error().to_string());
  if (response->status != 200)
    throw std::runtime_error("contract server control: status " + std::to_string(response->status));
  return nlohmann::json::parse(response->body);
}

}  // namespace

const Endpoints& endpoints() {
  static const Endpoints e = load_endpoints();
  return e;
}

void reset_server() { control("/control/reset"); }

ServerState server_state() {
  const auto json = control("/control/state");
  ServerState state;
  state.http_connections = json.at("http_connections").get<std::size_t>();
  state.https_connections = json.at("https_connections").get<std::size_t>();
  state.target_hits = json.at("target_hits").get<int>();
  state.raw_connections = json.at("raw_connections").get<std::size_t>();
  state.proxy_heads = json.at("proxy_heads").get<std::vector<std::string>>();
  return state;
}

std::size_t announced_body_sent() {
  return control("/control/body-sent").at("body_sent").get<std::size_t>();
}

std::size_t peak_rss() {
#if defined(_WIN32)
  PROCESS_MEMORY_COUNTERS counters{};
  counters.cb = sizeof counters;
  if (!GetProcessMemoryInfo(GetCurrentProcess(), &counters, sizeof counters)) return 0;
  return counters.PeakWorkingSetSize;
#else
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::size_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
#endif
}

}  // namespace freshtoken::contract
