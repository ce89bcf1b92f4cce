// freshtoken-bench: one workload against freshtoken-mock-server, driven either through the SDK
// (HttpClient + Session + the curl transport, as an application would) or through raw libcurl
// (one kept-alive easy handle per thread, bearer header set by hand, no refresh) as the
// physical limit of this stack. Prints one JSON object on stdout; diagnostics go to stderr.
//
// `--mode memory` needs no server: it measures the heap and RSS cost of idle clients and of
// signed-in sessions by creating many of them.
#include <curl/curl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "curl/curl_transport.hpp"  // private: connections_opened() for the report
#include "dpop.hpp"                 // private: the key's parts for the baseline's own proofs
#include "freshtoken/authorization_server.hpp"
#include "freshtoken/http_client.hpp"
#include "freshtoken/platform/secret_stores.hpp"
#include "freshtoken/session.hpp"
#include "freshtoken/transport.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::string issuer;
  std::string mode = "sdk";
  int threads = 1;
  long requests = 1000;  // per thread
  double duration = 0;   // seconds; > 0 replaces --requests
  int warmup = 2;        // per thread and mode, before the measured phase
  int slice_ms = 250;    // interleaved mode: how long each mode's turn lasts
  std::string ca_file;
  std::size_t body_bytes = 0;
  std::string client_id = "freshtoken-demo";
  std::string user = "alice";
  std::string scope = "openid profile api";
  int count = 1000;  // memory mode
  // DPoP (RFC 9449) against a `--dpop required` server: the SDK's tokens are bound to a key and
  // every request carries a proof; the baseline signs one of its own per request with the same
  // key (see RawCurlStep).
  bool dpop = false;
  // One sign-in, many APIs: the SDK's HttpClient lists the API's origin with its RFC 8707
  // resource (HttpClientOptions::apis), so each request takes that target's token.
  bool resource = false;
};

// The DPoP key both modes prove with; null without --dpop.
std::shared_ptr<const freshtoken::DpopKey>& dpop_key() {
  static std::shared_ptr<const freshtoken::DpopKey> key;
  return key;
}

// Exchanges the refresh token of tokens minted by /mock/tokens (not bound) for DPoP-bound ones
// with a proof made with dpop_key(): the access token comes back bound to it.
std::optional<freshtoken::TokenSet> bind_to_dpop_key(const Options& options, const json& tokens) {
  freshtoken::TransportOptions transport_options;
  transport_options.ca_file = options.ca_file;
  freshtoken::ClientConfig client;
  client.client_id = options.client_id;
  client.dpop = freshtoken::DpopMode::required;
  auto server = freshtoken::AuthorizationServer::discover(
      freshtoken::make_curl_transport(transport_options), options.issuer, client);
  if (!server) {
    std::cerr << "freshtoken-bench: discovery failed: " << server.error().to_string() << "\n";
    return std::nullopt;
  }
  auto bound = (*server)->refresh(freshtoken::Secret(tokens["refresh_token"].get<std::string>()),
                                  "", dpop_key());
  if (!bound) {
    std::cerr << "freshtoken-bench: binding the tokens to the DPoP key failed: "
              << bound.error().to_string() << "\n";
    return std::nullopt;
  }
  return std::move(*bound);
}

// ------------------------------------------------------------------------------------------
// Process measurements

struct CpuTimes {
  double user_us = 0;
  double sys_us = 0;
};

CpuTimes cpu_now() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto us = [](const timeval& tv) { return double(tv.tv_sec) * 1e6 + double(tv.tv_usec); };
  return {us(usage.ru_utime), us(usage.ru_stime)};
}

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

