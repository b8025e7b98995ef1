#include "plugins/llm/upstream_guard.h"

#include <algorithm>
#include <charconv>

namespace leadscore::llm {

milliseconds backoff_delay(int retry, milliseconds initial, milliseconds max, double unit_random) {
  milliseconds base = initial;
  for (int i = 0; i < retry && base < max; ++i) base *= 2;
  base = std::min(base, max);
  const double jitter = std::clamp(unit_random, 0.0, 1.0) * static_cast<double>(base.count()) / 2;
  return base - base / 2 + milliseconds(static_cast<std::int64_t>(jitter));
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r'))
    value.remove_suffix(1);
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || seconds < 0)
    return std::nullopt;
  return std::chrono::seconds(seconds);
}

CircuitBreaker::CircuitBreaker(std::int64_t failures, milliseconds cooldown)
    : failures_(failures), cooldown_(cooldown) {}

CircuitBreaker::Admission CircuitBreaker::admit(SteadyTime now) {
  std::lock_guard lock(mutex_);
  if (failures_ == 0 || consecutive_ < failures_) return Admission::Pass;
  if (now < open_until_ || probing_) return Admission::Refused;
  probing_ = true;
  return Admission::Probe;
}

void CircuitBreaker::record(bool succeeded, SteadyTime now) {
  std::lock_guard lock(mutex_);
  probing_ = false;
  if (succeeded) {
    consecutive_ = 0;
    return;
  }
  ++consecutive_;
  if (failures_ > 0 && consecutive_ >= failures_) open_until_ = now + cooldown_;
}

milliseconds CircuitBreaker::open_for(SteadyTime now) const {
  std::lock_guard lock(mutex_);
  if (now >= open_until_) return milliseconds(0);
  return std::chrono::ceil<milliseconds>(open_until_ - now);
}

TokenBudget::TokenBudget(std::int64_t tokens_per_day) : limit_(tokens_per_day) {}

void TokenBudget::roll(WallTime now) {
  const auto day =
      std::chrono::floor<std::chrono::days>(now.time_since_epoch()).count();  // UTC days
  if (day != day_) {
    day_ = day;
    used_ = 0;
  }
}

bool TokenBudget::spent(WallTime now) {
  if (limit_ == 0) return false;
  std::lock_guard lock(mutex_);
  roll(now);
  return used_ >= limit_;
}

void TokenBudget::add(std::int64_t tokens, WallTime now) {
  std::lock_guard lock(mutex_);
  roll(now);
  used_ += std::max<std::int64_t>(tokens, 0);
}

std::int64_t TokenBudget::used(WallTime now) {
  std::lock_guard lock(mutex_);
  roll(now);
  return used_;
}

std::optional<ConcurrencyGate::Slot> ConcurrencyGate::enter() {
  if (in_flight_.fetch_add(1) >= limit_) {
    in_flight_.fetch_sub(1);
    return std::nullopt;
  }
  return Slot(&in_flight_);
}

}  // namespace leadscore::llm
