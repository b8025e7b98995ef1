// The pieces that bound the LLM scorer's time and cost (plugins/llm/upstream_guard.h), driven
// by the tests' own clock: backoff, Retry-After (seconds and the three HTTP-date forms) and
// retry-after-ms, the circuit breaker and its state, the daily token budget, the bound on calls
// in flight and the answer cache.
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

// 2026-12-03 08:00:00 UTC, a Thursday.
const WallTime kNow{seconds(1'796'284'800)};

TEST(LlmRetryAfter, ReadsDelaySeconds) {
  EXPECT_EQ(parse_retry_after("2", kNow), seconds(2));
  EXPECT_EQ(parse_retry_after(" 120 ", kNow), seconds(120));
  EXPECT_EQ(parse_retry_after("0", kNow), seconds(0));
  EXPECT_FALSE(parse_retry_after("-1", kNow));
  EXPECT_FALSE(parse_retry_after("", kNow));
  EXPECT_FALSE(parse_retry_after("1.5", kNow));
  EXPECT_FALSE(parse_retry_after("soon", kNow));
}

TEST(LlmRetryAfter, ReadsAnImfFixdateAsTheWaitUntilIt) {
  EXPECT_EQ(parse_retry_after("Thu, 03 Dec 2026 08:00:30 GMT", kNow), seconds(30));
  EXPECT_EQ(parse_retry_after("Thu, 03 Dec 2026 08:01:00 GMT", kNow), seconds(60));
  EXPECT_EQ(parse_retry_after("Thu, 03 Dec 2026 08:01:01 GMT", kNow), seconds(61));
  EXPECT_EQ(parse_retry_after("Thu, 03 Dec 2026 08:00:30 GMT", kNow + milliseconds(250)),
            milliseconds(29750));
  EXPECT_EQ(parse_retry_after("Fri, 04 Dec 2026 00:00:00 GMT", kNow), std::chrono::hours(16));
}

TEST(LlmRetryAfter, ADateAlreadyPastAsksForNoWait) {
  EXPECT_EQ(parse_retry_after("Thu, 03 Dec 2026 07:59:59 GMT", kNow), milliseconds(0));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", kNow), milliseconds(0));
  EXPECT_EQ(parse_retry_after("Thu, 03 Dec 2026 08:00:00 GMT", kNow), milliseconds(0));
}

TEST(LlmRetryAfter, ReadsTheObsoleteRfc850AndAsctimeDates) {
  EXPECT_EQ(parse_retry_after("Thursday, 03-Dec-26 08:00:10 GMT", kNow), seconds(10));
  EXPECT_EQ(parse_retry_after("Thu Dec  3 08:00:10 2026", kNow), seconds(10));
  EXPECT_EQ(parse_retry_after("Thu Dec 13 08:00:10 2026", kNow),
            std::chrono::days(10) + seconds(10));
  // RFC 850's two-digit year: more than 50 years ahead is the century before.
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", kNow),
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", kNow));
  EXPECT_EQ(parse_http_date("Monday, 06-Nov-76 08:49:37 GMT", kNow),
            parse_http_date("Fri, 06 Nov 2076 08:49:37 GMT", kNow));
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-77 08:49:37 GMT", kNow),
            parse_http_date("Sun, 06 Nov 1977 08:49:37 GMT", kNow));
}

TEST(LlmRetryAfter, RefusesWhatIsNotAnHttpDate) {
  for (const char* text :
       {"Thu, 3 Dec 2026 08:00:10 GMT", "Thu, 03 Dec 2026 08:00:10 UTC",
        "Thu, 03 Dec 2026 08:00:10", "03 Dec 2026 08:00:10 GMT", "Thu, 31 Feb 2026 08:00:10 GMT",
        "Thu, 03 Dez 2026 08:00:10 GMT", "Thu, 03 Dec 2026 24:00:10 GMT",
        "Thu, 03 Dec 2026 08:00 GMT", "Thursday, 03-Dec-2026 08:00:10 GMT",
        "Thu Dec 3 08:00:10 2026", "2026-12-03T08:00:10Z"})
    EXPECT_FALSE(parse_retry_after(text, kNow)) << text;
}

TEST(LlmRetryAfter, ReadsRetryAfterMsRoundingAFractionUp) {
  EXPECT_EQ(parse_retry_after_ms("20"), milliseconds(20));
  EXPECT_EQ(parse_retry_after_ms(" 1500 "), milliseconds(1500));
  EXPECT_EQ(parse_retry_after_ms("0.2"), milliseconds(1));
  EXPECT_EQ(parse_retry_after_ms("0"), milliseconds(0));
  EXPECT_FALSE(parse_retry_after_ms("-5"));
  EXPECT_FALSE(parse_retry_after_ms(""));
  EXPECT_FALSE(parse_retry_after_ms("5s"));
  EXPECT_FALSE(parse_retry_after_ms("1e3"));
}

using Admission = CircuitBreaker::Admission;

TEST(LlmCircuitBreaker, OpensAfterTheFailuresInARowAndLetsOneProbeThroughAfterTheCooldown) {
  const BreakerPolicy policy{3, milliseconds(1000)};
  CircuitBreaker breaker;
  SteadyTime t{};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(breaker.admit(t, policy), Admission::Pass);
    breaker.record(Admission::Pass, false, t, policy);
  }
  EXPECT_EQ(breaker.admit(t + milliseconds(999), policy), Admission::Refused);
  EXPECT_EQ(breaker.open_for(t + milliseconds(400)), milliseconds(600));
  EXPECT_EQ(breaker.admit(t + milliseconds(1000), policy), Admission::Probe);
  EXPECT_EQ(breaker.admit(t + milliseconds(1001), policy), Admission::Refused);  // one probe
  breaker.record(Admission::Probe, true, t + milliseconds(1100), policy);
  EXPECT_EQ(breaker.admit(t + milliseconds(1100), policy), Admission::Pass);
}