long current_rss_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// ------------------------------------------------------------------------------------------
// Setup and control calls (/mock/tokens, /mock/stats) through a plain curl handle of their
// own, so that they never touch the connections being measured.

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::optional<json> control_call(const Options& options, const std::string& method,
                                 const std::string& path, const std::string& body = {}) {
  CURL* easy = curl_easy_init();
  if (!easy) return std::nullopt;
  std::string response;
  const std::string url = options.issuer + path;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &response);
  if (!options.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
  if (method == "POST") {
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
  }
  const CURLcode rc = curl_easy_perform(easy);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(easy);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    std::cerr << "freshtoken-bench: " << method << " " << path << ": " << curl_easy_strerror(rc)
              << "\n";
    return std::nullopt;
  }
  if (status != 200) {
    std::cerr << "freshtoken-bench: " << method << " " << path << ": HTTP " << status << "\n";
    return std::nullopt;
  }
  try {
    return json::parse(response);
  } catch (const json::exception&) {
    std::cerr << "freshtoken-bench: " << path << " did not answer JSON\n";
    return std::nullopt;
  }
}

// Tokens as after a sign-in, from the mock server's control API (no browser needed), with the
// server's access-token lifetime, or `lifetime_s` when it is given.
std::optional<json> initial_tokens(const Options& options, std::optional<long> lifetime_s = {}) {
  json ask = {{"user", options.user}, {"client_id", options.client_id}, {"scope", options.scope}};
  if (lifetime_s) ask["access_token_ttl_s"] = *lifetime_s;
  auto tokens = control_call(options, "POST", "/mock/tokens", ask.dump());
  if (!tokens || !tokens->contains("access_token") || !tokens->contains("refresh_token")) {
    std::cerr << "freshtoken-bench: POST /mock/tokens gave no tokens\n";
    return std::nullopt;
  }
  return tokens;
}

long stat_of(const json& stats, const char* name) {
  auto it = stats.find(name);
  return it != stats.end() && it->is_number() ? it->get<long>() : 0;
}

long refresh_calls_of(const json& stats) {
  auto grants = stats.find("token_requests");
  if (grants == stats.end() || !grants->is_object()) return 0;
  auto it = grants->find("refresh_token");
  return it != grants->end() && it->is_number() ? it->get<long>() : 0;
}

// ------------------------------------------------------------------------------------------
// The workload

struct ThreadResult {
  std::vector<float> latencies_us;
  long failures = 0;
  std::map<std::string, long> failure_kinds;
  std::size_t response_bytes = 0;
  long connects = 0;  // raw-curl: CURLINFO_NUM_CONNECTS summed
};

// Starts every worker together after its warm-up and stops them on the deadline.
struct Gate {
  std::mutex mutex;
  std::condition_variable changed;
  int ready = 0;
  bool go = false;
  std::atomic<bool> stop{false};
  // Interleaved runs: the index of the mode whose turn it is (always 0 otherwise).
  std::atomic<std::size_t> turn{0};

  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex);
    ++ready;
    changed.notify_all();
    changed.wait(lock, [&] { return go; });
  }
};

// One request of the workload; returns "" on success, else a short failure kind.
using Step = std::function<std::string(ThreadResult&)>;

// steps[i] and out[i] belong to the i-th measured mode; each request runs the step of the mode
// whose turn it is when it starts.
void worker(const Options& options, Gate& gate, const std::vector<Step>& steps,
            std::vector<ThreadResult>& out) {
  for (std::size_t mode = 0; mode < steps.size(); ++mode) {
    ThreadResult warm;
    for (int i = 0; i < options.warmup; ++i) steps[mode](warm);
    out[mode].connects += warm.connects;
  }
  gate.arrive_and_wait();
  const long limit = options.duration > 0 ? -1 : options.requests;
  if (limit > 0) out[0].latencies_us.reserve(static_cast<std::size_t>(limit));
  for (long i = 0; limit < 0 || i < limit; ++i) {
    if (limit < 0 && gate.stop.load(std::memory_order_relaxed)) break;
    const std::size_t mode = gate.turn.load(std::memory_order_relaxed);
    ThreadResult& result = out[mode];
    const auto start = SteadyClock::now();
    std::string failure = steps[mode](result);
    const auto end = SteadyClock::now();
    result.latencies_us.push_back(std::chrono::duration<float, std::micro>(end - start).count());
    if (!failure.empty()) {
      ++result.failures;
      ++result.failure_kinds[failure];
    }
  }
}

