#include "engine/webhooks/delivery_policy.h"

#include <algorithm>
#include <cmath>

namespace leadscore::webhooks {

using domain::DeliveryStatus;
using std::chrono::milliseconds;

milliseconds backoff(int failed, double jitter, const DeliveryPolicy& policy) {
  const double start = static_cast<double>(policy.backoff_start.count());
  const double cap = static_cast<double>(policy.backoff_max.count());
  // 2^62 ms is far past any cap: stop doubling there rather than overflow.
  const double base = std::min(cap, start * std::exp2(std::clamp(failed - 1, 0, 62)));
  const double unit = std::clamp(jitter, 0.0, 1.0);
  return milliseconds(static_cast<std::int64_t>(std::llround(base / 2 + unit * base / 2)));
}

store::DeliveryAttemptOutcome decide(const AttemptResult& attempt, int attempts_before,
                                     milliseconds age, double jitter,
                                     const DeliveryPolicy& policy) {
  // The one place where a delivery's result is decided (delivered, failed and retried, dead):
  // a count of deliveries by result belongs here.
  store::DeliveryAttemptOutcome outcome;
  outcome.status_code = attempt.status_code;
  outcome.error = attempt.error;
  outcome.latency_ms = attempt.latency_ms;
  if (attempt.status_code && *attempt.status_code >= 200 && *attempt.status_code < 300) {
    outcome.next = DeliveryStatus::Delivered;
    outcome.error.reset();
    return outcome;
  }
  if (!outcome.error && !outcome.status_code) outcome.error = "no answer";
  if (attempt.interrupted) {
    outcome.next = DeliveryStatus::Failed;
    outcome.retry_in = milliseconds(0);
    return outcome;
  }
  if (age >= policy.give_up_after) {
    outcome.next = DeliveryStatus::Dead;
    return outcome;
  }
  // The last attempt falls on the give-up age at the latest; if it fails too, the delivery is
  // dead.
  outcome.next = DeliveryStatus::Failed;
  outcome.retry_in =
      std::min(backoff(attempts_before + 1, jitter, policy), policy.give_up_after - age);
  return outcome;
}

}  // namespace leadscore::webhooks
