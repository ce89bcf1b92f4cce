// HttpClient's own cost per request, with a Transport that answers from memory: URL checks,
// the Request that get() and post() build, the token lookup and the Authorization header.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "freshtoken/http_client.hpp"
#include "micro_support.hpp"

namespace {

using freshtoken::bench::make_signed_in_session;
using freshtoken::bench::NoopTransport;

const std::string kUrl = "https://127.0.0.1:8443/api/me";

// The floor: the same request built and sent straight to the transport, no SDK logic.
void BM_TransportDirect(benchmark::State& state) {
  NoopTransport transport;
  const std::string bearer = "Bearer " + std::string(700, 'a');
  for (auto _ : state) {
    freshtoken::Request request;
    request.url = kUrl;
    request.headers.set("Authorization", bearer);
    auto response = transport.send(request);
    benchmark::DoNotOptimize(response);
  }
}
BENCHMARK(BM_TransportDirect);

// HttpClient without a TokenSource: the URL check and the Request that get() builds.
void BM_HttpClientGetNoToken(benchmark::State& state) {
  freshtoken::HttpClient client(std::make_shared<NoopTransport>(), nullptr);
  for (auto _ : state) {
    auto response = client.get(kUrl);
    benchmark::DoNotOptimize(response);
  }
}
BENCHMARK(BM_HttpClientGetNoToken);

// The full per-request path an application pays: HttpClient + Session token + header.
std::unique_ptr<freshtoken::HttpClient>& shared_client() {
  static auto client = [] {
    auto transport = std::make_shared<NoopTransport>();
    return std::make_unique<freshtoken::HttpClient>(transport, make_signed_in_session(transport));
  }();
  return client;
}

void BM_HttpClientGetWithSession(benchmark::State& state) {
  auto& client = shared_client();
  std::size_t failures = 0;
  for (auto _ : state) {
    auto response = client->get(kUrl);
    if (!response || response->status != 200) ++failures;
    benchmark::DoNotOptimize(response);
  }
  if (failures > 0) state.SkipWithError("request failed");
}
BENCHMARK(BM_HttpClientGetWithSession)->ThreadRange(1, 64)->UseRealTime();

// A POST with a 4 KiB body: the benchmark's copy of the body for post(), which moves it into
// its Request.
void BM_HttpClientPost4KiBWithSession(benchmark::State& state) {
  auto& client = shared_client();
  const std::string body(4096, 'x');
  for (auto _ : state) {
    auto response = client->post(kUrl, body, "application/octet-stream");
    benchmark::DoNotOptimize(response);
  }
}
BENCHMARK(BM_HttpClientPost4KiBWithSession);

}  // namespace
