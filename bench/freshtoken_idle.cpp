// freshtoken-idle: how often the SDK's threads wake up while a signed-in application idles.
//
//     freshtoken-idle --issuer URL [--seconds 60] [--access-token-ttl 3600]
//
// Against freshtoken-mock-server (its /mock/tokens mints the sign-in), it does what a desktop
// application does at launch and then sits still: a Session (memory store) signed in with
// alice's tokens, an HttpClient, one API call through send_async (which starts the worker pool)
// and one refresh (which starts the Session's refresh thread), so that every thread the SDK
// starts is there. Then the main thread, the one measuring, sleeps for --seconds and counts the
// context switches (voluntary + involuntary, /proc/self/task/*/status) of every other thread
// over that time. It prints one JSON object: the threads, their wake-ups, the refreshes the
// session made meanwhile.
//
// Linux only (/proc).
#include <dirent.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "freshtoken/authorization_server.hpp"
#include "freshtoken/http_client.hpp"
#include "freshtoken/platform/secret_stores.hpp"
#include "freshtoken/session.hpp"
#include "freshtoken/transport.hpp"

namespace {

using json = nlohmann::json;

struct ThreadSample {
  std::string name;
  long switches = 0;
};

// Every thread of this process but the calling one: its name and context switches so far.
std::map<long, ThreadSample> sample_threads() {
  std::map<long, ThreadSample> out;
  const long self = static_cast<long>(gettid());
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return out;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const long tid = std::strtol(entry->d_name, nullptr, 10);
    if (tid == self) continue;
    std::ifstream status(std::string("/proc/self/task/") + entry->d_name + "/status");
    ThreadSample sample;
    std::string line;
    while (std::getline(status, line)) {
      std::istringstream fields(line);
      std::string key;
      fields >> key;
      if (key == "Name:") {
        fields >> sample.name;
      } else if (key == "voluntary_ctxt_switches:" || key == "nonvoluntary_ctxt_switches:") {
        long n = 0;
        fields >> n;
        sample.switches += n;
      }
    }
    out[tid] = sample;
  }
  closedir(dir);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string issuer;
  int seconds = 60;
  int ttl = 3600;
  CLI::App app{"freshtoken-idle: the SDK threads' wake-ups while a signed-in session idles"};
  app.add_option("--issuer", issuer, "freshtoken-mock-server's issuer URL")->required();
  app.add_option("--seconds", seconds, "How long to idle")->check(CLI::PositiveNumber);
  app.add_option("--access-token-ttl", ttl, "Lifetime of the access tokens minted for the run")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  using namespace freshtoken;
  auto transport = make_transport();
  auto server = AuthorizationServer::for_issuer(
      transport, issuer, ClientConfig{"freshtoken-demo", Secret(), ClientAuth::none});
  if (!server) {
    std::cerr << "freshtoken-idle: " << server.error().to_string() << "\n";
    return 2;
  }

  // The sign-in, minted by the mock server's control API.
  Request mint("POST", issuer + "/mock/tokens");
  mint.headers.set("Content-Type", "application/json");
  mint.body = json{
      {"user", "alice"},
      {"client_id", "freshtoken-demo"},
      {"scope", "openid api offline_access"},
      {"access_token_ttl_s",
       ttl}}.dump();
  auto minted = transport->send(mint);
  if (!minted || minted->status != 200) {
    std::cerr << "freshtoken-idle: /mock/tokens failed\n";
    return 4;
  }
  const json body = json::parse(minted->body);
  TokenSet tokens;
  tokens.access_token = Secret(body.at("access_token").get<std::string>());
  tokens.refresh_token = Secret(body.at("refresh_token").get<std::string>());
  tokens.token_type = "Bearer";
  tokens.expires_at =
      std::chrono::system_clock::now() + std::chrono::seconds(body.at("expires_in").get<int>());

  SessionOptions options;
  options.server = *server;
  options.store = make_memory_store();
  options.account = "alice";
  auto session = Session::create(options).value();
  std::atomic<int> refreshes{0};
  auto subscription = session->subscribe([&](const SessionEvent& event) {
    if (event.kind == SessionEventKind::refreshed) ++refreshes;
  });
  if (!session->sign_in(std::move(tokens))) return 5;
  HttpClient http(transport, session);

  auto first = http.send_async(Request("GET", issuer + "/api/me")).get();
  if (!first || first->status != 200) {
    std::cerr << "freshtoken-idle: the API call failed\n";
    return 4;
  }
  // One refresh, so that the Session's refresh thread exists too.
  session->invalidate(session->token().value());
  auto second = http.get(issuer + "/api/me");
  if (!second || second->status != 200 || refreshes != 1) {
    std::cerr << "freshtoken-idle: the refresh failed\n";
    return 4;
  }
  // Let the threads settle after their last piece of work.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  const int refreshes_before = refreshes;
  const auto before = sample_threads();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const auto after = sample_threads();

  json threads = json::array();
  long total = 0;
  for (const auto& [tid, sample] : after) {
    const auto was = before.find(tid);
    const long woke = sample.switches - (was == before.end() ? 0 : was->second.switches);
    total += woke;
    threads.push_back(
        {{"tid", tid}, {"name", sample.name}, {"wakeups", woke}, {"new", was == before.end()}});
  }
  long gone = 0;
  for (const auto& [tid, sample] : before) gone += after.count(tid) ? 0 : 1;
  json report = {{"idle_seconds", seconds}, {"access_token_ttl_s", ttl},
                 {"threads", threads},      {"threads_gone", gone},
                 {"wakeups", total},        {"refreshes_while_idle", refreshes - refreshes_before}};
  std::cout << report.dump() << std::endl;
  return 0;
}
