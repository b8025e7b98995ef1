// The delivery policy: exponential backoff with jitter, delivered on 2xx, dead at the give-up
// age.
#include <gtest/gtest.h>

#include "engine/webhooks/delivery_policy.h"

namespace leadscore::webhooks {
namespace {

using domain::DeliveryStatus;
using std::chrono::milliseconds;

const DeliveryPolicy kPolicy{milliseconds(1000), milliseconds(60'000), milliseconds(86'400'000)};

TEST(WebhookBackoff, DoublesFromTheStartUpToTheMaximum) {
  // Without jitter (1.0: the whole of the step), the steps are 1, 2, 4, ... s, held at 60 s.
  const double whole = 1.0;
  EXPECT_EQ(backoff(1, whole, kPolicy), milliseconds(1000));
  EXPECT_EQ(backoff(2, whole, kPolicy), milliseconds(2000));
  EXPECT_EQ(backoff(3, whole, kPolicy), milliseconds(4000));
  EXPECT_EQ(backoff(6, whole, kPolicy), milliseconds(32'000));
  EXPECT_EQ(backoff(7, whole, kPolicy), milliseconds(60'000));
  EXPECT_EQ(backoff(1000, whole, kPolicy), milliseconds(60'000));
}

TEST(WebhookBackoff, JitterPicksBetweenHalfAndAllOfTheStep) {
  EXPECT_EQ(backoff(3, 0.0, kPolicy), milliseconds(2000));
  EXPECT_EQ(backoff(3, 0.5, kPolicy), milliseconds(3000));
  EXPECT_EQ(backoff(3, 0.999999, kPolicy), milliseconds(4000));
  EXPECT_EQ(backoff(50, 0.0, kPolicy), milliseconds(30'000));
  // Out-of-range jitter is held to the range.
  EXPECT_EQ(backoff(1, -3.0, kPolicy), milliseconds(500));
  EXPECT_EQ(backoff(1, 7.0, kPolicy), milliseconds(1000));
}

TEST(WebhookDecision, A2xxAnswerDeliversIt) {
  for (int status : {200, 201, 202, 204, 299}) {
    const auto outcome = decide({status, {}, 3.0, false}, 4, milliseconds(10), 0.5, kPolicy);
    EXPECT_EQ(outcome.next, DeliveryStatus::Delivered) << status;
    EXPECT_EQ(outcome.status_code, status);
    EXPECT_FALSE(outcome.error);
    EXPECT_EQ(outcome.latency_ms, 3.0);
  }
}

TEST(WebhookDecision, AnythingElseIsRetriedAfterTheBackoff) {
  for (int status : {100, 301, 400, 404, 410, 500, 503}) {
    const auto outcome = decide({status, {}, 1.0, false}, 2, milliseconds(10), 1.0, kPolicy);
    EXPECT_EQ(outcome.next, DeliveryStatus::Failed) << status;
    EXPECT_EQ(outcome.retry_in, milliseconds(4000)) << status;  // the third failed attempt
  }
  const auto refused =
      decide({{}, "Connection refused", 0.2, false}, 0, milliseconds(10), 0.0, kPolicy);
  EXPECT_EQ(refused.next, DeliveryStatus::Failed);
  EXPECT_EQ(refused.retry_in, milliseconds(500));
  EXPECT_EQ(refused.error, "Connection refused");
}

TEST(WebhookDecision, TheLastAttemptFallsOnTheGiveUpAgeAndThenItIsDead) {
  const DeliveryPolicy policy{milliseconds(1000), milliseconds(60'000), milliseconds(10'000)};
  const auto near = decide({503, {}, 1.0, false}, 5, milliseconds(9'000), 1.0, policy);
  EXPECT_EQ(near.next, DeliveryStatus::Failed);
  EXPECT_EQ(near.retry_in, milliseconds(1'000));  // not the 32 s step: the give-up age
  const auto past = decide({503, {}, 1.0, false}, 6, milliseconds(10'000), 1.0, policy);
  EXPECT_EQ(past.next, DeliveryStatus::Dead);
  EXPECT_EQ(past.status_code, 503);
  // Even a 2xx after the give-up age is delivered: it arrived.
  EXPECT_EQ(decide({200, {}, 1.0, false}, 6, milliseconds(99'000), 1.0, policy).next,
            DeliveryStatus::Delivered);
}

TEST(WebhookDecision, AnAttemptCutShortByAStoppingServerIsDueAgainAtOnce) {
  const auto outcome = decide({{}, "interrupted: the server stopped", 5.0, true}, 3,
                              milliseconds(999'999'999), 1.0, kPolicy);
  EXPECT_EQ(outcome.next, DeliveryStatus::Failed);
  EXPECT_EQ(outcome.retry_in, milliseconds(0));
}

}  // namespace
}  // namespace leadscore::webhooks
