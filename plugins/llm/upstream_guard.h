// What keeps the LLM scorer's time and cost bounded, each piece on its own so that tests drive
// it with their own clock: the backoff between tries, the Retry-After and retry-after-ms
// headers, the circuit breaker, the daily token budget, the bound on calls in flight and the
// cache of answers. Every time is passed in by the caller (no clock is read here), and so is
// every limit of the breaker, the budget and the cache: their state is shared by the scorer
// instances of one upstream (upstream_state.h), each of which may have its own limits.
//
// Threading: backoff_delay(), parse_http_date() and the parse_retry_after*() are pure;
// CircuitBreaker, TokenBudget, ConcurrencyGate and AnswerCache are safe from any number of
// threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace leadscore::llm {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using std::chrono::milliseconds;

// The wait before retry number `retry` (0 for the first retry): exponential from `initial`,
// capped at `max`, with jitter: half of it fixed, half scaled by `unit_random` in [0, 1).
milliseconds backoff_delay(int retry, milliseconds initial, milliseconds max, double unit_random);

// An HTTP-date (RFC 9110 5.6.7) in any of its three forms: the IMF-fixdate "Sun, 06 Nov 1994
// 08:49:37 GMT", and the obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" (a two-digit year
// more than 50 years after `now` is read as the century before) and asctime "Sun Nov  6
// 08:49:37 1994". nullopt for anything else, an impossible date included.
std::optional<WallTime> parse_http_date(std::string_view value, WallTime now);

// Retry-After (RFC 9110 10.2.3) as the wait it asks for from `now`: delay-seconds ("5"), or an
// HTTP-date (0 when it is already past). nullopt for anything else.
std::optional<milliseconds> parse_retry_after(std::string_view value, WallTime now);

// retry-after-ms (sent by OpenAI beside Retry-After): non-negative milliseconds, a fraction
// rounded up ("20", "1500.5"). nullopt for anything else.
std::optional<milliseconds> parse_retry_after_ms(std::string_view value);

// The limits of a breaker: after `failures` failed runs in a row it opens for `cooldown`.
// failures = 0: it never opens.
struct BreakerPolicy {
  std::int64_t failures = 5;
  milliseconds cooldown{30000};
};

// closed: runs go through; open: every run is refused until the cooldown ends; half_open: the
// cooldown has ended and one probe run may go (or is in flight), whose outcome closes the
// breaker or opens it again.
enum class BreakerState { Closed, Open, HalfOpen };
std::string_view to_string(BreakerState state);  // "closed", "open", "half_open"

// After `policy.failures` failed runs in a row the breaker opens: every run is refused for
// `policy.cooldown`; then one run (the probe) goes through while the others are still refused,
// and its outcome closes the breaker or opens it for another cooldown. The policy is the
// caller's at each call: instances with different limits may share one breaker.
class CircuitBreaker {
 public:
  enum class Admission { Pass, Probe, Refused };

  Admission admit(SteadyTime now, const BreakerPolicy& policy);
  // The outcome of a run that admit() let through as `admitted` (Pass or Probe).
  void record(Admission admitted, bool succeeded, SteadyTime now, const BreakerPolicy& policy);
  // How long the breaker stays open (0 when a probe may go now).
  milliseconds open_for(SteadyTime now) const;
  BreakerState state(SteadyTime now, const BreakerPolicy& policy) const;

 private:
  mutable std::mutex mutex_;
  std::int64_t consecutive_ = 0;
  SteadyTime open_until_{};
  bool probing_ = false;
};

// The UTC day of a time, as days since 1970-01-01.
std::int64_t utc_day(WallTime time);

// Tokens used per UTC day; spent() once they reach the caller's limit, until the day changes.
class TokenBudget {
 public:
  // Whether the day's tokens reached `limit` (0: no limit, never spent).
  bool spent(WallTime now, std::int64_t limit);
  void add(std::int64_t tokens, WallTime now);
  std::int64_t used(WallTime now);
  // Sets the count of `day` (read back from where it was kept); a count of another day than
  // now's is dropped at the next call.
  void restore(std::int64_t day, std::int64_t used);

 private:
  void roll(WallTime now);  // under mutex_
  std::mutex mutex_;
  std::int64_t day_ = 0;
  std::int64_t used_ = 0;
};

// At most `limit` calls in flight; enter() is refused at once past it.
class ConcurrencyGate {
 public:
  class Slot {
   public:
    explicit Slot(std::atomic<std::int64_t>* count) : count_(count) {}
    Slot(Slot&& other) noexcept : count_(other.count_) { other.count_ = nullptr; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (count_ != nullptr) count_->fetch_sub(1);
    }

   private:
    std::atomic<std::int64_t>* count_;
  };

  explicit ConcurrencyGate(std::int64_t limit) : limit_(limit) {}
  std::optional<Slot> enter();

 private:
  const std::int64_t limit_;
  std::atomic<std::int64_t> in_flight_{0};
};

// Answers by request, each kept for the `ttl` of whoever asks (instances sharing a cache may
// keep answers for different times); at most kMaxEntries, the oldest go first, and an answer
// older than kMaxTtl goes whenever room is made.
template <typename Answer>
class AnswerCache {
 public:
  static constexpr std::size_t kMaxEntries = 4096;
  static constexpr milliseconds kMaxTtl{std::int64_t{30} * 86400 * 1000};  // cache_ttl_s's max

  // The answer to `request` stored less than `ttl` before `now`.
  std::optional<Answer> find(const std::string& request, SteadyTime now, milliseconds ttl) {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(request);
    if (it == entries_.end() || it->second.stored + ttl <= now) return std::nullopt;
    return it->second.answer;
  }

  void put(const std::string& request, Answer answer, SteadyTime now) {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= kMaxEntries && !entries_.contains(request)) {
      std::erase_if(entries_,
                    [&](const auto& entry) { return entry.second.stored + kMaxTtl <= now; });
      if (entries_.size() >= kMaxEntries) {
        auto oldest = entries_.begin();
        for (auto it = entries_.begin(); it != entries_.end(); ++it)
          if (it->second.stored < oldest->second.stored) oldest = it;
        entries_.erase(oldest);
      }
    }
    entries_.insert_or_assign(request, Entry{std::move(answer), now});
  }

 private:
  struct Entry {
    Answer answer;
    SteadyTime stored;
  };
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace leadscore::llm
