// The pieces that bound the LLM scorer's time and cost (plugins/llm/upstream_guard.h), driven
// by the tests' own clock: backoff, Retry-After, the circuit breaker, the daily token budget,
// the bound on calls in flight and the answer cache.
#include "plugins/llm/upstream_guard.h"

#include <gtest/gtest.h>

#include <vector>

namespace leadscore::llm {
namespace {

using std::chrono::seconds;

TEST(LlmBackoff, DoublesFromHalfASecondToEightWithHalfOfItJittered) {
  const milliseconds initial(500), max(8000);
  const std::int64_t bases[] = {500, 1000, 2000, 4000, 8000, 8000, 8000};
  for (int retry = 0; retry < 7; ++retry) {
    EXPECT_EQ(backoff_delay(retry, initial, max, 0.0).count(), bases[retry] / 2) << retry;
    EXPECT_EQ(backoff_delay(retry, initial, max, 0.999999).count(), bases[retry] - 1) << retry;
  }
}

TEST(LlmBackoff, NeverOverflowsOnManyRetries) {
  EXPECT_LE(backoff_delay(80, milliseconds(500), milliseconds(8000), 1.0).count(), 8000);
}

TEST(LlmRetryAfter, ReadsDelaySecondsOnly) {
  EXPECT_EQ(parse_retry_after("2"), seconds(2));
  EXPECT_EQ(parse_retry_after(" 120 "), seconds(120));
  EXPECT_EQ(parse_retry_after("0"), seconds(0));
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
  EXPECT_FALSE(parse_retry_after("-1"));
  EXPECT_FALSE(parse_retry_after(""));
  EXPECT_FALSE(parse_retry_after("1.5"));
}

using Admission = CircuitBreaker::Admission;

TEST(LlmCircuitBreaker, OpensAfterTheFailuresInARowAndLetsOneProbeThroughAfterTheCooldown) {
  CircuitBreaker breaker(3, milliseconds(1000));
  SteadyTime t{};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(breaker.admit(t), Admission::Pass);
    breaker.record(false, t);
  }
  EXPECT_EQ(breaker.admit(t + milliseconds(999)), Admission::Refused);
  EXPECT_EQ(breaker.open_for(t + milliseconds(400)), milliseconds(600));
  EXPECT_EQ(breaker.admit(t + milliseconds(1000)), Admission::Probe);
  EXPECT_EQ(breaker.admit(t + milliseconds(1001)), Admission::Refused);  // one probe at a time
  breaker.record(true, t + milliseconds(1100));
  EXPECT_EQ(breaker.admit(t + milliseconds(1100)), Admission::Pass);
}

TEST(LlmCircuitBreaker, AFailedProbeOpensItForAnotherCooldown) {
  CircuitBreaker breaker(1, milliseconds(100));
  SteadyTime t{};
  breaker.admit(t);
  breaker.record(false, t);
  EXPECT_EQ(breaker.admit(t + milliseconds(100)), Admission::Probe);
  breaker.record(false, t + milliseconds(150));
  EXPECT_EQ(breaker.admit(t + milliseconds(200)), Admission::Refused);
  EXPECT_EQ(breaker.admit(t + milliseconds(250)), Admission::Probe);
}

TEST(LlmCircuitBreaker, ASuccessResetsTheCount) {
  CircuitBreaker breaker(2, milliseconds(100));
  SteadyTime t{};
  breaker.record(false, t);
  breaker.record(true, t);
  breaker.record(false, t);
  EXPECT_EQ(breaker.admit(t), Admission::Pass);
}

TEST(LlmCircuitBreaker, ZeroFailuresNeverOpens) {
  CircuitBreaker breaker(0, milliseconds(100));
  for (int i = 0; i < 100; ++i) breaker.record(false, SteadyTime{});
  EXPECT_EQ(breaker.admit(SteadyTime{}), Admission::Pass);
}

TEST(LlmTokenBudget, IsSpentAtTheLimitUntilTheUtcDayChanges) {
  TokenBudget budget(1000);
  // 2026-12-03 23:59:00 UTC and a minute later.
  const WallTime evening{seconds(1'796'342'340)};
  const WallTime midnight = evening + seconds(60);
  EXPECT_FALSE(budget.spent(evening));
  budget.add(999, evening);
  EXPECT_FALSE(budget.spent(evening));
  budget.add(1, evening);
  EXPECT_TRUE(budget.spent(evening + seconds(59)));
  EXPECT_FALSE(budget.spent(midnight));
  EXPECT_EQ(budget.used(midnight), 0);
}

TEST(LlmTokenBudget, ZeroIsNoLimit) {
  TokenBudget budget(0);
  budget.add(1'000'000'000, WallTime{});
  EXPECT_FALSE(budget.spent(WallTime{}));
}

TEST(LlmConcurrencyGate, RefusesPastTheLimitAndFreesOnLeaving) {
  ConcurrencyGate gate(2);
  auto a = gate.enter();
  auto b = gate.enter();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(gate.enter());
  a.reset();
  EXPECT_TRUE(gate.enter());
}

TEST(LlmAnswerCache, AnswersUntilTheTtlPasses) {
  AnswerCache<int> cache(milliseconds(1000));
  SteadyTime t{};
  cache.put("request", 7, t);
  EXPECT_EQ(cache.find("request", t + milliseconds(999)), 7);
  EXPECT_FALSE(cache.find("other", t));
  EXPECT_FALSE(cache.find("request", t + milliseconds(1000)));
}

TEST(LlmAnswerCache, StaysWithinItsSizeDroppingWhatExpiresFirst) {
  AnswerCache<int> cache(milliseconds(1000));
  SteadyTime t{};
  for (std::size_t i = 0; i < AnswerCache<int>::kMaxEntries + 10; ++i)
    cache.put(std::to_string(i), static_cast<int>(i), t + milliseconds(i));
  EXPECT_FALSE(cache.find("0", t));
  EXPECT_EQ(cache.find(std::to_string(AnswerCache<int>::kMaxEntries + 9), t),
            static_cast<int>(AnswerCache<int>::kMaxEntries + 9));
}

TEST(LlmAnswerCache, ZeroTtlIsOff) { EXPECT_FALSE(AnswerCache<int>(milliseconds(0)).enabled()); }

}  // namespace
}  // namespace leadscore::llm
