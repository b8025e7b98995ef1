// The analysis pipeline: one analysis of one lead, end to end. The lead (from the lead cache or
// the store) → its features (profile fields, the active offer) → the scorer (the primary, or
// one named by the caller) → the scoring step with its fallbacks and the result contract
// (scoring_step.h) → every failed run recorded, then the result → shadow runs handed off the
// response path. A concurrent change of the lead's inputs between the read and the write makes
// it read the lead again and score again.
//
// Experiments: while the scorer set has an active experiment (ScorerSet::active_experiment),
// a primary analysis that names no scorer runs the scorer of the lead's arm as that lead's
// primary (arm_for()): the arm stored on the lead's first analysis in the experiment, or else
// the one its bucket falls in now, stored then. Every row of such an analysis (failed runs,
// shadow runs) records the experiment and the arm; a shadow that is the arm's scorer itself is
// not run again. A caller that names a scorer (?scorer=, a job's scorer) gets that scorer and
// no arm: the explicit choice wins, and the lead is not assigned by it.
//
// Seams for what comes next:
// - a job runner: analyze_batch() scores a claimed batch of leads on the calling thread and
//   stores it with one set write (when no scorer it may run is slow); analyze() is a blocking
//   call that any thread may make, per lead;
// - slow scorers (an LLM) run wherever AnalyzerParts::run_slow sends them: the calling thread
//   waits for each such run until the request's deadline at most, holding no store connection;
// - the shadow runs go wherever AnalyzerParts::run_off_path sends them.
//
// Threading: analyze() is safe from any number of threads at once; it blocks on the store. The
// Analyzer must outlive the tasks it handed to run_off_path (stop that pool first); the store
// must outlive those it handed to run_slow (a run given up on is recorded when it ends).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "engine/analysis/analysis_store.h"
#include "engine/analysis/assignment_cache.h"
#include "engine/analysis/lead_cache.h"
#include "engine/analysis/scoring_step.h"
#include "engine/domain/offer.h"

namespace leadscore::analysis {

// What an Analyzer works with besides the store. Each callable may be called from any thread.
struct AnalyzerParts {
  // The scorer set now serving. An analysis finishes on the set it started with, even if a
  // reload swaps in another meanwhile.
  std::function<std::shared_ptr<const ScorerSet>()> scorers;
  // Told of every failed scorer run (GET /scorers shows the last); may be empty.
  std::function<void(const std::string& scorer, const std::string& error)> scorer_failed;
  // The active offer that every scorer of an analysis sees; empty or nullptr: none.
  std::function<std::shared_ptr<const domain::OfferView>()> offer;
  // Recently analyzed leads; nullptr: every analysis reads its lead from the store.
  LeadCache* leads = nullptr;
  // Runs a task off the response path (the shadow runs of a primary analysis); false when it
  // refused the task, which is then dropped. Empty: no shadow runs.
  std::function<bool(std::move_only_function<void()>&&)> run_off_path;
  // Runs a slow scorer's run (Scorer::slow()) off the calling thread, on a bounded pool; false
  // when the pool is full, and the run fails at once (its fallback answers). Empty: slow
  // scorers run on the calling thread like the others.
  std::function<bool(std::move_only_function<void()>&&)> run_slow;
  // How long a slow run is waited for when the request gives no deadline, and for shadows.
  std::chrono::milliseconds slow_run_limit{std::chrono::seconds(10)};
  // Set when the server stops: slow runs are no longer waited for; may be null.
  const std::atomic<bool>* stopping = nullptr;
  // Where the pipeline's warnings go (shadow runs skipped or not kept); may be empty.
  std::function<void(const std::string&)> warn;
  // Waits before attempt `attempt` (0-based) of one analysis; empty: sleeps retry_pause().
  std::function<void(int attempt)> pause;
};

struct AnalysisRequest {
  std::int64_t lead_id = 0;
  // The scorer the caller named; nullopt: the primary. Any scorer but the primary runs ad hoc:
  // recorded in the lead's history, never stored on the lead, no shadow runs.
  std::optional<std::string> scorer;
  std::string actor;  // the API key name that asked
  // No slow scorer's run is waited for past this moment (the request must be answered before
  // its connection times out); nullopt: AnalyzerParts::slow_run_limit from now.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // The request that asked (its X-Request-Id), or "job:<id>" for a job's; stored on every
  // analysis row this analysis writes. nullopt: none.
  std::optional<std::string> request_id;
};

struct AnalysisOutcome {
  // The run that answered, as recorded: role, scorer, version, features, result, latency.
  domain::Analysis analysis;
  // The lead once the analysis was recorded (with the result on it, for a primary analysis).
  domain::Lead lead;
  // The first failed run when a fallback answered.
  std::optional<ScorerFailure> fallback_from;
};

struct AnalysisFailure {
  domain::Error error;
  // Set when nothing is wrong but the moment: the caller may try again after this long.
  std::optional<int> retry_after_seconds;
};

// The scorer an analysis runs, and whether its result decides the lead.
struct ScorerChoice {
  const Scorer* scorer = nullptr;
  bool primary = true;  // stored on the lead and followed by the shadows; else an ad-hoc run
};

// The primary, or the scorer `request` names (Validation "unknown scorer NAME" when `set` has
// none of that name). Naming the primary is a primary analysis (outside any experiment). A
// primary analysis of a lead in the active experiment then runs its arm's scorer instead
// (Analyzer::arms_for), once the lead is known.
std::expected<ScorerChoice, domain::Error> choose_scorer(const ScorerSet& set,
                                                         const AnalysisRequest& request);

// The pause before attempt `attempt` (0-based) of an analysis: none before the first two, then
// 1, 2, 4 .. 64 ms, of which a random half to all, so that the attempts of several analyses
// spread out instead of meeting the next change together.
std::chrono::microseconds retry_pause(int attempt, std::minstd_rand& random);

// One lead's outcome of Analyzer::analyze_batch: analyzed, or why not.
using BatchOutcome = std::expected<void, AnalysisFailure>;

class Analyzer {
 public:
  // An analysis is stored only on the lead as it scored it: when another request changes the
  // lead's inputs (stage, fields, activity) between the read and the write, the analysis reads
  // the lead again and scores it again, up to this many times in all (0.3 to 0.6 s of the lead
  // changing without a break). Other analyses of the lead never count: storing a score changes
  // no input.
  static constexpr int kAttempts = 16;

