#include "plugins/llm/upstream_guard.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace leadscore::llm {

milliseconds backoff_delay(int retry, milliseconds initial, milliseconds max, double unit_random) {
  milliseconds base = initial;
  for (int i = 0; i < retry && base < max; ++i) base *= 2;
  base = std::min(base, max);
  const double jitter = std::clamp(unit_random, 0.0, 1.0) * static_cast<double>(base.count()) / 2;
  return base - base / 2 + milliseconds(static_cast<std::int64_t>(jitter));
}

namespace {

std::string_view trim_blanks(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r'))
    value.remove_suffix(1);
  return value;
}

// Reads the next `digits` decimal digits exactly (a blank first for `space_padded` one-digit
// values, as asctime writes the day); -1 when they are not there.
int take_number(std::string_view& text, std::size_t digits, bool space_padded = false) {
  if (text.size() < digits) return -1;
  int value = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const char c = text[i];
    if (space_padded && i == 0 && c == ' ') continue;
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  text.remove_prefix(digits);
  return value;
}

bool take(std::string_view& text, std::string_view expected) {
  if (!text.starts_with(expected)) return false;
  text.remove_prefix(expected.size());
  return true;
}

// "Jan".."Dec" as 1..12; 0 when none.
unsigned take_month(std::string_view& text) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned m = 0; m < 12; ++m)
    if (take(text, kMonths[m])) return m + 1;
  return 0;
}

// A day name, short ("Sun") or long ("Sunday").
bool take_day_name(std::string_view& text, bool long_form) {
  static constexpr std::string_view kLong[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                               "Friday", "Saturday", "Sunday"};
  for (std::string_view name : kLong)
    if (take(text, long_form ? name : name.substr(0, 3))) return true;
  return false;
}

// "HH:MM:SS".
std::optional<std::chrono::seconds> take_time(std::string_view& text) {
  const int h = take_number(text, 2);
  if (h < 0 || !take(text, ":")) return std::nullopt;
  const int m = take_number(text, 2);
  if (m < 0 || !take(text, ":")) return std::nullopt;
  const int s = take_number(text, 2);
  if (s < 0 || h > 23 || m > 59 || s > 60) return std::nullopt;  // 60: a leap second
  return std::chrono::hours(h) + std::chrono::minutes(m) + std::chrono::seconds(s);
}

std::optional<WallTime> to_time(int year, unsigned month, int day, std::chrono::seconds time) {
  const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(month),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (month == 0 || day <= 0 || !date.ok()) return std::nullopt;
  return WallTime(std::chrono::sys_days(date).time_since_epoch() + time);
}

}  // namespace

std::optional<WallTime> parse_http_date(std::string_view value, WallTime now) {
  std::string_view text = trim_blanks(value);
  std::string_view imf = text;
  if (take_day_name(imf, false) && take(imf, ", ")) {  // Sun, 06 Nov 1994 08:49:37 GMT
    const int day = take_number(imf, 2);
    if (day < 0 || !take(imf, " ")) return std::nullopt;
    const unsigned month = take_month(imf);
    if (month == 0 || !take(imf, " ")) return std::nullopt;
    const int year = take_number(imf, 4);
    if (year < 0 || !take(imf, " ")) return std::nullopt;
    const auto time = take_time(imf);
    if (!time || imf != " GMT") return std::nullopt;
    return to_time(year, month, day, *time);
  }
  std::string_view rfc850 = text;
  if (take_day_name(rfc850, true) && take(rfc850, ", ")) {  // Sunday, 06-Nov-94 08:49:37 GMT
    const int day = take_number(rfc850, 2);
    if (day < 0 || !take(rfc850, "-")) return std::nullopt;
    const unsigned month = take_month(rfc850);
    if (month == 0 || !take(rfc850, "-")) return std::nullopt;
    const int two_digits = take_number(rfc850, 2);
    if (two_digits < 0 || !take(rfc850, " ")) return std::nullopt;
    const auto time = take_time(rfc850);
    if (!time || rfc850 != " GMT") return std::nullopt;
    const int this_year = static_cast<int>(
        std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(now)).year());
    int year = this_year - this_year % 100 + two_digits;
    if (year > this_year + 50) year -= 100;
    return to_time(year, month, day, *time);
  }
  std::string_view asctime = text;
  if (take_day_name(asctime, false) && take(asctime, " ")) {  // Sun Nov  6 08:49:37 1994
    const unsigned month = take_month(asctime);
    if (month == 0 || !take(asctime, " ")) return std::nullopt;
    const int day = take_number(asctime, 2, true);
    if (day < 0 || !take(asctime, " ")) return std::nullopt;
    const auto time = take_time(asctime);
    if (!time || !take(asctime, " ")) return std::nullopt;
    const int year = take_number(asctime, 4);
    if (year < 0 || !asctime.empty()) return std::nullopt;
    return to_time(year, month, day, *time);
  }
  return std::nullopt;
}