std::string api_url(const Options& options) {
  return options.issuer + (options.body_bytes > 0 ? "/api/echo" : "/api/me");
}

// Raw libcurl: the baseline. One easy handle per thread, configured once, performed again and
// again; the handle keeps its connection (and TLS session) alive between performs.
// With --dpop it also makes a DPoP proof per request with the same key as the SDK's, as cheaply
// as it can be made: the JOSE header and the token's hash computed once, the claims printed into
// a buffer, one ES256 signature; the physical limit the SDK's DPoP requests are measured against.
class RawCurlStep {
 public:
  RawCurlStep(const Options& options, const std::string& access_token)
      : body_(options.body_bytes, 'x') {
    easy_ = curl_easy_init();
    url_ = api_url(options);
    if (dpop_key()) {
      const auto& key = dpop_key()->state().key;
      dpop_header_ =
          freshtoken::util::base64url_encode(R"({"typ":"dpop+jwt","alg":"ES256","jwk":)" +
                                             freshtoken::detail::dpop_public_jwk(key) + "}");
      ath_ = freshtoken::util::base64url_encode(freshtoken::util::sha256(access_token));
    }
    const std::string bearer =
        std::string(dpop_key() ? "Authorization: DPoP " : "Authorization: Bearer ") + access_token;
    headers_ = curl_slist_append(headers_, bearer.c_str());
    // The same request bytes as the SDK's, which names itself as a user agent should.
    const std::string user_agent = "User-Agent: " + freshtoken::TransportOptions().user_agent;
    headers_ = curl_slist_append(headers_, user_agent.c_str());
    if (options.body_bytes > 0) {
      headers_ = curl_slist_append(headers_, "Content-Type: application/octet-stream");
      headers_ = curl_slist_append(headers_, "Expect:");
    }
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &append_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &response_);
    if (!options.ca_file.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, options.ca_file.c_str());
    if (options.body_bytes > 0) {
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body_.data());
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body_.size()));
    }
  }
  ~RawCurlStep() {
    curl_easy_cleanup(easy_);
    curl_slist_free_all(headers_);
  }
  RawCurlStep(const RawCurlStep&) = delete;
  RawCurlStep& operator=(const RawCurlStep&) = delete;

  std::string operator()(ThreadResult& out) {
    response_.clear();
    curl_slist* proof = nullptr;
    if (dpop_key()) {
      proof = dpop_proof_header();
      if (!proof) return "dpop: cannot sign";
      curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, proof);
    }
    const CURLcode rc = curl_easy_perform(easy_);
    if (proof) curl_slist_free_all(proof);
    long connects = 0;
    curl_easy_getinfo(easy_, CURLINFO_NUM_CONNECTS, &connects);
    out.connects += connects;
    if (rc != CURLE_OK) return std::string("curl: ") + curl_easy_strerror(rc);
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    out.response_bytes += response_.size();
    if (status != 200) return "HTTP " + std::to_string(status);
    return {};
  }

 private:
  // headers_ with a "DPoP: <proof>" line for this request in front.
  curl_slist* dpop_proof_header() {
    const auto iat = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const std::string jti = freshtoken::util::base64url_encode(freshtoken::util::random_bytes(16));
    char claims[512];
    std::snprintf(claims, sizeof claims,
                  R"({"ath":"%s","htm":"%s","htu":"%s","iat":%lld,"jti":"%s"})", ath_.c_str(),
                  body_.empty() ? "GET" : "POST", url_.c_str(), static_cast<long long>(iat),
                  jti.c_str());
    std::string input = dpop_header_ + "." + freshtoken::util::base64url_encode(claims);
    auto signature = freshtoken::util::sign_es256(dpop_key()->state().key, input);
    if (!signature) return nullptr;
    const std::string line =
        "DPoP: " + input + "." + freshtoken::util::base64url_encode(*signature);
    curl_slist* list = curl_slist_append(nullptr, line.c_str());
    for (curl_slist* h = headers_; h; h = h->next) list = curl_slist_append(list, h->data);
    return list;
  }

  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::string dpop_header_, ath_;
  std::string url_;
  std::string body_;
  std::string response_;
};

