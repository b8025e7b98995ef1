// What a lead's first analysis in an experiment pays to store its arm, measured where the
// analyzer pays it: the write that stores the analysis on its lead gives the lead its arm too
// (Analysis::assigning), so the cost is the difference between that write with the arm and the
// same write without it — one at a time (Session::record_analysis) and in batches of 8, as the
// analysis writer groups concurrent analyses (Session::record_analyses). Beside them, the
// statement a server sends only when a write found the lead with another arm
// (Session::assign_experiment_arms), and the floor of any statement on the same connection, a
// read of a lead by primary key. The write of an analysis in the experiment whose lead's arm is
// known tells the assignment's part from the experiment's own (the row's experiment and arm, the
// index of an experiment's analyses). Each write is of a lead not analyzed before, not in the
// experiment yet.
//
// On the database of DATABASE_URL (a migrated one, with the durability settings to measure: e.g.
// started by scripts/pg_cluster.sh), else on a throwaway cluster of the tests (which runs with
// fsync off: no commit waits for the disk there).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/store/store.h"
#include "tests/support/pg_cluster.h"

namespace {

using leadscore::domain::Analysis;
using leadscore::domain::Lead;
using leadscore::store::AnalysisToRecord;
using leadscore::store::Database;

constexpr int kWrites = 20'000;  // leads per write benchmark
constexpr int kBatch = 8;

struct Fixture {
  std::unique_ptr<Database> db;
  std::vector<Lead> leads;  // as read, in turn taken by the benchmarks
  std::size_t next = 0;