TEST(LlmCircuitBreaker, AFailedProbeOpensItForAnotherCooldown) {
  const BreakerPolicy policy{1, milliseconds(100)};
  CircuitBreaker breaker;
  SteadyTime t{};
  breaker.admit(t, policy);
  breaker.record(Admission::Pass, false, t, policy);
  EXPECT_EQ(breaker.admit(t + milliseconds(100), policy), Admission::Probe);
  breaker.record(Admission::Probe, false, t + milliseconds(150), policy);
  EXPECT_EQ(breaker.admit(t + milliseconds(200), policy), Admission::Refused);
  EXPECT_EQ(breaker.admit(t + milliseconds(250), policy), Admission::Probe);
}

TEST(LlmCircuitBreaker, ARunAdmittedBeforeItOpenedDoesNotEndTheProbe) {
  const BreakerPolicy policy{1, milliseconds(100)};
  CircuitBreaker breaker;
  SteadyTime t{};
  EXPECT_EQ(breaker.admit(t, policy), Admission::Pass);  // a slow run, still going
  breaker.record(Admission::Pass, false, t, policy);     // another run failed: open
  EXPECT_EQ(breaker.admit(t + milliseconds(100), policy), Admission::Probe);
  breaker.record(Admission::Pass, true, t + milliseconds(110), policy);  // the slow one ends
  // The probe is still the only run in flight until it ends.
  EXPECT_EQ(breaker.state(t + milliseconds(110), policy), BreakerState::Closed);
}

TEST(LlmCircuitBreaker, ASuccessResetsTheCount) {
  const BreakerPolicy policy{2, milliseconds(100)};
  CircuitBreaker breaker;
  SteadyTime t{};
  breaker.record(Admission::Pass, false, t, policy);
  breaker.record(Admission::Pass, true, t, policy);
  breaker.record(Admission::Pass, false, t, policy);
  EXPECT_EQ(breaker.admit(t, policy), Admission::Pass);
}

TEST(LlmCircuitBreaker, ZeroFailuresNeverOpens) {
  const BreakerPolicy policy{0, milliseconds(100)};
  CircuitBreaker breaker;
  for (int i = 0; i < 100; ++i) breaker.record(Admission::Pass, false, SteadyTime{}, policy);
  EXPECT_EQ(breaker.admit(SteadyTime{}, policy), Admission::Pass);
  EXPECT_EQ(breaker.state(SteadyTime{}, policy), BreakerState::Closed);
}

TEST(LlmCircuitBreaker, SaysWhetherItIsClosedOpenOrHalfOpen) {
  const BreakerPolicy policy{2, milliseconds(100)};
  CircuitBreaker breaker;
  SteadyTime t{};
  EXPECT_EQ(breaker.state(t, policy), BreakerState::Closed);
  breaker.record(Admission::Pass, false, t, policy);
  EXPECT_EQ(breaker.state(t, policy), BreakerState::Closed);  // 1 of 2
  breaker.record(Admission::Pass, false, t, policy);
  EXPECT_EQ(breaker.state(t + milliseconds(99), policy), BreakerState::Open);
  EXPECT_EQ(breaker.state(t + milliseconds(100), policy), BreakerState::HalfOpen);
  EXPECT_EQ(breaker.admit(t + milliseconds(100), policy), Admission::Probe);
  EXPECT_EQ(breaker.state(t + milliseconds(120), policy), BreakerState::HalfOpen);
  breaker.record(Admission::Probe, false, t + milliseconds(150), policy);
  EXPECT_EQ(breaker.state(t + milliseconds(160), policy), BreakerState::Open);
  EXPECT_EQ(breaker.admit(t + milliseconds(250), policy), Admission::Probe);
  breaker.record(Admission::Probe, true, t + milliseconds(260), policy);
  EXPECT_EQ(breaker.state(t + milliseconds(260), policy), BreakerState::Closed);
  EXPECT_EQ(to_string(BreakerState::Closed), "closed");
  EXPECT_EQ(to_string(BreakerState::Open), "open");
  EXPECT_EQ(to_string(BreakerState::HalfOpen), "half_open");
}

