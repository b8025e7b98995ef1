#include "api/rate_limiter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace leadscore::api {

TokenBucket::TokenBucket(const config::TokenBucketConfig& limit, TimePoint now)
    : tokens_(limit.burst), at_(now) {}

double TokenBucket::tokens_at(const config::TokenBucketConfig& limit, TimePoint now) const {
  const double elapsed = std::chrono::duration<double>(now - at_).count();
  // A clock that went back (it cannot, steady) or a burst lowered since: never above burst.
  return std::min<double>(limit.burst, tokens_ + std::max(0.0, elapsed) * limit.rate_per_s);
}

int TokenBucket::take(const config::TokenBucketConfig& limit, TimePoint now) {
  tokens_ = tokens_at(limit, now);
  at_ = std::max(at_, now);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return 0;
  }
  const double wait = (1.0 - tokens_) / limit.rate_per_s;
  return std::max(1, static_cast<int>(std::ceil(wait - 1e-9)));
}

bool TokenBucket::full(const config::TokenBucketConfig& limit, TimePoint now) const {
  return tokens_at(limit, now) >= limit.burst;
}

RateLimiter::RateLimiter(const config::RateLimitConfig& config, Clock now)
    : now_(now ? std::move(now) : Clock([] { return std::chrono::steady_clock::now(); })) {
  for (auto role :
       {store::Role::Viewer, store::Role::Manager, store::Role::Analyst, store::Role::Admin}) {
    auto& limit = limits_[static_cast<std::size_t>(role)];
    auto it = config.per_role.find(std::string(store::to_string(role)));
    limit = it != config.per_role.end() ? std::optional(it->second) : config.per_key;
    enabled_ = enabled_ || limit.has_value();
  }
}

std::optional<RateLimiter::Refusal> RateLimiter::take(std::string_view key_name, store::Role role) {
  const auto& limit = limits_[static_cast<std::size_t>(role)];
  if (!limit) return std::nullopt;
  Shard& shard = shards_[std::hash<std::string_view>{}(key_name) % kShards];
  const auto now = now_();
  std::lock_guard lock(shard.mutex);
  auto it = shard.buckets.find(key_name);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= kMaxBucketsPerShard)
      std::erase_if(shard.buckets,
                    [&](const auto& entry) { return entry.second.full(*limit, now); });
    if (shard.buckets.size() >= kMaxBucketsPerShard) return std::nullopt;
    it = shard.buckets.emplace(std::string(key_name), TokenBucket(*limit, now)).first;
  }
  if (const int wait = it->second.take(*limit, now); wait > 0) return Refusal{wait, *limit};
  return std::nullopt;
}

std::size_t RateLimiter::tracked() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.buckets.size();
  }
  return n;
}

std::string refusal_message(const RateLimiter::Refusal& refusal) {
  return fmt::format(
      "rate limit of {:g} requests a second (burst {}) for this API key reached; retry in {} s",
      refusal.limit.rate_per_s, refusal.limit.burst, refusal.retry_after_s);
}

}  // namespace leadscore::api
