// freshtoken-bench's smoke run: a second or two per mode against the real mock server
// program. It pins the report's shape and the absence of failures, never a speed.
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mock_server_process.hpp"

namespace {

using json = nlohmann::json;

using freshtoken::testing::MockServerProcess;

struct BenchRun {
  int exit_status = -1;
  std::string out;
};

BenchRun run_bench(const std::string& args) {
  BenchRun run;
  const std::string command = std::string(FRESHTOKEN_BENCH_PROGRAM) + " " + args;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return run;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) run.out.append(buffer, n);
  const int status = pclose(pipe);
  run.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

json parse_report(const BenchRun& run) {
  EXPECT_EQ(run.exit_status, 0) << run.out;
  // Exactly one JSON object, alone on stdout.
  try {
    return json::parse(run.out);
  } catch (const json::exception& e) {
    ADD_FAILURE() << "not one JSON object: " << e.what() << "\n" << run.out;
    return json::object();
  }
}

// `rejections_expected`: the mock server's JWT exp has whole seconds (issued at 100.9 with a
// 1 s lifetime, a token dies at 101.0), so with lifetimes of a second or two some requests
// meet an expired token before the proactive refresh and go through the 401 path.
void expect_common_fields(const json& report, int threads, bool rejections_expected = false) {
  for (const char* key : {"requests_per_second", "latency_ms", "token_endpoint_calls", "failures",
                          "cpu_us_per_request", "peak_rss_kb", "connections", "requests"}) {
    EXPECT_TRUE(report.contains(key)) << key;
  }
  EXPECT_EQ(report.value("threads", 0), threads);
  EXPECT_EQ(report.value("failures", -1), 0) << report.dump();
  EXPECT_GT(report.value("requests", 0L), 0);
  const auto& latency = report["latency_ms"];
  EXPECT_LE(latency.value("p50", -1.0), latency.value("p99", -2.0));
  EXPECT_LE(latency.value("p99", -1.0), latency.value("max", -2.0));
  EXPECT_GT(report.value("cpu_us_per_request", 0.0), 0.0);
  EXPECT_GT(report.value("peak_rss_kb", 0L), 0);
  // The server saw every measured and warm-up request, nothing rejected.
  EXPECT_GE(report.value("api_requests_at_server", 0L), report.value("requests", 0L));
  if (!rejections_expected) {
    EXPECT_EQ(report.value("api_401_at_server", -1L), 0);
  }
}

TEST(BenchSmoke, SdkModeRefreshesThroughAShortLifetimeWithoutFailuresOverReusedConnections) {
  MockServerProcess server({"--access-token-ttl", "1"});
  ASSERT_FALSE(server.issuer().empty());
  const json report = parse_report(
      run_bench("--issuer " + server.issuer() + " --mode sdk --threads 4 --duration 1.5"));
  expect_common_fields(report, 4, /*rejections_expected=*/true);
  EXPECT_EQ(report.value("mode", ""), "sdk");
  EXPECT_EQ(report.value("access_token_ttl_s", 0L), 1);
  // 1.5 s of a 1 s lifetime crosses the 80% point at least once.
  const long refreshes = report.value("token_endpoint_calls", 0L);
  EXPECT_GE(refreshes, 1);
  // A rejected token is retried once after one refresh: at most one 401 per thread per token.
  EXPECT_LE(report.value("api_401_at_server", 1000000L), 4 * (refreshes + 1));
  // Keep-alive: connections track threads (plus one per refresh at most), not requests.
  EXPECT_LE(report.value("connections", 1000000L), 4 + refreshes + 2) << report.dump();
}

// Both modes take turns in one run, against one server whose tokens live a second: the
// baseline, which cannot refresh, gets a token of its own that outlives the run.
TEST(BenchSmoke, InterleavedModeMeasuresBothModesInTurnsOnOneServer) {
  MockServerProcess server({"--access-token-ttl", "1"});
  ASSERT_FALSE(server.issuer().empty());
  const json report = parse_report(run_bench("--issuer " + server.issuer() +
                                             " --mode interleaved --threads 3 --duration 1.5"
                                             " --slice-ms 100"));
  EXPECT_EQ(report.value("mode", ""), "interleaved");
  EXPECT_EQ(report.value("failures", -1L), 0) << report.dump();
  EXPECT_GE(report.value("slices", 0L), 10);
  EXPECT_GE(report.value("token_endpoint_calls", 0L), 1);  // the SDK refreshed
  long requests = 0;
  for (const char* mode : {"sdk", "raw-curl"}) {
    ASSERT_TRUE(report.contains(mode)) << mode;
    const json& part = report[mode];
    EXPECT_EQ(part.value("mode", ""), mode);
    EXPECT_GT(part.value("requests", 0L), 0) << mode;
    EXPECT_EQ(part.value("failures", -1L), 0) << mode;
    // Turns alternate, so each mode had about half of the 1.5 s.
    EXPECT_GT(part.value("seconds", 0.0), 0.5) << mode;
    EXPECT_LT(part.value("seconds", 10.0), 1.0) << mode;
    EXPECT_GT(part.value("cpu_us_per_request", 0.0), 0.0) << mode;
    const auto& latency = part["latency_ms"];
    EXPECT_LE(latency.value("p50", -1.0), latency.value("p99", -2.0)) << mode;
    requests += part.value("requests", 0L);
  }
  EXPECT_EQ(report.value("requests", 0L), requests);
  EXPECT_GT(report.value("throughput_ratio", 0.0), 0.0);
  // Each client keeps its own connections: one per thread for the baseline.
  EXPECT_EQ(report["raw-curl"].value("client_connections_opened", -1L), 3) << report.dump();
  EXPECT_LE(report["sdk"].value("client_connections_opened", 1000L),
            3 + report.value("token_endpoint_calls", 0L) + 2)
      << report.dump();
}

TEST(BenchSmoke, RawCurlModeKeepsOneConnectionPerThreadAndNeverRefreshes) {
  MockServerProcess server({});
  ASSERT_FALSE(server.issuer().empty());
  const json report = parse_report(
      run_bench("--issuer " + server.issuer() + " --mode raw-curl --threads 3 --requests 50"));
  expect_common_fields(report, 3);
  EXPECT_EQ(report.value("mode", ""), "raw-curl");
  EXPECT_EQ(report.value("requests", 0L), 3 * 50);
  EXPECT_EQ(report.value("token_endpoint_calls", -1L), 0);
  EXPECT_EQ(report.value("connections", -1L), 3) << report.dump();
  EXPECT_EQ(report.value("client_connections_opened", -1L), 3);
}

TEST(BenchSmoke, BodyBytesPostsToEchoInBothModes) {
  MockServerProcess server({});
  ASSERT_FALSE(server.issuer().empty());
  for (const char* mode : {"sdk", "raw-curl"}) {
    const json report = parse_report(run_bench("--issuer " + server.issuer() + " --mode " + mode +
                                               " --threads 2 --requests 20 --body-bytes 2048"));
    expect_common_fields(report, 2);
    EXPECT_EQ(report.value("request_body_bytes", 0L), 2048) << mode;
    // /api/echo sends the body back inside its JSON answer.
    EXPECT_GT(report.value("response_body_bytes_avg", 0.0), 2048.0) << mode;
  }
}

TEST(BenchSmoke, HttpsWithACaFileWorksInBothModes) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("freshtoken-bench-smoke-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string();
  const std::string key = (dir / "key.pem").string();
  const std::string make_cert =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  if (std::system(make_cert.c_str()) != 0) {
    std::filesystem::remove_all(dir);
    GTEST_SKIP() << "the openssl command-line tool is not available";
  }
  {
    MockServerProcess server({"--tls-cert", cert, "--tls-key", key});
    ASSERT_EQ(server.issuer().rfind("https://", 0), 0u) << server.issuer();
    for (const char* mode : {"sdk", "raw-curl"}) {
      const json report =
          parse_report(run_bench("--issuer " + server.issuer() + " --ca-file " + cert + " --mode " +
                                 mode + " --threads 2 --requests 20"));
      expect_common_fields(report, 2);
      EXPECT_TRUE(report.value("tls", false)) << mode;
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(BenchSmoke, MemoryModeReportsACostPerClientAndPerSession) {
  const json report = parse_report(run_bench("--mode memory --count 50"));
  for (const char* kind :
       {"client_with_own_transport", "client_on_shared_transport", "signed_in_session"}) {
    ASSERT_TRUE(report.contains(kind)) << kind;
    EXPECT_EQ(report[kind].value("count", 0), 50);
    EXPECT_GT(report[kind].value("heap_bytes_each", 0.0), 0.0) << kind;
  }
}

TEST(BenchSmoke, RefusesToRunWithoutAnIssuer) {
  const BenchRun run = run_bench("--mode sdk 2>/dev/null");
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_TRUE(run.out.empty());
}

}  // namespace
