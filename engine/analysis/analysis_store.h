// What the analysis pipeline needs of the store, declared here so that the pipeline depends on
// no database: read a lead, append an analysis row, record an analysis with its result. The
// server's implementation is DatabaseAnalysisStore (database_analysis_store.h), over PostgreSQL
// and its group-committed writer; the pipeline's unit tests use one in memory.
//
// Threading: AnalysisStore::session() is safe from any thread; a Session is used by one thread,
// for one analysis (or one batch of shadow runs), and let go when it is done.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>

#include "engine/domain/analysis.h"
#include "engine/domain/error.h"
#include "engine/domain/lead.h"

namespace leadscore::analysis {

template <typename T>
using Result = std::expected<T, domain::Error>;

// Where a recorded result goes besides the history of analyses.
enum class Storage {
  OnLead,       // also onto the lead (ai_* fields): a primary analysis
  HistoryOnly,  // nowhere else: an ad-hoc run of a named scorer
};

class AnalysisStore {
 public:
  // One analysis's errands to the store, in the order the pipeline runs them. An
  // implementation may hold a resource (a database connection) from the first call to the
  // last; it must not hold one across record(..., Storage::OnLead) when that waits on the
  // writes of others (a group commit), since every waiter holding one could starve the pool.
  class Session {
   public:
    virtual ~Session() = default;

    // The lead as stored now: NotFound, Unavailable.
    virtual Result<domain::Lead> get_lead(std::int64_t id) = 0;
    // Appends an analysis row only (a failed run, a shadow run): NotFound, Unavailable.
    virtual Result<void> append(const domain::Analysis& analysis) = 0;
    // Appends `analysis` (which has a result) to the lead's history and, with Storage::OnLead,
    // stores its result on the lead — only while the lead's inputs are still those of `seen`
    // (the same input_revision); otherwise Conflict and nothing is written, so that the caller
    // reads the lead and scores it again. NotFound, LeadFinal, Conflict, Unavailable. The lead
    // as stored afterwards.
    virtual Result<domain::Lead> record(const domain::Lead& seen, const domain::Analysis& analysis,
                                        Storage storage) = 0;
    // Gives back what the session holds (its connection) before a wait that needs none (a
    // slow scorer's run); the next call takes it again.
    virtual void release() {}
  };

  virtual ~AnalysisStore() = default;
  // A session that holds nothing yet: what it needs, it takes on first use.
  virtual std::unique_ptr<Session> session() = 0;
};

}  // namespace leadscore::analysis
