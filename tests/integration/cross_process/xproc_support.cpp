#include "xproc_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "freshtoken/platform/secret_stores.hpp"
#include "spawn_process.hpp"

namespace freshtoken::xproc {

using namespace std::chrono_literals;
using nlohmann::json;

Child::Child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
             bool quiet_stderr) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return;
  const pid_t pid =
      testing::spawn_process(argv, env,
                             {testing::kInheritStream, pipe_fds[1],
                              quiet_stderr ? testing::kDevNull : testing::kInheritStream});
  ::close(pipe_fds[1]);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    return;
  }
  pid_ = pid;
  out_ = pipe_fds[0];
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
  if (out_ >= 0) ::close(out_);
}

bool Child::fill(std::chrono::steady_clock::time_point until) {
  if (eof_ || out_ < 0) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now >= until) return false;
  pollfd p{out_, POLLIN, 0};
  const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
  const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(wait_ms, 1000)));
  if (ready < 0 && errno != EINTR) return false;
  if (ready <= 0) return true;
  char chunk[4096];
  const ssize_t n = ::read(out_, chunk, sizeof chunk);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::string Child::read_line(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    const auto newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (!fill(until)) return {};
  }
}

std::string Child::read_all(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (fill(until)) {
  }
  std::string all = std::move(buffer_);
  buffer_.clear();
  return all;
}

int Child::wait(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return -1;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!reaped_) {
    const pid_t done = ::waitpid(pid_, &status_, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      reaped_ = true;
      return -1;
    }
    std::this_thread::sleep_for(2ms);
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

void Child::kill(int signal) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, signal);
}

int refresh_grants(const json& stats) { return testing::grants(stats, "refresh_token"); }

std::string account_for(const MockServerProcess& server) {
  return server.issuer() + "|freshtoken-demo|alice";
}

std::shared_ptr<AuthorizationServer> discover(const std::string& issuer) {
  ClientConfig client;
  client.client_id = "freshtoken-demo";
  auto server = AuthorizationServer::discover(make_curl_transport(), issuer, client);
  if (!server) throw std::runtime_error("discovery failed: " + server.error().to_string());
  return *server;
}

std::shared_ptr<Session> open_session(const MockServerProcess& server,
                                      std::shared_ptr<SecretStore> store) {
  SessionOptions options;
  options.server = discover(server.issuer());
  options.store = std::move(store);
  options.service = kService;
  options.account = account_for(server);
  options.policy.initial_backoff = 20ms;
  options.policy.max_backoff = 200ms;
  return Session::create(options).value();
}

bool seed_sign_in(const MockServerProcess& server, const std::shared_ptr<SecretStore>& store) {
  const json issued = server.post(
      "/mock/tokens",
      {{"user", "alice"}, {"client_id", "freshtoken-demo"}, {"scope", "openid profile api"}});
  TokenSet tokens;
  tokens.access_token = Secret(issued.at("access_token").get<std::string>());
  tokens.refresh_token = Secret(issued.at("refresh_token").get<std::string>());
  tokens.scope = issued.value("scope", "");
  tokens.issued_at = std::chrono::system_clock::now();
  tokens.expires_at = tokens.issued_at + std::chrono::seconds(issued.at("expires_in").get<int>());
  auto session = open_session(server, store);
  auto signed_in = session->sign_in(std::move(tokens));
  EXPECT_TRUE(signed_in) << signed_in.error().to_string();
  return static_cast<bool>(signed_in);
}

json stored_entry(SecretStore& store, const std::string& account) {
  auto loaded = store.load(kService, account);
  if (!loaded) return nullptr;
  json doc = json::parse(loaded->reveal(), nullptr, false);
  if (!doc.is_object()) return nullptr;
  return doc;
}

int api_status(const std::string& issuer, const Secret& token) {
  Request request;
  request.url = issuer + "/api/me";
  request.headers.set("Authorization", "Bearer " + std::string(token.reveal()));
  auto response = make_curl_transport()->send(request);
  return response ? response->status : -1;
}