struct SdkContext {
  std::shared_ptr<freshtoken::Transport> transport;
  std::shared_ptr<freshtoken::Session> session;
  std::unique_ptr<freshtoken::HttpClient> client;
};

std::optional<SdkContext> make_sdk(const Options& options, const json& tokens) {
  SdkContext ctx;
  freshtoken::TransportOptions transport_options;
  transport_options.ca_file = options.ca_file;
  ctx.transport = freshtoken::make_curl_transport(transport_options);
  freshtoken::ClientConfig client;
  client.client_id = options.client_id;
  if (options.dpop) client.dpop = freshtoken::DpopMode::required;
  auto server = freshtoken::AuthorizationServer::discover(ctx.transport, options.issuer, client);
  if (!server) {
    std::cerr << "freshtoken-bench: discovery failed: " << server.error().to_string() << "\n";
    return std::nullopt;
  }
  freshtoken::SessionOptions session_options;
  session_options.server = *server;
  session_options.store = freshtoken::make_memory_store();
  session_options.account = options.issuer + "|" + options.client_id + "|" + options.user;
  session_options.scope = options.scope;
  ctx.session = freshtoken::Session::create(std::move(session_options)).value();

  freshtoken::TokenSet set;
  set.access_token = freshtoken::Secret(tokens["access_token"].get<std::string>());
  set.refresh_token = freshtoken::Secret(tokens["refresh_token"].get<std::string>());
  set.token_type = "Bearer";
  set.issued_at = std::chrono::system_clock::now();
  if (tokens.contains("expires_in"))
    set.expires_at = set.issued_at + std::chrono::seconds(tokens["expires_in"].get<long>());
  set.scope = tokens.value("scope", std::string());
  if (options.dpop) {
    auto bound = bind_to_dpop_key(options, tokens);
    if (!bound) return std::nullopt;
    set = std::move(*bound);
  }
  if (auto signed_in = ctx.session->sign_in(std::move(set)); !signed_in) {
    std::cerr << "freshtoken-bench: sign_in failed: " << signed_in.error().to_string() << "\n";
    return std::nullopt;
  }
  freshtoken::HttpClientOptions http;
  if (options.resource) http.apis = {{options.issuer, {options.issuer + "/api", ""}}};
  ctx.client =
      std::make_unique<freshtoken::HttpClient>(ctx.transport, ctx.session, std::move(http));
  return ctx;
}

std::string describe_failure(const freshtoken::Result<freshtoken::Response>& result) {
  if (!result)
    return std::string("error: ") + std::string(freshtoken::to_string(result.error().code()));
  return "HTTP " + std::to_string(result->status);
}

double percentile(const std::vector<float>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * double(sorted.size() - 1) + 0.5);
  return double(sorted[std::min(index, sorted.size() - 1)]);
}

