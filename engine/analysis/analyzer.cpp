#include "engine/analysis/analyzer.h"

#include <algorithm>
#include <thread>
#include <utility>
#include <vector>

#include "engine/metrics/engine_metrics.h"

namespace leadscore::analysis {
namespace {

using domain::ErrorCode;
using domain::Lead;

std::unexpected<AnalysisFailure> failure(domain::Error error) {
  return std::unexpected(AnalysisFailure{std::move(error), std::nullopt});
}

void sleep_before(int attempt) {
  thread_local std::minstd_rand random{std::random_device{}()};
  std::this_thread::sleep_for(retry_pause(attempt, random));
}

// The request a shadow task stands for: its lead, actor and request id.
AnalysisRequest request_of(const domain::Analysis& analysis) {
  return {analysis.lead_id, std::nullopt, analysis.actor, std::nullopt, analysis.request_id};
}

// An analysis kept: its run counted (engine/metrics).
void count_kept(const domain::Analysis& analysis, metrics::RunOutcome outcome) {
  metrics::count_scorer_run(analysis.scorer, analysis.scorer_version, outcome, analysis.latency_ms,
                            analysis.audit);
}

domain::Analysis analysis_of(const AnalysisRequest& request, bool primary, const Lead& lead,
                             std::shared_ptr<const domain::OfferView> offer) {
  domain::Analysis analysis;
  analysis.lead_id = request.lead_id;
  analysis.role = primary ? "primary" : "adhoc";
  analysis.actor = request.actor;
  analysis.request_id = request.request_id;
  analysis.features = domain::features_of(lead, std::move(offer));
  return analysis;
}

// Whether a run of `scorer` may reach a slow scorer, itself or down its fallbacks.
bool reaches_slow(const ScorerSet& set, const Scorer& scorer) {
  const Scorer* at = &scorer;
  for (std::size_t step = 0; at != nullptr && step <= set.entries().size(); ++step) {
    if (at->slow()) return true;
    at = set.fallback_of(*at);
  }
  return false;
}

}  // namespace

std::expected<ScorerChoice, domain::Error> choose_scorer(const ScorerSet& set,
                                                         const AnalysisRequest& request) {
  // An experiment's arm would be chosen here, per lead, as that lead's primary.
  if (!request.scorer) return ScorerChoice{&set.primary(), true};
  const Scorer* named = set.find(*request.scorer);
  if (named == nullptr)
    return std::unexpected(
        domain::Error::validation("scorer", "unknown scorer " + *request.scorer));
  return ScorerChoice{named, named == &set.primary()};
}

std::chrono::microseconds retry_pause(int attempt, std::minstd_rand& random) {
  if (attempt < 2) return {};
  const int full_us = 1000 << std::min(attempt - 2, 6);
  return std::chrono::microseconds(
      std::uniform_int_distribution<int>(full_us / 2, full_us)(random));
}

Analyzer::Analyzer(AnalysisStore& store, AnalyzerParts parts)
    : store_(store), parts_(std::move(parts)) {
  if (!parts_.pause) parts_.pause = sleep_before;
}

std::expected<AnalysisOutcome, AnalysisFailure> Analyzer::analyze(
    const AnalysisRequest& request) const {
  const auto scorers = parts_.scorers();  // this analysis finishes on the set it started with
  const auto choice = choose_scorer(*scorers, request);
  if (!choice) return failure(choice.error());
  const std::int64_t id = request.lead_id;
  // Every scorer of this analysis (primary, fallbacks, shadows) sees this one offer; taken
  // before the store session leases anything, as it may read the offer from the database.
  const auto offer = parts_.offer ? parts_.offer() : nullptr;
  const auto session = store_.session();
  // A primary run may start from the cached lead: its write is guarded by the input revision.
  std::optional<Lead> seen =
      choice->primary && parts_.leads ? parts_.leads->find(id) : std::nullopt;
  SlowRuns slow;
  slow.post = parts_.run_slow;
  slow.deadline = request.deadline.value_or(SlowRuns::Clock::now() + parts_.slow_run_limit);
  slow.owner = scorers;
  slow.stopping = parts_.stopping;
  const bool may_wait = slow.post && reaches_slow(*scorers, *choice->scorer);
  if (may_wait) slow.ended_late = ended_late(request, choice->primary ? "primary" : "adhoc");
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    parts_.pause(attempt);
    if (!seen) {
      auto lead = session->get_lead(id);
      if (!lead) return failure(lead.error());
      seen = std::move(*lead);
    }
    if (domain::is_final(seen->stage)) {
      if (parts_.leads) parts_.leads->erase(id);
      return failure({ErrorCode::LeadFinal,
                      "lead " + std::to_string(id) + " is " +
                          std::string(domain::to_string(seen->stage)) + " and cannot be analyzed",
                      {},
                      {}});
    }
    domain::Analysis analysis = analysis_of(request, choice->primary, *seen, offer);
    // A slow run may take seconds: no connection is held through it.
    if (may_wait) session->release();
    ScoringRun run =
        score_features(*scorers, *choice->scorer, analysis.features, Fallbacks::Follow, &slow);
    // Every failed run is kept, with its error, before whatever answered instead.
    for (const ScorerFailure& failed_run : run.failures) {
      if (parts_.scorer_failed) parts_.scorer_failed(failed_run.scorer, failed_run.error);
      domain::Analysis failed = analysis;
      failed.scorer = failed_run.scorer;
      failed.scorer_version = failed_run.version;
      failed.error = failed_run.error;
      failed.audit = failed_run.audit;
      failed.latency_ms = failed_run.latency_ms;
      if (auto kept = session->append(failed); !kept) return failure(kept.error());
      count_kept(failed, metrics::RunOutcome::Failed);
    }
    if (!run.result) return failure({ErrorCode::ScorerUnavailable, run.failure_summary(), {}, {}});
    analysis.scorer = run.scorer->name();
    analysis.scorer_version = run.scorer->version();
    analysis.latency_ms = run.latency_ms;
    analysis.result = std::move(*run.result);
    analysis.audit = std::move(run.audit);
    auto stored =
        session->record(*seen, analysis, choice->primary ? Storage::OnLead : Storage::HistoryOnly);
    if (!stored && stored.error().code == ErrorCode::Conflict) {
      seen.reset();  // its inputs changed since it was read (or cached): read it again
      continue;
    }
    if (!stored) {
      if (parts_.leads) parts_.leads->erase(id);
      return failure(stored.error());
    }
    count_kept(analysis,
               run.failures.empty() ? metrics::RunOutcome::Ok : metrics::RunOutcome::FellBack);
    if (choice->primary) {
      if (parts_.leads) parts_.leads->put(*stored);
      run_shadows(scorers, analysis);
    }
    std::optional<ScorerFailure> fallback_from;  // when a fallback answered: what it answered for
    if (!run.failures.empty()) fallback_from = std::move(run.failures.front());
    return AnalysisOutcome{std::move(analysis), std::move(*stored), std::move(fallback_from)};
  }
  // Every attempt lost to a change of the lead made by others. Not a conflict: this analysis
  // conflicts with nothing (the lead may be analyzed, and will be once the changes pause), so
  // there is nothing for its caller to resolve; it could not finish for now, and may try again.
  return std::unexpected(
      AnalysisFailure{{ErrorCode::Unavailable,
                       "lead " + std::to_string(id) + " kept changing while it was analyzed (" +
                           std::to_string(kAttempts) + " attempts); try again in a moment",
                       {},
                       {}},
                      1});
}