std::vector<std::string> worker_argv(const std::string& mode, const MockServerProcess& server,
                                     const std::string& store_spec,
                                     const std::vector<std::string>& extra) {
  std::vector<std::string> argv{FRESHTOKEN_XPROC_WORKER,
                                mode,
                                "--issuer",
                                server.issuer(),
                                "--store",
                                store_spec,
                                "--service",
                                kService,
                                "--account",
                                account_for(server)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::string SharedAccountRun::describe() const {
  std::string errors_text;
  for (const auto& [code, n] : errors) errors_text += " " + code + "=" + std::to_string(n);
  char seconds_text[32];
  std::snprintf(seconds_text, sizeof seconds_text, "%.1f", seconds);
  std::string per_resource;
  for (const auto& [resource, n] : refreshes_per_resource) {
    per_resource += " " + resource + "=" + std::to_string(n);
  }
  return std::to_string(workers) + " processes x " + std::to_string(threads) + " threads x " +
         std::to_string(requests_each) + " requests in " + seconds_text + " s (" +
         std::to_string(expiries) + " lifetimes of " + std::to_string(ttl_seconds) + " s, " +
         std::to_string(refresh_points) + " refresh points): ok=" + std::to_string(ok) +
         " failed=" + std::to_string(failed) + errors_text +
         ", refresh grants=" + std::to_string(refresh_grants) +
         " (refreshed events=" + std::to_string(refreshed_events) +
         "), families_revoked=" + std::to_string(families_revoked) +
         ", refresh_reuse_detected=" + std::to_string(reuse_detected) +
         ", bad exits=" + std::to_string(exited_badly) +
         (per_resource.empty() ? "" : ", refreshes per resource:" + per_resource);
}

SharedAccountRun run_shared_account(const std::string& store_spec,
                                    const std::shared_ptr<SecretStore>& store, int workers,
                                    int requests, int interval_ms,
                                    const SharedAccountSetup& setup) {
  SharedAccountRun run;
  run.workers = workers;
  run.requests_each = requests;
  run.threads = setup.threads;
  run.ttl_seconds = 2;
  std::vector<std::string> server_args{"--rotation",         "on",
                                       "--reuse-grace",      "0",
                                       "--access-token-ttl", std::to_string(run.ttl_seconds)};
  if (setup.dpop) server_args.insert(server_args.end(), {"--dpop", "allowed"});
  MockServerProcess server(server_args);
  run.account = account_for(server);
  if (!seed_sign_in(server, store)) return run;
  const int grants_before = refresh_grants(server.stats());
  if (setup.token_delay_ms > 0) server.arm_token_fault("delay", setup.token_delay_ms, 100000);

  std::vector<std::string> resources;
  if (setup.two_apis) resources = mock_resources(server);

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<Child>> children;
  for (int i = 0; i < workers; ++i) {
    std::vector<std::string> argv = setup.launcher;
    std::vector<std::string> extra{"--requests",    std::to_string(requests),
                                   "--interval-ms", std::to_string(interval_ms),
                                   "--threads",     std::to_string(setup.threads)};
    if (setup.dpop) extra.push_back("--dpop");
    for (const auto& resource : resources) extra.insert(extra.end(), {"--resource", resource});
    for (auto& arg : worker_argv("requests", server, store_spec, extra)) {
      argv.push_back(std::move(arg));
    }
    children.push_back(std::make_unique<Child>(argv, setup.env));
  }
  for (auto& child : children) {
    const std::string out = child->read_all(std::chrono::seconds(90));
    const int code = child->wait(std::chrono::seconds(10));
    const json summary = json::parse(out, nullptr, false);
    if (code != 0 || !summary.is_object()) {
      ++run.exited_badly;
      ADD_FAILURE() << "worker exited with " << code << ", stdout: " << out;
      continue;
    }
    run.ok += summary.value("ok", 0);
    run.failed += summary.value("failed", 0);
    for (const auto& [name, n] : summary.at("errors").items()) run.errors[name] += n.get<int>();
    for (const auto& [status, n] : summary.at("statuses").items()) {
      if (status != "200") run.errors["http_" + status] += n.get<int>();
    }
    run.refreshed_events += summary.at("events").value("refreshed", 0);
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.expiries = static_cast<int>(std::ceil(run.seconds / run.ttl_seconds));
  run.refresh_points = static_cast<int>(std::ceil(run.seconds / (0.8 * run.ttl_seconds)));
  const json stats = server.stats();
  run.refresh_grants = refresh_grants(stats) - grants_before;
  run.families_revoked = stats.value("families_revoked", -1);
  run.reuse_detected = stats.value("refresh_reuse_detected", -1);
  if (const auto found = stats.find("dpop_rejections"); found != stats.end()) {
    for (const auto& n : *found) run.dpop_rejections += n.get<int>();
  }
  for (const auto& resource : resources) {
    run.refreshes_per_resource[resource] =
        stats["resources"][resource].value("refresh_requests", -1);
  }
  return run;
}

std::vector<std::string> mock_resources(const MockServerProcess& server) {
  std::vector<std::string> resources;
  for (const auto& api : server.get("/mock/resources")) {
    resources.push_back(api.at("resource").get<std::string>());
  }
  return resources;
}

void expect_shared_account_invariants(const SharedAccountRun& run) {
  std::cout << "[ measured ] " << run.describe() << std::endl;
  EXPECT_EQ(run.exited_badly, 0);
  EXPECT_EQ(run.families_revoked, 0);
  EXPECT_EQ(run.reuse_detected, 0);
  EXPECT_EQ(run.failed, 0);
  EXPECT_EQ(run.ok, run.workers * run.threads * run.requests_each);
  // The run outlived its first tokens, so someone had to refresh...
  EXPECT_GE(run.refresh_grants, 1);
  // ...but about once per refresh point, not once per process (uncoordinated, 8 processes
  // would make about 8 per point). Up to twice: the store keeps times in whole seconds, so a
  // process that adopted a 2 s token sees it up to 1 s older than it is and refreshes early.
  // With several APIs, that holds for each resource's token.
  const int tokens = std::max<int>(1, static_cast<int>(run.refreshes_per_resource.size()));
  EXPECT_LE(run.refresh_grants, 2 * run.refresh_points * tokens);
  EXPECT_EQ(run.refreshed_events, run.refresh_grants);
  int per_resource_sum = 0;
  for (const auto& [resource, n] : run.refreshes_per_resource) {
    EXPECT_GE(n, 1) << resource;
    EXPECT_LE(n, 2 * run.refresh_points) << resource;
    per_resource_sum += n;
  }
  if (!run.refreshes_per_resource.empty()) {
    EXPECT_EQ(per_resource_sum, run.refresh_grants);
  }
}

}  // namespace freshtoken::xproc
