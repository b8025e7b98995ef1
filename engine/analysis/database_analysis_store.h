// The analysis pipeline's store (analysis_store.h) over PostgreSQL: leads and analysis rows
// through store::Session, primary results through the group-committed store::AnalysisWriter
// when there is one.
//
// Connections: a session leases one from the Database when first needed and keeps it for the
// rest of the analysis, so that reading the lead and appending the failed runs cost one lease.
// A primary analysis on a cached lead needs none. Before a result goes to the writer the
// session gives its connection back: the writer leases its own, per batch, and a worker waiting
// on a batch while holding a connection could starve the pool.
//
// Threading: session() is safe from any thread; each Session is for one thread.
#pragma once

#include "engine/analysis/analysis_store.h"
#include "engine/store/analysis_writer.h"
#include "engine/store/store.h"

namespace leadscore::analysis {

class DatabaseAnalysisStore final : public AnalysisStore {
 public:
  // `writer`: the group commit of primary results; nullptr records each on its own connection.
  // Both must outlive every session.
  explicit DatabaseAnalysisStore(store::Database& db, store::AnalysisWriter* writer = nullptr)
      : db_(db), writer_(writer) {}

  std::unique_ptr<Session> session() override;

 private:
  store::Database& db_;
  store::AnalysisWriter* writer_;
};

}  // namespace leadscore::analysis