// Requests, rate, latency, failures and CPU of one mode's share of a run.
json mode_report(const std::vector<ThreadResult>& results, double seconds, CpuTimes cpu) {
  std::vector<float> latencies;
  long failures = 0;
  std::size_t response_bytes = 0;
  std::map<std::string, long> failure_kinds;
  for (const auto& r : results) {
    latencies.insert(latencies.end(), r.latencies_us.begin(), r.latencies_us.end());
    failures += r.failures;
    response_bytes += r.response_bytes;
    for (const auto& [kind, n] : r.failure_kinds) failure_kinds[kind] += n;
  }
  std::sort(latencies.begin(), latencies.end());
  const auto requests = static_cast<long>(latencies.size());
  const double per_request = requests > 0 ? 1.0 / double(requests) : 0;
  json report;
  report["requests"] = requests;
  report["seconds"] = seconds;
  report["requests_per_second"] = seconds > 0 ? double(requests) / seconds : 0;
  report["latency_ms"] = {{"p50", percentile(latencies, 0.50) / 1000},
                          {"p90", percentile(latencies, 0.90) / 1000},
                          {"p99", percentile(latencies, 0.99) / 1000},
                          {"max", latencies.empty() ? 0.0 : double(latencies.back()) / 1000}};
  report["failures"] = failures;
  report["failure_kinds"] = failure_kinds;
  report["cpu_us_per_request"] = (cpu.user_us + cpu.sys_us) * per_request;
  report["cpu_user_us_per_request"] = cpu.user_us * per_request;
  report["cpu_sys_us_per_request"] = cpu.sys_us * per_request;
  report["response_body_bytes_avg"] =
      requests > 0 ? double(response_bytes) / double(requests) : 0.0;
  return report;
}

