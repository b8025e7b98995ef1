// Group commit of the analyses that decide leads. Under load, most of an analysis's cost in
// PostgreSQL is the statement and its commit (a WAL flush), not the two rows it writes; so
// the analyses recorded at the same moment are written together, with one statement
// (Session::record_analyses), while their callers wait for their outcome (see batcher.h).
//
// Threading: record() is safe from any number of threads; it blocks until the analysis is
// written (or has failed). At most `max_in_flight` batches are being written at a time, on
// connections leased from the Database.
#pragma once

#include <cstddef>

#include "engine/store/batcher.h"
#include "engine/store/store.h"

namespace leadscore::store {

class AnalysisWriter {
 public:
  explicit AnalysisWriter(Database& db, std::size_t max_batch = 64, int max_in_flight = 2);

  // As Session::record_analysis(seen, analysis, /*store_on_lead=*/true), batched with the
  // analyses being recorded concurrently, of the same lead or of others.
  Result<domain::Lead> record(const domain::Lead& seen, const domain::Analysis& analysis);

  BatchStats stats() const { return batcher_.stats(); }

 private:
  Batcher<AnalysisToRecord, Result<domain::Lead>> batcher_;
};

}  // namespace leadscore::store
