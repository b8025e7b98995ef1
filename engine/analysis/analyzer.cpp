#include "engine/analysis/analyzer.h"

#include <algorithm>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/metrics/engine_metrics.h"

namespace leadscore::analysis {
namespace {

using domain::ErrorCode;
using domain::Lead;

// The index of the arm named `name` in `experiment`; nullopt when it has none of that name (an
// arm a reload removed).
std::optional<std::size_t> arm_index(const domain::Experiment& experiment,
                                     const std::string& name) {
  for (std::size_t i = 0; i < experiment.arms.size(); ++i)
    if (experiment.arms[i].name == name) return i;
  return std::nullopt;
}

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

// The row of a run of `analysis` that failed, kept before whatever answered instead.
domain::Analysis failed_row(const domain::Analysis& analysis, const ScorerFailure& run) {
  domain::Analysis failed = analysis;
  failed.scorer = run.scorer;
  failed.scorer_version = run.version;
  failed.error = run.error;
  failed.audit = run.audit;
  failed.latency_ms = run.latency_ms;
  return failed;
}

// A shadow run of `shadow` on the features of `base` (a primary analysis): its result, or as
// failed, with why (no fallback answers for a shadow).
domain::Analysis shadow_row(const domain::Analysis& base, const Scorer& shadow, ScoringRun run) {
  domain::Analysis analysis = base;
  analysis.role = "shadow";
  analysis.scorer = shadow.name();
  analysis.scorer_version = shadow.version();
  analysis.result.reset();
  analysis.error.reset();
  analysis.audit.reset();
  if (run.result) {
    analysis.latency_ms = run.latency_ms;
    analysis.result = std::move(*run.result);
    analysis.audit = std::move(run.audit);
  } else {
    const ScorerFailure& failed = run.failures.front();
    analysis.latency_ms = failed.latency_ms;
    analysis.error = failed.error;
    analysis.audit = failed.audit;
  }
  return analysis;
}

AnalysisFailure lead_final(std::int64_t id, domain::LeadStage stage) {
  return {{ErrorCode::LeadFinal,
           "lead " + std::to_string(id) + " is " + std::string(domain::to_string(stage)) +
               " and cannot be analyzed",
           {},
           {}},
          std::nullopt};
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
  // The experiment this analysis belongs to, if any: a primary analysis no caller chose the
  // scorer of. Its lead's arm is learnt once the lead is known to be open.
  const domain::Experiment* experiment = request.scorer ? nullptr : scorers->active_experiment();
  std::optional<std::size_t> arm;  // the lead's arm in it, once learnt (nullopt: none)
  bool arm_learnt = false;
  // The arm this analysis gives its lead with its write, when the lead was not known here to
  // have one; once a write refused it (the lead had another arm, or changed), the arm is asked
  // of the store instead.
  std::optional<domain::ArmProposal> proposal;
  bool ask_arm = false;
  const Scorer* scorer = choice->scorer;
  SlowRuns slow;
  slow.post = parts_.run_slow;
  slow.deadline = request.deadline.value_or(SlowRuns::Clock::now() + parts_.slow_run_limit);
  slow.owner = scorers;
  slow.stopping = parts_.stopping;
  bool may_wait = false;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    parts_.pause(attempt);
    if (!seen) {
      auto lead = session->get_lead(id);
      if (!lead) return failure(lead.error());
      seen = std::move(*lead);
    }
    if (domain::is_final(seen->stage)) {
      if (parts_.leads) parts_.leads->erase(id);
      return std::unexpected(lead_final(id, seen->stage));
    }
    if (experiment != nullptr && !arm_learnt) {
      if (!ask_arm) {
        arm = known_or_proposed(*experiment, id, proposal);
      } else {
        auto arms = arms_for(*session, *experiment, std::span<const std::int64_t>(&id, 1));
        if (!arms) return failure(arms.error());
        if (!arms->front().exists) {
          if (parts_.leads) parts_.leads->erase(id);
          return failure(domain::Error::not_found("lead " + std::to_string(id) + " not found"));
        }
        arm = arms->front().arm;
      }
      arm_learnt = true;
      scorer = arm ? &scorers->arm_scorer(*arm) : choice->scorer;
    }
    if (attempt == 0 || experiment != nullptr) {
      may_wait = slow.post && reaches_slow(*scorers, *scorer);
      if (may_wait && !slow.ended_late)
        slow.ended_late = ended_late(request, choice->primary ? "primary" : "adhoc");
    }
    domain::Analysis analysis = analysis_of(request, choice->primary, *seen, offer);
    if (arm) {
      analysis.experiment = experiment->name;
      analysis.arm = experiment->arms[*arm].name;
    }
    // A slow run may take seconds: no connection is held through it.
    if (may_wait) session->release();
    ScoringRun run = score_features(*scorers, *scorer, analysis.features, Fallbacks::Follow, &slow);
    // Every failed run is kept, with its error, before whatever answered instead.
    for (const ScorerFailure& failed_run : run.failures) {
      if (parts_.scorer_failed) parts_.scorer_failed(failed_run.scorer, failed_run.error);
      const domain::Analysis failed = failed_row(analysis, failed_run);
      if (auto kept = session->append(failed); !kept) return failure(kept.error());
      count_kept(failed, metrics::RunOutcome::Failed);
    }
    if (!run.result) return failure({ErrorCode::ScorerUnavailable, run.failure_summary(), {}, {}});
    analysis.scorer = run.scorer->name();
    analysis.scorer_version = run.scorer->version();
    analysis.latency_ms = run.latency_ms;
    analysis.result = std::move(*run.result);
    analysis.audit = std::move(run.audit);
    if (proposal && analysis.arm) analysis.assigning = proposal;
    auto stored =
        session->record(*seen, analysis, choice->primary ? Storage::OnLead : Storage::HistoryOnly);
    if (!stored && stored.error().code == ErrorCode::Conflict) {
      seen.reset();    // its inputs changed since it was read (or cached): read it again
      if (proposal) {  // or the lead has another arm: ask which
        proposal.reset();
        arm_learnt = false;
        ask_arm = true;
      }
      continue;
    }
    if (!stored) {
      if (parts_.leads) parts_.leads->erase(id);
      return failure(stored.error());
    }
    if (analysis.assigning) assignments_->put(experiment->name, id, *analysis.arm);
    count_kept(analysis,
               run.failures.empty() ? metrics::RunOutcome::Ok : metrics::RunOutcome::FellBack);
    if (choice->primary) {
      if (parts_.leads) parts_.leads->put(*stored);
      run_shadows(scorers, analysis, scorer);
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

std::optional<std::size_t> Analyzer::known_or_proposed(
    const domain::Experiment& experiment, std::int64_t lead,
    std::optional<domain::ArmProposal>& proposal) const {
  proposal.reset();
  if (auto known = assignments_->find(experiment.name, lead)) return arm_index(experiment, *known);
  const int bucket = domain::experiment_bucket(experiment, lead);
  const auto arm = domain::arm_of_bucket(experiment, bucket);
  if (arm) proposal = domain::ArmProposal{bucket, domain::split_of(experiment)};
  return arm;
}

Result<std::vector<Analyzer::LeadArm>> Analyzer::arms_for(
    AnalysisStore::Session& session, const domain::Experiment& experiment,
    std::span<const std::int64_t> leads) const {
  std::vector<LeadArm> arms(leads.size());
  std::vector<domain::ArmAssignment> proposals;
  std::vector<std::size_t> proposed_for;  // the index in `leads` of each proposal
  for (std::size_t i = 0; i < leads.size(); ++i) {
    if (auto known = assignments_->find(experiment.name, leads[i])) {
      arms[i].arm = arm_index(experiment, *known);
      continue;
    }
    const int bucket = domain::experiment_bucket(experiment, leads[i]);
    const auto arm = domain::arm_of_bucket(experiment, bucket);
    if (!arm) continue;  // an experiment without arms: never active (ScorerSet)
    proposals.push_back({leads[i], experiment.arms[*arm].name, bucket});
    proposed_for.push_back(i);
  }
  if (proposals.empty()) return arms;
  auto stored = session.assign_arms(experiment.name, domain::split_of(experiment), proposals);
  if (!stored) return std::unexpected(stored.error());
  for (std::size_t n = 0; n < proposals.size(); ++n) {
    LeadArm& lead = arms[proposed_for[n]];
    const std::optional<std::string>& arm = (*stored)[n];
    if (!arm) {
      lead.exists = false;
      continue;
    }
    assignments_->put(experiment.name, proposals[n].lead_id, *arm);
    lead.arm = arm_index(experiment, *arm);
  }
  return arms;
}

bool Analyzer::batches(const std::optional<std::string>& scorer) const {
  const auto scorers = parts_.scorers();
  const auto choice =
      choose_scorer(*scorers, AnalysisRequest{0, scorer, {}, std::nullopt, std::nullopt});
  if (!choice || reaches_slow(*scorers, *choice->scorer)) return false;
  // A lead of the active experiment may run its arm's scorer instead of the primary.
  if (const auto* experiment = scorer ? nullptr : scorers->active_experiment())
    for (std::size_t arm = 0; arm < experiment->arms.size(); ++arm)
      if (reaches_slow(*scorers, scorers->arm_scorer(arm))) return false;
  return !choice->primary ||
         std::ranges::none_of(scorers->shadows(), [](const Scorer* s) { return s->slow(); });
}

std::vector<BatchOutcome> Analyzer::analyze_batch(std::span<const Lead> leads,
                                                  const AnalysisRequest& each) const {
  const std::optional<std::string>& scorer = each.scorer;
  auto request_for = [&](std::int64_t id) {
    AnalysisRequest request = each;
    request.lead_id = id;
    return request;
  };
  std::vector<BatchOutcome> outcomes(leads.size());
  auto one_by_one = [&](std::size_t i) {
    auto outcome = analyze(request_for(leads[i].id));
    if (!outcome) outcomes[i] = std::unexpected(std::move(outcome.error()));
  };
  const auto scorers = parts_.scorers();  // the batch finishes on the set it started with
  const auto choice = choose_scorer(*scorers, each);
  if (!choice) {
    std::ranges::fill(outcomes, failure(choice.error()));
    return outcomes;
  }
  if (!batches(scorer)) {
    for (std::size_t i = 0; i < leads.size(); ++i) one_by_one(i);
    return outcomes;
  }
  const auto offer = parts_.offer ? parts_.offer() : nullptr;
  // The arms of the open leads in the active experiment (a batch of the primary), learnt in
  // one go; a lead that is gone is left to the set write, which says so.
  const domain::Experiment* experiment = each.scorer ? nullptr : scorers->active_experiment();
  std::vector<LeadArm> lead_arms(leads.size());
  if (experiment != nullptr) {
    std::vector<std::int64_t> open;
    std::vector<std::size_t> open_at;
    for (std::size_t i = 0; i < leads.size(); ++i)
      if (!domain::is_final(leads[i].stage)) {
        open.push_back(leads[i].id);
        open_at.push_back(i);
      }
    auto arms = arms_for(*store_.session(), *experiment, open);
    if (!arms) {
      std::ranges::fill(outcomes, failure(arms.error()));
      return outcomes;
    }
    for (std::size_t n = 0; n < open.size(); ++n) lead_arms[open_at[n]] = (*arms)[n];
  }
  // Every row of the set. Reserved up front: the set write points into both.
  const std::size_t shadows = choice->primary ? scorers->shadows().size() : 0;
  std::vector<domain::Analysis> analyses;
  analyses.reserve(leads.size());
  std::vector<domain::Analysis> rows;
  std::vector<ToRecord> on_leads;
  std::vector<ToAppend> appended;
  std::vector<std::size_t> lead_of;  // the index in `leads` of each of on_leads
  for (std::size_t i = 0; i < leads.size(); ++i) {
    const Lead& lead = leads[i];
    if (domain::is_final(lead.stage)) {
      if (parts_.leads) parts_.leads->erase(lead.id);
      outcomes[i] = std::unexpected(lead_final(lead.id, lead.stage));
      continue;
    }
    domain::Analysis analysis = analysis_of(request_for(lead.id), choice->primary, lead, offer);
    const Scorer* scorer = choice->scorer;
    if (const auto& arm = lead_arms[i].arm; experiment != nullptr && arm) {
      scorer = &scorers->arm_scorer(*arm);
      analysis.experiment = experiment->name;
      analysis.arm = experiment->arms[*arm].name;
    }
    ScoringRun run =
        score_features(*scorers, *scorer, analysis.features, Fallbacks::Follow, nullptr);
    for (const ScorerFailure& failed_run : run.failures) {
      if (parts_.scorer_failed) parts_.scorer_failed(failed_run.scorer, failed_run.error);
      rows.push_back(failed_row(analysis, failed_run));
      appended.push_back({nullptr, false});
    }
    if (!run.result) {
      outcomes[i] = failure({ErrorCode::ScorerUnavailable, run.failure_summary(), {}, {}});
      continue;
    }
    analysis.scorer = run.scorer->name();
    analysis.scorer_version = run.scorer->version();
    analysis.latency_ms = run.latency_ms;
    analysis.result = std::move(*run.result);
    analysis.audit = std::move(run.audit);
    for (std::size_t n = 0; n < shadows; ++n) {
      const Scorer& shadow = *scorers->shadows()[n];
      if (&shadow == scorer) continue;  // the lead's arm ran it as its primary
      rows.push_back(shadow_row(
          analysis, shadow,
          score_features(*scorers, shadow, analysis.features, Fallbacks::Ignore, nullptr)));
      if (rows.back().error && parts_.scorer_failed)
        parts_.scorer_failed(shadow.name(), *rows.back().error);
      appended.push_back({nullptr, true});
    }
    analyses.push_back(std::move(analysis));
    on_leads.push_back({&lead, nullptr});
    lead_of.push_back(i);
  }
  for (std::size_t n = 0; n < on_leads.size(); ++n) on_leads[n].analysis = &analyses[n];
  for (std::size_t n = 0; n < appended.size(); ++n) appended[n].analysis = &rows[n];

  auto written = store_.session()->record_set(on_leads, appended);
  if (!written && written.error().code == ErrorCode::Unavailable) {
    for (const std::size_t i : lead_of) outcomes[i] = failure(written.error());
    return outcomes;
  }
  if (!written) {  // the set cannot be written as one: each on its own, so that only its own fails
    for (const std::size_t i : lead_of) one_by_one(i);
    return outcomes;
  }
  // Each run kept, counted as analyze() counts it: the failed runs of a lead that exists, the
  // analysis and its shadow runs of a lead it was stored on.
  std::unordered_map<std::int64_t, SetOutcome> outcome_of;
  for (std::size_t n = 0; n < lead_of.size(); ++n) outcome_of[analyses[n].lead_id] = (*written)[n];
  std::unordered_set<std::int64_t> fell_back;
  for (const ToAppend& row : appended) {
    const domain::Analysis& analysis = *row.analysis;
    const auto outcome = outcome_of.find(analysis.lead_id);
    // A lead with no analysis in the set (every scorer failed) was read just now: it exists.
    const bool kept = outcome == outcome_of.end()
                          ? !row.only_if_stored
                          : (row.only_if_stored ? outcome->second == SetOutcome::Stored
                                                : outcome->second != SetOutcome::Missing);
    if (!kept) continue;
    if (!row.only_if_stored) fell_back.insert(analysis.lead_id);
    count_kept(analysis, analysis.error ? metrics::RunOutcome::Failed : metrics::RunOutcome::Ok);
  }
  for (std::size_t n = 0; n < lead_of.size(); ++n)
    if ((*written)[n] == SetOutcome::Stored)
      count_kept(analyses[n], fell_back.contains(analyses[n].lead_id)
                                  ? metrics::RunOutcome::FellBack
                                  : metrics::RunOutcome::Ok);
  for (std::size_t n = 0; n < lead_of.size(); ++n) {
    const std::size_t i = lead_of[n];
    const std::int64_t id = leads[i].id;
    switch ((*written)[n]) {
      case SetOutcome::Stored:
        // The cached lead, if any, holds an older result: the next analysis reads it again.
        if (parts_.leads) parts_.leads->erase(id);
        break;
      // Changed since it was read (final, maybe): analyze() reads it again and says which.
      case SetOutcome::Final:
      case SetOutcome::Changed:
        one_by_one(i);
        break;
      case SetOutcome::Missing:
        outcomes[i] =
            failure(domain::Error::not_found("lead " + std::to_string(id) + " not found"));
        break;
    }
  }
  return outcomes;
}

// Runs the shadow scorers on the features the primary saw, off the response path: recorded as
// analyses (role "shadow"), never stored on the lead, never delaying the answer. Each is held to
// its own checks and budget_ms, with no fallback: a failed run is kept as failed, with why. When
// run_off_path refuses the task, the shadow runs of this analysis are skipped, with a warning.
void Analyzer::run_shadows(std::shared_ptr<const ScorerSet> scorers,
                           const domain::Analysis& primary, const Scorer* ran) const {
  if (!parts_.run_off_path || scorers->shadows().empty()) return;
  if (scorers->shadows().size() == 1 && scorers->shadows().front() == ran) return;
  const std::int64_t lead_id = primary.lead_id;
  std::move_only_function<void()> task = [this, scorers = std::move(scorers), base = primary, ran] {
    std::vector<domain::Analysis> runs;
    runs.reserve(scorers->shadows().size());
    SlowRuns slow;
    slow.post = parts_.run_slow;
    slow.deadline = SlowRuns::Clock::now() + parts_.slow_run_limit;
    slow.owner = scorers;
    slow.stopping = parts_.stopping;
    slow.ended_late = ended_late(request_of(base), "shadow");
    for (const Scorer* shadow : scorers->shadows()) {
      if (shadow == ran) continue;  // the lead's experiment arm ran it as its primary
      const domain::Analysis& analysis = runs.emplace_back(
          shadow_row(base, *shadow,
                     score_features(*scorers, *shadow, base.features, Fallbacks::Ignore, &slow)));
      if (analysis.error && parts_.scorer_failed)
        parts_.scorer_failed(shadow->name(), *analysis.error);
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