int run_workload(const Options& options) {
  // The modes this run measures: one, or both taking turns.
  const bool interleaved = options.mode == "interleaved";
  const std::vector<std::string> modes =
      interleaved ? std::vector<std::string>{"sdk", "raw-curl"} : std::vector{options.mode};
  const auto has = [&](const char* mode) {
    return std::find(modes.begin(), modes.end(), mode) != modes.end();
  };
  if (interleaved && options.duration <= 0) {
    std::cerr << "freshtoken-bench: --mode interleaved needs --duration\n";
    return 2;
  }

  // The SDK signs in with tokens of the server's lifetime. The baseline cannot refresh, so its
  // token outlives any run, even on a server whose tokens live seconds.
  auto tokens = initial_tokens(options);
  if (!tokens) return 1;
  const long ttl = tokens->value("expires_in", 0L);
  std::string baseline_token;
  if (has("raw-curl")) {
    auto long_lived = initial_tokens(options, 24 * 3600);
    if (!long_lived) return 1;
    baseline_token = (*long_lived)["access_token"].get<std::string>();
    if (options.dpop) {
      // Bound like the SDK's (so the server checks the same proofs for both modes); a refresh
      // gives the server's own lifetime, which outlasts a bench run unless it is a storm.
      auto bound = bind_to_dpop_key(options, *long_lived);
      if (!bound) return 1;
      baseline_token = std::string(bound->access_token.reveal());
    }
  }

  // Before the SDK's setup, so that the connection its discovery opens (and the workers then
  // reuse) is counted like the baseline's.
  auto stats_before = control_call(options, "GET", "/mock/stats");
  if (!stats_before) return 1;
  const auto window_start = SteadyClock::now();

  std::optional<SdkContext> sdk;
  if (has("sdk")) {
    sdk = make_sdk(options, *tokens);
    if (!sdk) return 1;
  }
  const std::string url = api_url(options);
  // The POST that the body workload sends again and again, as the baseline sends its body: a
  // prebuilt Request, which send() reads without copying.
  freshtoken::Request post;
  post.method = "POST";
  post.url = url;
  post.headers.add("Content-Type", "application/octet-stream");
  post.body.assign(options.body_bytes, 'x');

  // RSS over the run, sampled once a second (for the long-run memory check).
  std::vector<long> rss_timeline;
  std::atomic<bool> sampling{true};
  std::mutex sample_mutex;
  std::condition_variable sample_wake;
  std::thread sampler([&] {
    std::unique_lock<std::mutex> lock(sample_mutex);
    while (sampling) {
      rss_timeline.push_back(current_rss_kb());
      sample_wake.wait_for(lock, std::chrono::seconds(1), [&] { return !sampling.load(); });
    }
  });

  Gate gate;
  // results[mode][thread]
  std::vector<std::vector<ThreadResult>> results(
      modes.size(), std::vector<ThreadResult>(static_cast<std::size_t>(options.threads)));
  std::vector<std::thread> threads;
  for (int t = 0; t < options.threads; ++t) {
    threads.emplace_back([&, t] {
      std::optional<RawCurlStep> raw;
      std::vector<Step> steps;
      for (const auto& mode : modes) {
        if (mode == "raw-curl") {
          raw.emplace(options, baseline_token);
          steps.push_back([&raw](ThreadResult& r) { return (*raw)(r); });
        } else {
          freshtoken::HttpClient& client = *sdk->client;
          steps.push_back([&](ThreadResult& r) -> std::string {
            auto result = options.body_bytes > 0 ? client.send(post) : client.get(url);
            if (result) r.response_bytes += result->body.size();
            if (!result || result->status != 200) return describe_failure(result);
            return {};
          });
        }
      }
      std::vector<ThreadResult> out(modes.size());
      worker(options, gate, steps, out);
      for (std::size_t m = 0; m < modes.size(); ++m)
        results[m][static_cast<std::size_t>(t)] = std::move(out[m]);
    });
  }
  {
    std::unique_lock<std::mutex> lock(gate.mutex);
    gate.changed.wait(lock, [&] { return gate.ready == options.threads; });
  }
  const long rss_after_warmup = current_rss_kb();
  const CpuTimes cpu_start = cpu_now();
  const auto start = SteadyClock::now();
  {
    std::lock_guard<std::mutex> lock(gate.mutex);
    gate.go = true;
  }
  gate.changed.notify_all();
  // Each mode's share of the wall time and of the process's CPU time.
  std::vector<double> mode_seconds(modes.size(), 0.0);
  std::vector<CpuTimes> mode_cpu(modes.size());
  long slices = 0;
  if (interleaved) {
    // Turns of --slice-ms: both modes sample the same moments of a noisy machine, which
    // separate runs seconds apart do not.
    const SteadyClock::time_point deadline =
        start + std::chrono::duration_cast<SteadyClock::duration>(
                    std::chrono::duration<double>(options.duration));
    auto slice_start = start;
    CpuTimes slice_cpu = cpu_start;
    for (auto now = start; now < deadline;) {
      std::this_thread::sleep_for(std::min<SteadyClock::duration>(
          std::chrono::milliseconds(options.slice_ms), deadline - now));
      now = SteadyClock::now();
      const CpuTimes cpu = cpu_now();
      const std::size_t turn = gate.turn.load();
      mode_seconds[turn] += std::chrono::duration<double>(now - slice_start).count();
      mode_cpu[turn].user_us += cpu.user_us - slice_cpu.user_us;
      mode_cpu[turn].sys_us += cpu.sys_us - slice_cpu.sys_us;
      slice_start = now;
      slice_cpu = cpu;
      gate.turn = (turn + 1) % modes.size();
      ++slices;
    }
    gate.stop = true;
  } else if (options.duration > 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(options.duration));
    gate.stop = true;
  }
  for (auto& thread : threads) thread.join();
  const auto end = SteadyClock::now();
  const CpuTimes cpu_end = cpu_now();
  const long rss_end = current_rss_kb();
  if (!interleaved) {
    mode_seconds[0] = std::chrono::duration<double>(end - start).count();
    mode_cpu[0] = {cpu_end.user_us - cpu_start.user_us, cpu_end.sys_us - cpu_start.sys_us};
  }
  {
    std::lock_guard<std::mutex> lock(sample_mutex);
    sampling = false;
  }
  sample_wake.notify_all();
  sampler.join();

  auto stats_after = control_call(options, "GET", "/mock/stats");
  const double window_seconds =
      std::chrono::duration<double>(SteadyClock::now() - window_start).count();
  if (!stats_after) return 1;

  json report;
  std::vector<json> per_mode;
  for (std::size_t m = 0; m < modes.size(); ++m) {
    json part = mode_report(results[m], mode_seconds[m], mode_cpu[m]);
    part["mode"] = modes[m];
    if (modes[m] == "sdk") {
      if (auto curl = std::dynamic_pointer_cast<freshtoken::detail::CurlTransport>(sdk->transport))
        part["client_connections_opened"] = curl->connections_opened();
    } else {
      long connects = 0;
      for (const auto& r : results[m]) connects += r.connects;
      part["client_connections_opened"] = connects;
    }
    per_mode.push_back(std::move(part));
  }
  if (interleaved) {
    report["mode"] = "interleaved";
    report["slice_ms"] = options.slice_ms;
    report["slices"] = slices;
    for (std::size_t m = 0; m < modes.size(); ++m) report[modes[m]] = per_mode[m];
    const double raw_rate = per_mode[1]["requests_per_second"].get<double>();
    report["throughput_ratio"] =
        raw_rate > 0 ? per_mode[0]["requests_per_second"].get<double>() / raw_rate : 0.0;
    report["requests"] = per_mode[0]["requests"].get<long>() + per_mode[1]["requests"].get<long>();
    report["failures"] = per_mode[0]["failures"].get<long>() + per_mode[1]["failures"].get<long>();
  } else {
    report = per_mode[0];
  }
  const long refresh_calls = refresh_calls_of(*stats_after) - refresh_calls_of(*stats_before);
  report["issuer"] = options.issuer;
  report["tls"] = options.issuer.rfind("https://", 0) == 0;
  report["threads"] = options.threads;
  report["requests_per_thread"] = options.duration > 0 ? json(nullptr) : json(options.requests);
  report["duration_requested_s"] = options.duration;
  report["peak_rss_kb"] = peak_rss_kb();
  report["rss_after_warmup_kb"] = rss_after_warmup;
  report["rss_end_kb"] = rss_end;
  report["rss_timeline_kb"] = rss_timeline;
  report["request_body_bytes"] = options.body_bytes;
  report["access_token_ttl_s"] = ttl;
  // The stats window covers the SDK's setup, warm-up and the measured phase.
  report["stats_window_s"] = window_seconds;
  report["token_endpoint_calls"] = refresh_calls;
  report["token_endpoint_calls_per_ttl"] =
      ttl > 0 && window_seconds > 0 ? double(refresh_calls) / (window_seconds / double(ttl)) : 0.0;
  report["api_requests_at_server"] =
      stat_of(*stats_after, "api_requests") - stat_of(*stats_before, "api_requests");
  report["api_401_at_server"] =
      stat_of(*stats_after, "api_401") - stat_of(*stats_before, "api_401");
  if (stats_after->contains("connections")) {
    // The "after" control call opened one connection of its own (FORBID_REUSE, fresh handle).
    report["connections"] =
        stat_of(*stats_after, "connections") - stat_of(*stats_before, "connections") - 1;
  }
  std::cout << report.dump() << std::endl;
  return 0;
}

