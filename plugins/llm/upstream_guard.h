// What keeps the LLM scorer's time and cost bounded, each piece on its own so that tests drive
// it with their own clock: the backoff between tries, the Retry-After header, the circuit
// breaker, the daily token budget, the bound on calls in flight and the cache of answers.
// Every time is passed in by the caller (no clock is read here).
//
// Threading: backoff_delay() and parse_retry_after() are pure; CircuitBreaker, TokenBudget,
// ConcurrencyGate and AnswerCache are safe from any number of threads.
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

// Retry-After as delay-seconds ("5"); nullopt for anything else (an HTTP date is not honoured).
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

// After `failures` failed runs in a row the breaker opens: every run is refused for `cooldown`;
// then one run (the probe) goes through while the others are still refused, and its outcome
// closes the breaker or opens it for another cooldown. failures = 0: never opens.
class CircuitBreaker {
 public:
  enum class Admission { Pass, Probe, Refused };

  CircuitBreaker(std::int64_t failures, milliseconds cooldown);
  Admission admit(SteadyTime now);
  // The outcome of a run that admit() let through.
  void record(bool succeeded, SteadyTime now);
  // How long the breaker stays open (0 when a probe may go now).
  milliseconds open_for(SteadyTime now) const;

 private:
  const std::int64_t failures_;
  const milliseconds cooldown_;
  mutable std::mutex mutex_;
  std::int64_t consecutive_ = 0;
  SteadyTime open_until_{};
  bool probing_ = false;
};

// Tokens used per UTC day; spent() once they reach the limit, until the day changes.
class TokenBudget {
 public:
  explicit TokenBudget(std::int64_t tokens_per_day);  // 0: no limit
  bool spent(WallTime now);
  void add(std::int64_t tokens, WallTime now);
  std::int64_t used(WallTime now);

 private:
  void roll(WallTime now);  // under mutex_
  const std::int64_t limit_;
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

// Answers by request, for `ttl`; at most kMaxEntries, the ones that expire first go first.
template <typename Answer>
class AnswerCache {
 public:
  static constexpr std::size_t kMaxEntries = 4096;

  explicit AnswerCache(milliseconds ttl) : ttl_(ttl) {}
  bool enabled() const { return ttl_.count() > 0; }

  std::optional<Answer> find(const std::string& request, SteadyTime now) {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(request);
    if (it == entries_.end()) return std::nullopt;
    if (it->second.expires <= now) {
      entries_.erase(it);
      return std::nullopt;
    }
    return it->second.answer;
  }

  void put(const std::string& request, Answer answer, SteadyTime now) {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= kMaxEntries && !entries_.contains(request)) {
      std::erase_if(entries_, [&](const auto& entry) { return entry.second.expires <= now; });
      if (entries_.size() >= kMaxEntries) {
        auto first = entries_.begin();
        for (auto it = entries_.begin(); it != entries_.end(); ++it)
          if (it->second.expires < first->second.expires) first = it;
        entries_.erase(first);
      }
    }
    entries_.insert_or_assign(request, Entry{std::move(answer), now + ttl_});
  }

 private:
  struct Entry {
    Answer answer;
    SteadyTime expires;
  };
  const milliseconds ttl_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace leadscore::llm