std::optional<milliseconds> parse_retry_after(std::string_view value, WallTime now) {
  value = trim_blanks(value);
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (!value.empty() && ec == std::errc{} && end == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::seconds(std::min<std::int64_t>(seconds, std::int64_t{1} << 40));
  }
  const auto date = parse_http_date(value, now);
  if (!date) return std::nullopt;
  if (*date <= now) return milliseconds(0);
  return std::chrono::ceil<milliseconds>(*date - now);
}

std::optional<milliseconds> parse_retry_after_ms(std::string_view value) {
  value = trim_blanks(value);
  double ms = 0;
  auto [end, ec] =
      std::from_chars(value.data(), value.data() + value.size(), ms, std::chars_format::fixed);
  if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || !(ms >= 0) ||
      ms > 1e12)
    return std::nullopt;
  return milliseconds(static_cast<std::int64_t>(std::ceil(ms)));
}

std::string_view to_string(BreakerState state) {
  switch (state) {
    case BreakerState::Open:
      return "open";
    case BreakerState::HalfOpen:
      return "half_open";
    case BreakerState::Closed:
      break;
  }
  return "closed";
}

CircuitBreaker::Admission CircuitBreaker::admit(SteadyTime now, const BreakerPolicy& policy) {
  std::lock_guard lock(mutex_);
  if (policy.failures == 0 || consecutive_ < policy.failures) return Admission::Pass;
  if (now < open_until_ || probing_) return Admission::Refused;
  probing_ = true;
  return Admission::Probe;
}

void CircuitBreaker::record(Admission admitted, bool succeeded, SteadyTime now,
                            const BreakerPolicy& policy) {
  std::lock_guard lock(mutex_);
  if (admitted == Admission::Probe) probing_ = false;
  if (succeeded) {
    consecutive_ = 0;
    return;
  }
  ++consecutive_;
  if (policy.failures > 0 && consecutive_ >= policy.failures)
    open_until_ = std::max(open_until_, now + policy.cooldown);
}

milliseconds CircuitBreaker::open_for(SteadyTime now) const {
  std::lock_guard lock(mutex_);
  if (now >= open_until_) return milliseconds(0);
  return std::chrono::ceil<milliseconds>(open_until_ - now);
}

BreakerState CircuitBreaker::state(SteadyTime now, const BreakerPolicy& policy) const {
  std::lock_guard lock(mutex_);
  if (policy.failures == 0 || consecutive_ < policy.failures) return BreakerState::Closed;
  if (now < open_until_ && !probing_) return BreakerState::Open;
  return BreakerState::HalfOpen;
}

std::int64_t utc_day(WallTime time) {
  return std::chrono::floor<std::chrono::days>(time.time_since_epoch()).count();
}

void TokenBudget::roll(WallTime now) {
  const std::int64_t day = utc_day(now);
  if (day != day_) {
    day_ = day;
    used_ = 0;
  }
}

bool TokenBudget::spent(WallTime now, std::int64_t limit) {
  if (limit == 0) return false;
  std::lock_guard lock(mutex_);
  roll(now);
  return used_ >= limit;
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

void TokenBudget::restore(std::int64_t day, std::int64_t used) {
  std::lock_guard lock(mutex_);
  day_ = day;
  used_ = std::max<std::int64_t>(used, 0);
}

std::optional<ConcurrencyGate::Slot> ConcurrencyGate::enter() {
  if (in_flight_.fetch_add(1) >= limit_) {
    in_flight_.fetch_sub(1);
    return std::nullopt;
  }
  return Slot(&in_flight_);
}

}  // namespace leadscore::llm
