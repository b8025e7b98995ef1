// What a lead's first analysis in an experiment pays to store its arm, measured where the
// analyzer pays it: Session::assign_experiment_arms() for one lead not yet assigned, through
// libpq. Beside it, the floor of any statement on the same connection: Session::get_lead() of
// a lead, a read by primary key. On the database of DATABASE_URL (a migrated one, with the
// durability settings to measure: e.g. started by scripts/pg_cluster.sh), else on a throwaway
// cluster of the tests (which runs with fsync off: no commit waits for the disk there).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>

#include "engine/store/store.h"
#include "tests/support/pg_cluster.h"

namespace {

using leadscore::store::Database;

struct Fixture {
  std::unique_ptr<Database> db;
  std::vector<std::int64_t> leads;

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
      for (int i = 0; i < 20; ++i) {
        auto ids = session->create_leads(batch, "bench");
        if (!ids) throw std::runtime_error(ids.error().message);
        f.leads.insert(f.leads.end(), ids->begin(), ids->end());
      }
      return f;
    }();
    return fixture;
  }
};

void BM_FirstAssignmentOfALead(benchmark::State& state) {
  auto& f = Fixture::shared();
  auto session = f.db->session();
  // A new experiment each run: its leads are all unassigned.
  const std::string experiment = "bench-" + std::to_string(std::rand());
  std::size_t next = 0;
  for (auto _ : state) {
    if (next == f.leads.size()) state.SkipWithError("out of unassigned leads");
    const leadscore::domain::ArmAssignment proposal{f.leads[next++], "control", 1234};
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
    auto lead = session->get_lead(f.leads[next++ % f.leads.size()]);
    if (!lead) state.SkipWithError(lead.error().message.c_str());
  }
}

// The reads first: they also leave the new leads' pages as an analysis finds them (it has just
// read its lead), not as a bulk insert left them.
BENCHMARK(BM_ReadOfALeadByIdForComparison)->Unit(benchmark::kMicrosecond)->Iterations(200000);
BENCHMARK(BM_FirstAssignmentOfALead)->Unit(benchmark::kMicrosecond)->Iterations(20000);

}  // namespace

BENCHMARK_MAIN();