  static Fixture& shared() {
    static Fixture fixture = [] {
      Fixture f;
      const char* given = std::getenv("DATABASE_URL");
      auto db = Database::connect(
          given ? given : leadscore::testing::PgCluster::shared().create_database(), 1);
      if (!db) throw std::runtime_error(db.error().message);
      f.db = std::move(*db);
      if (auto migrated = f.db->migrate(); !migrated)
        throw std::runtime_error(migrated.error().message);
      auto session = f.db->session();
      leadscore::domain::NewLead lead;
      lead.source = "manual";
      const std::vector<leadscore::domain::NewLead> batch(10'000, lead);
      for (int i = 0; i < 9 * kWrites / 10'000; ++i) {
        auto ids = session->create_leads(batch, "bench");
        if (!ids) throw std::runtime_error(ids.error().message);
        // Read back as an analysis reads its lead, which also leaves their pages as it finds
        // them, not as the bulk insert left them.
        for (const std::int64_t id : *ids) {
          auto read = session->get_lead(id);
          if (!read) throw std::runtime_error(read.error().message);
          f.leads.push_back(std::move(*read));
        }
      }
      return f;
    }();
    return fixture;
  }

  const Lead& take(benchmark::State& state) {
    if (next == leads.size()) state.SkipWithError("out of fresh leads");
    return leads[next++ % leads.size()];
  }
};

// A primary analysis of `lead`; with `experiment`, of its arm "control", which it gives the lead
// when `assigning`.
Analysis analysis_of(const Lead& lead, const std::string* experiment, bool assigning = true) {
  Analysis a;
  a.lead_id = lead.id;
  a.scorer = "heuristic";
  a.scorer_version = "1.0.0";
  a.actor = "bench";
  a.features = leadscore::domain::features_of(lead);
  a.result = leadscore::domain::ScoreResult{
      0.5, leadscore::domain::Recommendation::ContinueQualification, "bench", {{"base", 0.5}}, {}};
  if (experiment) {
    a.experiment = *experiment;
    a.arm = "control";
    if (assigning) a.assigning = leadscore::domain::ArmProposal{1234, "control:50,challenger:50"};
  }
  return a;
}

// A new experiment per run: its leads are all unassigned.
std::string new_experiment() { return "bench-" + std::to_string(std::rand()); }

void write_one(benchmark::State& state, const std::string* experiment, bool assigning = true) {
  auto& f = Fixture::shared();
  auto session = f.db->session();
  for (auto _ : state) {
    const Lead& lead = f.take(state);
    auto stored = session->record_analysis(lead, analysis_of(lead, experiment, assigning), true);
    if (!stored) state.SkipWithError(stored.error().message.c_str());
  }
}

void write_batches(benchmark::State& state, const std::string* experiment) {
  auto& f = Fixture::shared();
  auto session = f.db->session();
  for (auto _ : state) {
    std::vector<Analysis> analyses;
    std::vector<AnalysisToRecord> batch;
    analyses.reserve(kBatch);
    for (int i = 0; i < kBatch; ++i) {
      const Lead& lead = f.take(state);
      analyses.push_back(analysis_of(lead, experiment));
      batch.push_back({&lead, &analyses.back()});
    }
    for (const auto& stored : session->record_analyses(batch))
      if (!stored) state.SkipWithError(stored.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_AnalysisWrite(benchmark::State& state) { write_one(state, nullptr); }

// In the experiment, its arm known (a later analysis): the row's experiment and arm, and the
// index of an experiment's analyses, without the assignment.
void BM_AnalysisWriteInTheExperiment(benchmark::State& state) {
  const std::string experiment = new_experiment();
  write_one(state, &experiment, false);
}

void BM_AnalysisWriteGivingTheLeadItsArm(benchmark::State& state) {
  const std::string experiment = new_experiment();
  write_one(state, &experiment);
}

void BM_BatchOf8AnalysisWrites(benchmark::State& state) { write_batches(state, nullptr); }

void BM_BatchOf8AnalysisWritesGivingTheLeadsTheirArms(benchmark::State& state) {
  const std::string experiment = new_experiment();
  write_batches(state, &experiment);
}

// Only after a write found the lead with another arm: the arm asked (and stored if none).
void BM_ArmAskedOfTheStore(benchmark::State& state) {
  auto& f = Fixture::shared();
  auto session = f.db->session();
  const std::string experiment = new_experiment();
  for (auto _ : state) {
    const leadscore::domain::ArmAssignment proposal{f.take(state).id, "control", 1234};
    auto arms = session->assign_experiment_arms(experiment, "control:50,challenger:50",
                                                std::span(&proposal, 1));
    if (!arms || arms->size() != 1 || !(*arms)[0]) state.SkipWithError("not assigned");
  }
}

void BM_ReadOfALeadByIdForComparison(benchmark::State& state) {
  auto& f = Fixture::shared();
  auto session = f.db->session();
  std::size_t next = 0;
  for (auto _ : state) {
    auto lead = session->get_lead(f.leads[next++ % f.leads.size()].id);
    if (!lead) state.SkipWithError(lead.error().message.c_str());
  }
}

// The writes with and without the arm alternate, so that a drift of the machine falls on both.
BENCHMARK(BM_ReadOfALeadByIdForComparison)->Unit(benchmark::kMicrosecond)->Iterations(100'000);
BENCHMARK(BM_AnalysisWrite)->Unit(benchmark::kMicrosecond)->Iterations(kWrites);
BENCHMARK(BM_AnalysisWriteInTheExperiment)->Unit(benchmark::kMicrosecond)->Iterations(kWrites);
BENCHMARK(BM_AnalysisWriteGivingTheLeadItsArm)->Unit(benchmark::kMicrosecond)->Iterations(kWrites);
BENCHMARK(BM_BatchOf8AnalysisWrites)->Unit(benchmark::kMicrosecond)->Iterations(kWrites / kBatch);
BENCHMARK(BM_BatchOf8AnalysisWritesGivingTheLeadsTheirArms)
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(kWrites / kBatch);
BENCHMARK(BM_AnalysisWriteGivingTheLeadItsArm)->Unit(benchmark::kMicrosecond)->Iterations(kWrites);
BENCHMARK(BM_AnalysisWriteInTheExperiment)->Unit(benchmark::kMicrosecond)->Iterations(kWrites);
BENCHMARK(BM_AnalysisWrite)->Unit(benchmark::kMicrosecond)->Iterations(kWrites);
BENCHMARK(BM_ArmAskedOfTheStore)->Unit(benchmark::kMicrosecond)->Iterations(kWrites);

}  // namespace

BENCHMARK_MAIN();
