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
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/domain/analysis.h"
#include "engine/domain/error.h"
#include "engine/domain/experiment.h"
#include "engine/domain/lead.h"

namespace leadscore::analysis {

template <typename T>
using Result = std::expected<T, domain::Error>;

// What a set write (Session::record_set) did with one analysis meant for its lead.
enum class SetOutcome {
  Stored,   // on the lead, and in its history
  Final,    // the lead is transferred or lost: nothing written
  Changed,  // the lead's inputs changed since it was read: nothing written
  Missing,  // no such lead
};

// One analysis of a set write, to store on its lead as record(*seen, *analysis, OnLead) would.
struct ToRecord {
  const domain::Lead* seen = nullptr;
  const domain::Analysis* analysis = nullptr;  // with a result
};

// One row of a set write that is only appended: a failed run, or a shadow run that belongs
// with its lead's analysis and is kept only when that was stored.
struct ToAppend {
  const domain::Analysis* analysis = nullptr;
  bool only_if_stored = false;
};

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
    // reads the lead and scores it again. With analysis.assigning (OnLead only), the lead's arm
    // in analysis.experiment is stored in the same write when it has none, and the analysis is
    // stored only if that arm is analysis.arm; otherwise Conflict too, so that the caller asks
    // the lead's arm (assign_arms) and scores it again. NotFound, LeadFinal, Conflict,
    // Unavailable. The lead as stored afterwards.
    virtual Result<domain::Lead> record(const domain::Lead& seen, const domain::Analysis& analysis,
                                        Storage storage) = 0;
    // Stores analyses of distinct leads at once (a job's batch), each as record(seen,
    // analysis, Storage::OnLead) would, and appends `appended`. The outcome of each of
    // `on_leads`, in order; Validation when the set cannot be written as one (two analyses of
    // one lead, a text that is not UTF-8: nothing written), Unavailable. This default writes
    // them one by one; a store may write the set in one go.
    virtual Result<std::vector<SetOutcome>> record_set(std::span<const ToRecord> on_leads,
                                                       std::span<const ToAppend> appended);
    // Stores the arm of each lead of `proposals` that has none in `experiment` yet, with
    // `split` (domain::split_of), and answers each lead's arm as stored, in order: the arm it
    // was given first, whatever the split proposes now; nullopt for a lead that does not exist.
    // Unavailable.
    virtual Result<std::vector<std::optional<std::string>>> assign_arms(
        const std::string& experiment, const std::string& split,
        std::span<const domain::ArmAssignment> proposals) = 0;
    // Gives back what the session holds (its connection) before a wait that needs none (a
    // slow scorer's run); the next call takes it again.
    virtual void release() {}
  };

  virtual ~AnalysisStore() = default;
  // A session that holds nothing yet: what it needs, it takes on first use.
  virtual std::unique_ptr<Session> session() = 0;
};

}  // namespace leadscore::analysis