TEST(LlmCircuitBreaker, EachCallerBringsItsOwnLimits) {
  CircuitBreaker breaker;
  SteadyTime t{};
  const BreakerPolicy strict{2, milliseconds(100)}, lenient{5, milliseconds(100)};
  for (int i = 0; i < 3; ++i) breaker.record(Admission::Pass, false, t, lenient);
  EXPECT_EQ(breaker.admit(t, lenient), Admission::Pass);
  // 3 failures are past the strict caller's 2, with no cooldown started: it probes.
  EXPECT_EQ(breaker.state(t, strict), BreakerState::HalfOpen);
  EXPECT_EQ(breaker.admit(t, strict), Admission::Probe);
  breaker.record(Admission::Probe, false, t, strict);
  EXPECT_EQ(breaker.admit(t + milliseconds(50), strict), Admission::Refused);
  EXPECT_EQ(breaker.admit(t + milliseconds(50), lenient), Admission::Pass);
}

TEST(LlmTokenBudget, IsSpentAtTheLimitUntilTheUtcDayChanges) {
  TokenBudget budget;
  // 2026-12-03 23:59:00 UTC and a minute later.
  const WallTime evening{seconds(1'796'342'340)};
  const WallTime midnight = evening + seconds(60);
  EXPECT_FALSE(budget.spent(evening, 1000));
  budget.add(999, evening);
  EXPECT_FALSE(budget.spent(evening, 1000));
  budget.add(1, evening);
  EXPECT_TRUE(budget.spent(evening + seconds(59), 1000));
  EXPECT_FALSE(budget.spent(evening + seconds(59), 1001));  // another caller's limit
  EXPECT_FALSE(budget.spent(midnight, 1000));
  EXPECT_EQ(budget.used(midnight), 0);
}

TEST(LlmTokenBudget, ZeroIsNoLimit) {
  TokenBudget budget;
  budget.add(1'000'000'000, WallTime{});
  EXPECT_FALSE(budget.spent(WallTime{}, 0));
}

TEST(LlmTokenBudget, ARestoredCountHoldsForItsDayOnly) {
  TokenBudget budget;
  const WallTime evening{seconds(1'796'342'340)};
  budget.restore(utc_day(evening), 700);
  EXPECT_EQ(budget.used(evening), 700);
  budget.restore(utc_day(evening) - 1, 700);  // yesterday's
  EXPECT_EQ(budget.used(evening), 0);
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

TEST(LlmAnswerCache, AnswersUntilTheAskersTtlPasses) {
  AnswerCache<int> cache;
  SteadyTime t{};
  cache.put("request", 7, t);
  EXPECT_EQ(cache.find("request", t + milliseconds(999), milliseconds(1000)), 7);
  EXPECT_FALSE(cache.find("other", t, milliseconds(1000)));
  EXPECT_FALSE(cache.find("request", t + milliseconds(1000), milliseconds(1000)));
  EXPECT_EQ(cache.find("request", t + milliseconds(1000), milliseconds(5000)), 7);
}

TEST(LlmAnswerCache, StaysWithinItsSizeDroppingTheOldest) {
  AnswerCache<int> cache;
  SteadyTime t{};
  for (std::size_t i = 0; i < AnswerCache<int>::kMaxEntries + 10; ++i)
    cache.put(std::to_string(i), static_cast<int>(i), t + milliseconds(i));
  const milliseconds ttl(1'000'000);
  EXPECT_FALSE(cache.find("0", t, ttl));
  EXPECT_FALSE(cache.find("9", t, ttl));
  EXPECT_EQ(cache.find("10", t, ttl), 10);
  EXPECT_EQ(cache.find(std::to_string(AnswerCache<int>::kMaxEntries + 9), t, ttl),
            static_cast<int>(AnswerCache<int>::kMaxEntries + 9));
}

}  // namespace
}  // namespace leadscore::llm
