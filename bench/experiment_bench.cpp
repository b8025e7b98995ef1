// What an experiment adds to an analysis in memory: the lead's bucket and arm from the hash
// (engine/domain/experiment.h), and the lookup of a lead's stored arm in the analyzer's cache
// (engine/analysis/assignment_cache.h), which is all an analysis after a lead's first needs.
//   cmake --build build --target experiment_bench && ./build/bench/experiment_bench
#include <benchmark/benchmark.h>

#include "engine/analysis/assignment_cache.h"
#include "engine/domain/experiment.h"

namespace {

using leadscore::analysis::AssignmentCache;
using leadscore::domain::Experiment;

const Experiment kExperiment{"rules-v2",
                             "rules-v2-2026-12",
                             {{"control", "heuristic", 50}, {"challenger", "rules", 50}},
                             30,
                             true};

void BM_ArmOfLead(benchmark::State& state) {
  std::int64_t id = 1'000'000;
  for (auto _ : state) {
    const int bucket = leadscore::domain::experiment_bucket(kExperiment, ++id);
    benchmark::DoNotOptimize(leadscore::domain::arm_of_bucket(kExperiment, bucket));
  }
}
BENCHMARK(BM_ArmOfLead);

// One cache, shared by every thread of a run, as the request workers share the analyzer's.
AssignmentCache& filled_cache() {
  static AssignmentCache* const cache = [] {
    auto* filled = new AssignmentCache;
    for (std::int64_t id = 1; id <= 100'000; ++id)
      filled->put(kExperiment.name, id, id % 2 ? "control" : "challenger");
    return filled;
  }();
  return *cache;
}

void BM_CachedArm(benchmark::State& state) {
  AssignmentCache& cache = filled_cache();
  std::int64_t id = state.thread_index() * 7919;
  for (auto _ : state) {
    id = id % 100'000 + 1;
    benchmark::DoNotOptimize(cache.find(kExperiment.name, id));
  }
}
BENCHMARK(BM_CachedArm);
// Many threads at once, as the request workers look up arms.
BENCHMARK(BM_CachedArm)->Threads(8)->UseRealTime();

void BM_SplitOf(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(leadscore::domain::split_of(kExperiment));
}
BENCHMARK(BM_SplitOf);

}  // namespace

BENCHMARK_MAIN();
