// DPoP (RFC 9449) per request: the whole proof the SDK makes for an HttpClient exchange (claims,
// base64url, one ES256 signature) next to the one signature alone, with the same key. The
// difference is what the SDK adds on top of the signature's own cost.
#include <benchmark/benchmark.h>

#include <string>

#include "dpop.hpp"
#include "freshtoken/secret.hpp"
#include "util/crypto.hpp"

namespace {

void BM_DpopProof(benchmark::State& state) {
  const auto key = freshtoken::DpopKey::generate();
  const freshtoken::Secret token(std::string(700, 'a'));
  std::size_t failures = 0;
  for (auto _ : state) {
    auto proof = freshtoken::detail::dpop_proof(*key, "GET", "https://127.0.0.1:8443/api/me",
                                                &token, "", std::chrono::system_clock::now());
    if (!proof) ++failures;
    benchmark::DoNotOptimize(proof);
  }
  if (failures > 0) state.SkipWithError("dpop_proof failed");
}
BENCHMARK(BM_DpopProof)->Unit(benchmark::kMicrosecond);

// One ES256 signature of a proof-sized input (header.claims of a real proof), same key type.
void BM_Es256Sign(benchmark::State& state) {
  const auto key = freshtoken::util::generate_p256_key();
  const std::string input(420, 'e');
  std::size_t failures = 0;
  for (auto _ : state) {
    auto signature = freshtoken::util::sign_es256(key, input);
    if (!signature) ++failures;
    benchmark::DoNotOptimize(signature);
  }
  if (failures > 0) state.SkipWithError("sign_es256 failed");
}
BENCHMARK(BM_Es256Sign)->Unit(benchmark::kMicrosecond);

}  // namespace
