#include "engine/analysis/scoring_step.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <expected>
#include <mutex>

#include "engine/scoring/scorer_run.h"

namespace leadscore::analysis {
namespace {

using Clock = std::chrono::steady_clock;

using SingleRun = scoring::CheckedRun;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// One run of one scorer in the calling thread, held to the contract and its budget.
SingleRun run_once(const ScorerSet& set, const Scorer& scorer, const Features& features) {
  const scoring::ScorerEntry* entry = set.entry_of(scorer);
  return scoring::run_checked(scorer, entry != nullptr ? entry->budget_ms : 0, features);
}

// A slow scorer's run on the slow pool; the calling thread waits for it until the deadline or
// the scorer's budget, whichever comes first.
SingleRun run_slow(const ScorerSet& set, const Scorer& scorer, const Features& features,
                   const SlowRuns& slow) {
  const auto start = Clock::now();
  auto deadline = slow.deadline;
  const scoring::ScorerEntry* entry = set.entry_of(scorer);
  if (entry != nullptr && entry->budget_ms > 0)
    deadline = std::min(deadline, start + std::chrono::milliseconds(entry->budget_ms));
  const auto failed = [&](std::string why) {
    return SingleRun{std::unexpected(std::move(why)), ms_since(start), std::nullopt};
  };
  if (deadline <= start) return failed("no time was left for a slow scorer's run");
  // Shared by the waiting caller and the task, which may outlive the caller's wait.
  struct Handoff {
    std::mutex mutex;
    std::condition_variable done;
    std::optional<SingleRun> run;
    bool given_up = false;  // the caller stopped waiting: the run is reported as ended late
  };
  auto handoff = std::make_shared<Handoff>();
  std::move_only_function<void()> task = [handoff, owner = slow.owner, ended_late = slow.ended_late,
                                          &set, &scorer, features = features, start, deadline] {
    if (Clock::now() >= deadline) {  // its caller gave up before it could start: never run
      std::lock_guard lock(handoff->mutex);
      handoff->given_up = true;
      return;
    }
    SingleRun run = run_once(set, scorer, features);
    {
      std::lock_guard lock(handoff->mutex);
      if (!handoff->given_up) {
        handoff->run = std::move(run);
        handoff->done.notify_all();
        return;
      }
    }
    if (!ended_late) return;
    const auto waited =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - start).count();
    std::string what = run.result ? "answered" : "failed (" + run.result.error() + ")";
    ended_late(features, ScorerFailure{scorer.name(), scorer.version(),
                                       what + " after " +
                                           std::to_string(static_cast<long long>(run.latency_ms)) +
                                           " ms, when it had been given up on at " +
                                           std::to_string(waited) + " ms: its result was dropped",
                                       run.latency_ms, std::move(run.audit)});
  };
  if (!slow.post(std::move(task)))
    return failed("the slow-scorer pool is full (server.slow_workers, server.slow_queue)");
  std::unique_lock lock(handoff->mutex);
  const auto ended = [&] { return handoff->run.has_value(); };
  // In slices, so that a stop of the server ends the wait soon.
  constexpr auto kSlice = std::chrono::milliseconds(50);
  while (!ended()) {
    if (slow.stopping != nullptr && slow.stopping->load()) {
      handoff->given_up = true;
      return failed("the server is stopping: the slow run was given up on");
    }
    if (Clock::now() >= deadline) {
      handoff->given_up = true;
      return failed(
          "no answer within " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::milliseconds>(deadline - start).count()) +
          " ms: the slow run was given up on");
    }
    handoff->done.wait_until(lock, std::min(deadline, Clock::now() + kSlice), ended);
  }
  return std::move(*handoff->run);
}

}  // namespace

std::string ScoringRun::failure_summary() const {
  std::string out;
  for (const auto& failure : failures) {
    if (!out.empty()) out += "; ";
    out += "scorer " + failure.scorer + " failed: " + failure.error;
  }
  return out;
}

ScoringRun score_features(const ScorerSet& set, const Scorer& scorer, const Features& features,
                          Fallbacks fallbacks, const SlowRuns* slow) {
  ScoringRun run;
  const Scorer* at = &scorer;
  // Fallback cycles are refused when the set is built; the bound is a second guard.
  for (std::size_t step = 0; at != nullptr && step <= set.entries().size(); ++step) {
    SingleRun once = slow != nullptr && slow->post && at->slow()
                         ? run_slow(set, *at, features, *slow)
                         : run_once(set, *at, features);
    if (once.result) {
      run.result = std::move(*once.result);
      run.scorer = at;
      run.latency_ms = once.latency_ms;
      run.audit = std::move(once.audit);
      return run;
    }
    run.failures.push_back({at->name(), at->version(), std::move(once.result.error()),
                            once.latency_ms, std::move(once.audit)});
    at = fallbacks == Fallbacks::Follow ? set.fallback_of(*at) : nullptr;
  }
  return run;
}

}  // namespace leadscore::analysis
