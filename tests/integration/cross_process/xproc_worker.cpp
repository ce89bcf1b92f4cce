// freshtoken-xproc-worker: one process of an application sharing an account with others, for
// the cross-process tests. Not installed.
//
//   freshtoken-xproc-worker requests --issuer URL --store file:DIR|libsecret --account A
//       [--service S] [--requests N] [--interval-ms M] [--sign-in] [--dpop]
//       [--resource URI]... [--threads T]
//     Opens a Session on the store (with --sign-in: first signs in with tokens from the mock
//     server's POST /mock/tokens), makes N GET /api/me through an HttpClient, and prints one
//     JSON line: {"ok", "failed", "errors": {code: n}, "statuses": {status: n},
//     "events": {kind: n}, "sign_in": "ok"|code, "elapsed_ms"}. With --resource (repeatable;
//     the mock's GET /mock/resources lists them, each its own API's base URL) the HttpClient
//     routes each resource's origin to its token (HttpClientOptions::apis) and the requests
//     go round the resources' GET <resource>/me instead. With --threads, T threads make N
//     requests each.
//
//   freshtoken-xproc-worker refresh-loop --issuer URL --store ... --account A [--service S]
//     Refreshes forever (invalidate the current access token, ask for a new one), printing
//     "ready" once the first token is in hand; the kill tests SIGKILL it. Exits 3 when a
//     token cannot be had.
//
// Exit status: 0 done, 2 usage or setup failure, 3 refresh loop failed.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "freshtoken/authorization_server.hpp"
#include "freshtoken/http_client.hpp"
#include "freshtoken/platform/secret_stores.hpp"
#include "freshtoken/session.hpp"
#include "freshtoken/transport.hpp"

namespace {

using namespace freshtoken;
using nlohmann::json;

struct Args {
  std::string mode;
  std::string issuer;
  std::string store;
  std::string service = "freshtoken";
  std::string account;
  int requests = 1;
  int interval_ms = 0;
  bool sign_in = false;
  bool dpop = false;  // DpopMode::required
  std::vector<std::string> resources;
  int threads = 1;
};

int usage(const std::string& why) {
  std::cerr << "freshtoken-xproc-worker: " << why
            << "\nusage: freshtoken-xproc-worker requests|refresh-loop --issuer URL --store "
               "file:DIR|libsecret --account A [--service S] [--requests N] [--interval-ms M] "
               "[--sign-in] [--dpop] [--resource URI]... [--threads T]\n";
  return 2;
}

bool parse(int argc, char** argv, Args& args, std::string& problem) {
  if (argc < 2) {
    problem = "no mode";
    return false;
  }
  args.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--sign-in") {
      args.sign_in = true;
      continue;
    }
    if (flag == "--dpop") {
      args.dpop = true;
      continue;
    }
    if (i + 1 >= argc) {
      problem = flag + " needs a value";
      return false;
    }
    const std::string value = argv[++i];
    try {
      if (flag == "--issuer") {
        args.issuer = value;
      } else if (flag == "--store") {
        args.store = value;
      } else if (flag == "--service") {
        args.service = value;
      } else if (flag == "--account") {
        args.account = value;
      } else if (flag == "--requests") {
        args.requests = std::stoi(value);
      } else if (flag == "--interval-ms") {
        args.interval_ms = std::stoi(value);
      } else if (flag == "--resource") {
        args.resources.push_back(value);
      } else if (flag == "--threads") {
        args.threads = std::stoi(value);
      } else {
        problem = "unknown flag " + flag;
        return false;
      }
    } catch (const std::exception&) {
      problem = "bad number for " + flag;
      return false;
    }
  }
  if (args.mode != "requests" && args.mode != "refresh-loop") problem = "unknown mode";
  if (args.issuer.empty() || args.store.empty() || args.account.empty()) {
    problem = "--issuer, --store and --account are required";
  }
  return problem.empty();
}

std::shared_ptr<SecretStore> make_store(const std::string& spec) {
  if (spec == "libsecret") return make_libsecret_store();
  if (spec.rfind("file:", 0) == 0) return make_file_store(spec.substr(5));
  return nullptr;
}

// "http://127.0.0.1:43122" of "http://127.0.0.1:43122/files".
std::string origin_of(const std::string& url) {
  const auto authority = url.find("://");
  if (authority == std::string::npos) return url;
  return url.substr(0, url.find('/', authority + 3));
}

// Tokens as after alice's sign-in, from the mock server's control API.
Result<TokenSet> mock_sign_in_tokens(Transport& transport, const std::string& issuer) {
  Request request;
  request.method = "POST";
  request.url = issuer + "/mock/tokens";
  request.headers.set("Content-Type", "application/json");
  request.body =
      R"({"user": "alice", "client_id": "freshtoken-demo", "scope": "openid profile api"})";
  auto response = transport.send(request);
  if (!response) return response.error();
  if (response->status != 200)
    return Error(ErrorCode::invalid_response, "POST /mock/tokens failed");
  const json answer = json::parse(response->body, nullptr, false);
  if (!answer.is_object()) return Error(ErrorCode::invalid_response, "POST /mock/tokens: not JSON");
  TokenSet tokens;
  tokens.access_token = Secret(answer.value("access_token", ""));
  tokens.refresh_token = Secret(answer.value("refresh_token", ""));
  tokens.scope = answer.value("scope", "");
  tokens.issued_at = std::chrono::system_clock::now();
  tokens.expires_at = tokens.issued_at + std::chrono::seconds(answer.value("expires_in", 0));
  return tokens;
}

