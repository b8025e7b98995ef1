// The per-key rate limit's own cost on the request path (api/rate_limiter.h): one take() per
// authenticated request. Reported as CPU time per call, to set beside the server's CPU per
// request in bench/README.md.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "api/rate_limiter.h"

namespace {

using leadscore::api::RateLimiter;
using leadscore::store::Role;

leadscore::config::RateLimitConfig never_reached() {
  leadscore::config::RateLimitConfig config;
  config.per_key = leadscore::config::TokenBucketConfig{1'000'000, 1'000'000};
  return config;
}

// One key asking again and again (a single busy caller).
void BM_TakeOneKey(benchmark::State& state) {
  static RateLimiter limiter(never_reached());
  const std::string key = "crm-sync-" + std::to_string(state.thread_index());
  for (auto _ : state) benchmark::DoNotOptimize(limiter.take(key, Role::Manager));
}
BENCHMARK(BM_TakeOneKey)->Threads(1)->Threads(2);

// The same key from two threads at once (two reactors serving one caller): one shard's mutex.
void BM_TakeSharedKey(benchmark::State& state) {
  static RateLimiter limiter(never_reached());
  for (auto _ : state) benchmark::DoNotOptimize(limiter.take("crm-sync", Role::Manager));
}
BENCHMARK(BM_TakeSharedKey)->Threads(2);

// 100 keys in turn.
void BM_TakeManyKeys(benchmark::State& state) {
  static RateLimiter limiter(never_reached());
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back("key-" + std::to_string(i));
  std::size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(limiter.take(keys[i++ % keys.size()], Role::Viewer));
}
BENCHMARK(BM_TakeManyKeys);

}  // namespace

BENCHMARK_MAIN();
