// What becomes of a webhook delivery after an attempt: delivered on a 2xx answer; otherwise
// attempted again after an exponential backoff with jitter, until the delivery's give-up age,
// then dead. Pure: the jitter is given (a number in [0, 1)), so the schedule is repeatable.
//
// Safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "engine/store/store.h"

namespace leadscore::webhooks {

struct DeliveryPolicy {
  std::chrono::milliseconds backoff_start{1000};
  std::chrono::milliseconds backoff_max{3'600'000};
  std::chrono::milliseconds give_up_after{86'400'000};
};

// The wait after the `failed`-th failed attempt (1: the first): between half and all of
// min(backoff_max, backoff_start * 2^(failed-1)), where in that range `jitter` (in [0, 1))
// says. Jitter spreads the retries of many deliveries that failed together (a receiver that
// was down) so that they do not all come back at once.
std::chrono::milliseconds backoff(int failed, double jitter, const DeliveryPolicy& policy);

// One attempt as it went: the HTTP status answered, or the error when none was.
struct AttemptResult {
  std::optional<int> status_code;
  std::optional<std::string> error;
  double latency_ms = 0;
  bool interrupted = false;  // cut short because this server is stopping
};

// The outcome of an attempt, made after `attempts_before` others, of a delivery `age` old (see
// store::ClaimedDelivery::age). An interrupted attempt is due again at once, without backoff.
store::DeliveryAttemptOutcome decide(const AttemptResult& attempt, int attempts_before,
                                     std::chrono::milliseconds age, double jitter,
                                     const DeliveryPolicy& policy);

}  // namespace leadscore::webhooks