  // `store` must outlive the Analyzer.
  Analyzer(AnalysisStore& store, AnalyzerParts parts);

  // Analyzes the lead: the outcome, or why not — the errors of the store (NotFound,
  // Unavailable, ...), Validation (unknown scorer), LeadFinal (the lead is transferred or lost;
  // it leaves the lead cache), ScorerUnavailable (every scorer of the chain failed), or
  // Unavailable with retry_after_seconds when the lead kept changing for kAttempts attempts.
  std::expected<AnalysisOutcome, AnalysisFailure> analyze(const AnalysisRequest& request) const;

  // Whether analyze_batch() scores a batch for the scorer named `scorer` (nullopt: the primary)
  // on the calling thread: no scorer it may run — down its fallbacks, and the shadows of a
  // primary analysis — is slow, and the scorer exists.
  bool batches(const std::optional<std::string>& scorer) const;
  // Analyzes distinct leads, as read from the store, each as analyze() would with `each` for
  // that lead (its lead_id is not read) — the same scorers, fallbacks, failed runs kept, shadow
  // runs of a primary analysis — with two differences: every run is made on the calling thread, and
  // the batch is stored by one set write (AnalysisStore::Session::record_set), shadows included. A
  // lead whose inputs changed since it was read is analyzed again through analyze(). When
  // batches(scorer) is false, each lead goes through analyze() in turn. The outcome of each lead,
  // in order.
  std::vector<BatchOutcome> analyze_batch(std::span<const domain::Lead> leads,
                                          const AnalysisRequest& each) const;

 private:
  void run_shadows(std::shared_ptr<const ScorerSet> scorers, const domain::Analysis& primary,
                   const Scorer* ran) const;
  // A lead's arm in an experiment: an index of the experiment's arms; nullopt when the lead's
  // stored arm is no arm of the experiment now (an arm removed by a reload: the lead then runs
  // the primary, outside the experiment). `exists` is false for a lead that does not exist.
  struct LeadArm {
    bool exists = true;
    std::optional<std::size_t> arm;
  };
  // The lead's arm (an index of its arms) in `experiment` as known here (the cache), else as
  // the split proposes it, with `proposal` set for the analysis's write to store
  // (Analysis::assigning): no round trip either way.
  std::optional<std::size_t> known_or_proposed(const domain::Experiment& experiment,
                                               std::int64_t lead,
                                               std::optional<domain::ArmProposal>& proposal) const;
  // The arms of `leads` (distinct ids) in `experiment`, as stored, storing those not yet
  // assigned (from the cache, else one round trip for them all).
  Result<std::vector<LeadArm>> arms_for(AnalysisStore::Session& session,
                                        const domain::Experiment& experiment,
                                        std::span<const std::int64_t> leads) const;
  void warn(const std::string& message) const;
  std::function<void(const Features&, ScorerFailure)> ended_late(const AnalysisRequest& request,
                                                                 std::string role) const;

  AnalysisStore& store_;
  AnalyzerParts parts_;
  std::unique_ptr<AssignmentCache> assignments_ = std::make_unique<AssignmentCache>();
};

}  // namespace leadscore::analysis
