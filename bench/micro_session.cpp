// Session::token() on a valid token: the lookup every request pays, alone and under
// contention (1..64 threads asking the same Session).
#include <benchmark/benchmark.h>

#include "micro_support.hpp"

namespace {

using freshtoken::bench::make_signed_in_session;
using freshtoken::bench::NoopTransport;

std::shared_ptr<freshtoken::Session>& shared_session() {
  static auto session = make_signed_in_session(std::make_shared<NoopTransport>());
  return session;
}

void BM_SessionToken(benchmark::State& state) {
  auto& session = shared_session();
  std::size_t failures = 0;
  for (auto _ : state) {
    auto token = session->token();
    if (!token) ++failures;
    benchmark::DoNotOptimize(token);
  }
  if (failures > 0) state.SkipWithError("token() failed");
}
BENCHMARK(BM_SessionToken)->ThreadRange(1, 64)->UseRealTime();

// What token() copies: one Secret (a heap allocation, a copy, a cleanse on destruction).
void BM_SecretCopy(benchmark::State& state) {
  const freshtoken::Secret secret(std::string(700, 'a'));
  for (auto _ : state) {
    freshtoken::Secret copy = secret;
    benchmark::DoNotOptimize(copy);
  }
}
BENCHMARK(BM_SecretCopy);

}  // namespace