// Runs the shadow scorers on the features the primary saw, off the response path: recorded as
// analyses (role "shadow"), never stored on the lead, never delaying the answer. Each is held to
// its own checks and budget_ms, with no fallback: a failed run is kept as failed, with why. When
// run_off_path refuses the task, the shadow runs of this analysis are skipped, with a warning.
void Analyzer::run_shadows(std::shared_ptr<const ScorerSet> scorers,
                           const domain::Analysis& primary) const {
  if (!parts_.run_off_path || scorers->shadows().empty()) return;
  domain::Analysis base = primary;
  base.role = "shadow";
  base.result.reset();
  base.error.reset();
  base.audit.reset();
  const std::int64_t lead_id = primary.lead_id;
  std::move_only_function<void()> task = [this, scorers = std::move(scorers),
                                          base = std::move(base)] {
    std::vector<domain::Analysis> runs;
    runs.reserve(scorers->shadows().size());
    SlowRuns slow;
    slow.post = parts_.run_slow;
    slow.deadline = SlowRuns::Clock::now() + parts_.slow_run_limit;
    slow.owner = scorers;
    slow.stopping = parts_.stopping;
    slow.ended_late = ended_late(request_of(base), "shadow");
    for (const Scorer* shadow : scorers->shadows()) {
      domain::Analysis& analysis = runs.emplace_back(base);
      ScoringRun run =
          score_features(*scorers, *shadow, analysis.features, Fallbacks::Ignore, &slow);
      analysis.scorer = shadow->name();
      analysis.scorer_version = shadow->version();
      if (run.result) {
        analysis.latency_ms = run.latency_ms;
        analysis.result = std::move(*run.result);
        analysis.audit = std::move(run.audit);
      } else {
        const ScorerFailure& failed = run.failures.front();
        analysis.latency_ms = failed.latency_ms;
        analysis.error = failed.error;
        analysis.audit = failed.audit;
        if (parts_.scorer_failed) parts_.scorer_failed(shadow->name(), failed.error);
      }
    }
    // The connection is taken only once every shadow has run.
    const auto session = store_.session();
    for (const domain::Analysis& analysis : runs) {
      auto kept = session->append(analysis);
      if (kept) {
        count_kept(analysis,
                   analysis.error ? metrics::RunOutcome::Failed : metrics::RunOutcome::Ok);
        continue;
      }
      warn("shadow run of " + analysis.scorer + " on lead " + std::to_string(analysis.lead_id) +
           " not kept: " + kept.error().message);
      // No connection to be had: the next run would only wait as long again.
      if (kept.error().code == ErrorCode::Unavailable) return;
    }
  };
  if (!parts_.run_off_path(std::move(task)))
    warn("shadow runs of lead " + std::to_string(lead_id) + " skipped: the shadow queue is full");
}