// ------------------------------------------------------------------------------------------
// Memory: what an idle client and a signed-in session cost.

std::size_t heap_in_use() { return mallinfo2().uordblks; }

template <class Make>
json measure_many(int count, Make make) {
  malloc_trim(0);
  const std::size_t heap_before = heap_in_use();
  const long rss_before = current_rss_kb();
  auto keep = make(count);
  const std::size_t heap_after = heap_in_use();
  const long rss_after = current_rss_kb();
  json out = {{"count", count},
              {"heap_bytes_each", double(heap_after - heap_before) / count},
              {"rss_bytes_each", double(rss_after - rss_before) * 1024.0 / count}};
  keep.clear();
  return out;
}

int run_memory(const Options& options) {
  using namespace freshtoken;
  const int n = options.count;
  json report;
  report["mode"] = "memory";

  // An idle client as an application makes one: its own curl transport and an HttpClient.
  report["client_with_own_transport"] = measure_many(n, [](int count) {
    std::vector<std::pair<std::shared_ptr<Transport>, std::unique_ptr<HttpClient>>> v;
    for (int i = 0; i < count; ++i) {
      auto transport = make_curl_transport();
      auto client = std::make_unique<HttpClient>(transport, nullptr);
      v.emplace_back(std::move(transport), std::move(client));
    }
    return v;
  });
  // Many HttpClients over one shared transport.
  auto shared_transport = make_curl_transport();
  report["client_on_shared_transport"] = measure_many(n, [&](int count) {
    std::vector<std::unique_ptr<HttpClient>> v;
    for (int i = 0; i < count; ++i)
      v.push_back(std::make_unique<HttpClient>(shared_transport, nullptr));
    return v;
  });

  // Signed-in sessions (tokens of realistic size: a ~700-byte JWT access token, a 43-byte
  // refresh token), saved to one shared memory store, never refreshed (no server is reached).
  ServerMetadata metadata;
  metadata.issuer = "http://127.0.0.1:9";
  metadata.token_endpoint = "http://127.0.0.1:9/token";
  auto server = std::make_shared<AuthorizationServer>(shared_transport, metadata,
                                                      ClientConfig{options.client_id, {}, {}});
  auto store = make_memory_store();
  report["signed_in_session"] = measure_many(n, [&](int count) {
    std::vector<std::shared_ptr<Session>> v;
    for (int i = 0; i < count; ++i) {
      SessionOptions so;
      so.server = server;
      so.store = store;
      so.account = "http://127.0.0.1:9|freshtoken-demo|user" + std::to_string(i);
      auto session = Session::create(std::move(so)).value();
      TokenSet set;
      set.access_token = Secret(std::string(700, 'a'));
      set.refresh_token = Secret(std::string(43, 'r'));
      set.issued_at = std::chrono::system_clock::now();
      set.expires_at = set.issued_at + std::chrono::hours(1);
      set.scope = "openid profile api";
      (void)session->sign_in(std::move(set));
      v.push_back(std::move(session));
    }
    return v;
  });
  report["peak_rss_kb"] = peak_rss_kb();
  std::cout << report.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"freshtoken-bench: SDK vs raw libcurl against freshtoken-mock-server"};
  app.add_option("--issuer", options.issuer, "The mock server's issuer URL");
  app.add_option("--mode", options.mode,
                 "sdk | raw-curl | interleaved (both, taking turns) | memory")
      ->capture_default_str()
      ->check(CLI::IsMember({"sdk", "raw-curl", "interleaved", "memory"}));
  app.add_option("--threads", options.threads, "Worker threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--requests", options.requests, "Requests PER THREAD (total = threads x this)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--duration", options.duration,
                 "Run this many seconds instead of a request count (0 = use --requests)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--warmup", options.warmup, "Unmeasured requests per thread before the run")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--slice-ms", options.slice_ms,
                 "interleaved mode: milliseconds of each mode's turn")
      ->capture_default_str()
      ->check(CLI::Range(10, 60000));
  app.add_option("--ca-file", options.ca_file, "CA bundle (PEM) for an HTTPS issuer");
  app.add_option("--body-bytes", options.body_bytes,
                 "POST this many bytes to /api/echo instead of GET /api/me")
      ->capture_default_str();
  app.add_option("--client-id", options.client_id)->capture_default_str();
  app.add_flag("--dpop", options.dpop,
               "DPoP-bound tokens and a proof per request (the server needs --dpop required); "
               "raw-curl signs a proof per request with the same key");
  app.add_flag("--resource", options.resource,
               "the SDK lists the API's origin with its resource (HttpClientOptions::apis) and "
               "sends that API's own token");
  app.add_option("--count", options.count, "memory mode: objects of each kind")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  CLI11_PARSE(app, argc, argv);

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    std::cerr << "freshtoken-bench: curl_global_init failed\n";
    return 1;
  }
  if (options.mode == "memory") return run_memory(options);
  if (options.issuer.empty()) {
    std::cerr << "freshtoken-bench: --issuer is required\n";
    return 2;
  }
  while (!options.issuer.empty() && options.issuer.back() == '/') options.issuer.pop_back();
  if (options.dpop) dpop_key() = freshtoken::DpopKey::generate();
  return run_workload(options);
}