int run(const Args& args) {
  auto store = make_store(args.store);
  if (!store) return usage("--store must be file:DIR or libsecret");
  auto transport = make_curl_transport();
  ClientConfig client;
  client.client_id = "freshtoken-demo";
  if (args.dpop) client.dpop = DpopMode::required;
  auto server = AuthorizationServer::discover(transport, args.issuer, client);
  if (!server) {
    std::cerr << "freshtoken-xproc-worker: discovery failed: " << server.error().to_string()
              << "\n";
    return 2;
  }

  SessionOptions options;
  options.server = *server;
  options.store = store;
  options.service = args.service;
  options.account = args.account;
  options.policy.initial_backoff = std::chrono::milliseconds(50);
  options.policy.max_backoff = std::chrono::milliseconds(400);
  options.log = [](LogLevel level, std::string_view message) {
    if (level >= LogLevel::warning) std::cerr << "xproc-worker: " << message << "\n";
  };
  // Declared before the session: its thread may deliver events until ~Session returns.
  std::mutex events_mutex;
  std::map<std::string, int> events;
  auto session = Session::create(options).value();
  auto subscription = session->subscribe([&](const SessionEvent& event) {
    std::lock_guard<std::mutex> lock(events_mutex);
    ++events[std::string(to_string(event.kind))];
  });

  std::string sign_in = "skipped";
  if (args.sign_in) {
    auto tokens = mock_sign_in_tokens(*transport, args.issuer);
    if (!tokens) {
      std::cerr << "freshtoken-xproc-worker: " << tokens.error().to_string() << "\n";
      return 2;
    }
    auto signed_in = session->sign_in(std::move(*tokens));
    sign_in = signed_in ? "ok" : std::string(to_string(signed_in.error().code()));
  }

  if (args.mode == "refresh-loop") {
    auto first = session->token();
    if (!first) {
      std::cerr << "freshtoken-xproc-worker: " << first.error().to_string() << "\n";
      return 3;
    }
    std::cout << "ready" << std::endl;
    for (Secret current = *first;;) {
      session->invalidate(current);
      auto next = session->token();
      if (!next) {
        std::cerr << "freshtoken-xproc-worker: " << next.error().to_string() << "\n";
        return 3;
      }
      current = *next;
    }
  }

  HttpClientOptions http_options;
  std::vector<std::string> urls;
  for (const auto& resource : args.resources) {
    http_options.apis.push_back({origin_of(resource), TokenTarget{resource, ""}});
    urls.push_back(resource + "/me");
  }
  if (urls.empty()) urls.push_back(args.issuer + "/api/me");
  auto http = std::make_unique<HttpClient>(transport, session, http_options);
  const auto start = std::chrono::steady_clock::now();
  std::mutex results_mutex;
  int ok = 0;
  int failed = 0;
  std::map<std::string, int> errors;
  std::map<std::string, int> statuses;
  auto make_requests = [&](int thread) {
    for (int i = 0; i < args.requests; ++i) {
      if (i > 0 && args.interval_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(args.interval_ms));
      }
      const auto& url = urls[static_cast<std::size_t>(i + thread) % urls.size()];
      auto response = http->get(url);
      std::lock_guard<std::mutex> lock(results_mutex);
      if (!response) {
        ++failed;
        ++errors[std::string(to_string(response.error().code()))];
      } else {
        ++statuses[std::to_string(response->status)];
        if (response->status == 200) {
          ++ok;
        } else {
          ++failed;
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < args.threads; ++t) threads.emplace_back(make_requests, t);
  make_requests(0);
  for (auto& thread : threads) thread.join();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // A background refresh may still be in flight: ~Session lets it finish (the server has
  // granted it; its rotated token is saved and "refreshed" emitted) before the events are
  // counted, or the parent sees one grant more than refreshed events.
  http.reset();
  session.reset();
  json summary{
      {"ok", ok},
      {"failed", failed},
      {"errors", errors},
      {"statuses", statuses},
      {"sign_in", sign_in},
      {"elapsed_ms", std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()}};
  {
    std::lock_guard<std::mutex> lock(events_mutex);
    summary["events"] = events;
  }
  std::cout << summary.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  std::string problem;
  if (!parse(argc, argv, args, problem)) return usage(problem);
  try {
    return run(args);
  } catch (const std::exception& e) {
    std::cerr << "freshtoken-xproc-worker: " << e.what() << "\n";
    return 2;
  }
}