// A slow run given up on that ended after all is appended to the lead's history with what it did
// and its audit (an LLM's tokens were spent all the same). Runs on the slow pool's thread, after
// the analysis has answered: it holds the store, never the Analyzer.
std::function<void(const Features&, ScorerFailure)> Analyzer::ended_late(
    const AnalysisRequest& request, std::string role) const {
  return [&store = store_, warn = parts_.warn, lead_id = request.lead_id, actor = request.actor,
          request_id = request.request_id,
          role = std::move(role)](const Features& features, ScorerFailure run) {
    // Its tokens were spent: counted, though the analysis counted the run as failed already.
    metrics::count_llm_usage(run.scorer, run.audit);
    domain::Analysis late;
    late.lead_id = lead_id;
    late.role = role;
    late.actor = actor;
    late.request_id = request_id;
    late.features = features;
    late.scorer = std::move(run.scorer);
    late.scorer_version = std::move(run.version);
    late.error = std::move(run.error);
    late.audit = std::move(run.audit);
    late.latency_ms = run.latency_ms;
    auto kept = store.session()->append(late);
    if (!kept && warn)
      warn("late run of " + late.scorer + " on lead " + std::to_string(lead_id) +
           " not kept: " + kept.error().message);
  };
}

void Analyzer::warn(const std::string& message) const {
  if (parts_.warn) parts_.warn(message);
}

}  // namespace leadscore::analysis
