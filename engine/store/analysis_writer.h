// Group commit of the analyses that decide leads. Under load, most of an analysis's cost in
// PostgreSQL is the statement and its commit (a WAL flush), not the two rows it writes; so
// the threads that record analyses at the same moment hand them to one of them, which writes
// them all with one statement (Session::record_analyses) while the others wait for their
// outcome. Alone, an analysis is written at once: nothing waits for a batch to fill.
//
// Threading: record() is safe from any number of threads; it blocks until the analysis is
// written (or has failed). At most `max_in_flight` batches are being written at a time, on
// connections leased from the Database.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

#include "engine/store/store.h"

namespace leadscore::store {

class AnalysisWriter {
 public:
  explicit AnalysisWriter(Database& db, std::size_t max_batch = 64, int max_in_flight = 2);

  // As Session::record_analysis(seen, analysis, /*store_on_lead=*/true), batched with the
  // analyses being recorded concurrently (analyses of the same lead go in separate batches).
  Result<domain::Lead> record(const domain::Lead& seen, const domain::Analysis& analysis);

  struct Stats {
    std::size_t batches = 0;
    std::size_t analyses = 0;
    std::size_t largest_batch = 0;
  };
  Stats stats() const;

 private:
  struct Pending;
  std::vector<Pending*> take_batch();
  void wake_next_writer();
  std::vector<Result<domain::Lead>> write(const std::vector<Pending*>& batch) noexcept;

  Database& db_;
  const std::size_t max_batch_;
  const int max_in_flight_;
  mutable std::mutex mutex_;
  std::deque<Pending*> queue_;
  int in_flight_ = 0;
  Stats stats_;
};

}  // namespace leadscore::store
