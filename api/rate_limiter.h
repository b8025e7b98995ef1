// Requests per API key (config `rate_limit`): a token bucket per key name, so that one caller
// cannot take the whole service, whatever front door stands before it. A key's bucket holds
// `burst` requests and refills at `rate_per_s`; a request finding it empty is answered 429
// with the whole seconds until a request fits again (Retry-After).
//
// Threading: take() is safe from any thread. The buckets are spread over shards by key name,
// each with its own mutex held for a few arithmetic operations: no lock is shared by every
// request. Memory is bounded: a shard holding kMaxBucketsPerShard buckets forgets the ones
// that have refilled (a full bucket and no bucket are the same), and past that refuses to
// track a new key, which is then limited as if its bucket were new each time it asks (never
// refused) until room is made.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/config/app_config.h"
#include "engine/store/store.h"

namespace leadscore::api {

// One key's bucket, as pure arithmetic (unit-testable with any clock).
class TokenBucket {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  TokenBucket(const config::TokenBucketConfig& limit, TimePoint now);
  // Takes one token if there is one: 0. Otherwise the whole seconds (>= 1) until one is there.
  int take(const config::TokenBucketConfig& limit, TimePoint now);
  // Whether the bucket is full at `now` (it then behaves as a new one would).
  bool full(const config::TokenBucketConfig& limit, TimePoint now) const;

 private:
  double tokens_at(const config::TokenBucketConfig& limit, TimePoint now) const;

  double tokens_;
  TimePoint at_;
};

class RateLimiter {
 public:
  using Clock = std::function<TokenBucket::TimePoint()>;

  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kMaxBucketsPerShard = 4096;

  // `now` is the clock (steady_clock::now unless a test injects one).
  explicit RateLimiter(const config::RateLimitConfig& config, Clock now = {});

  // Whether any key is limited at all (when not, the server never calls take()).
  bool enabled() const { return enabled_; }

  struct Refusal {
    int retry_after_s = 1;  // whole seconds, >= 1
    config::TokenBucketConfig limit;
  };
  // One request by the key named `key_name`, of `role`: nullopt when it may proceed.
  std::optional<Refusal> take(std::string_view key_name, store::Role role);

  // How many buckets are tracked (for tests of the bound).
  std::size_t tracked() const;

 private:
  // Looked up by std::string_view: a request's take() allocates nothing for a known key.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const {
      return std::hash<std::string_view>{}(name);
    }
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, TokenBucket, NameHash, std::equal_to<>> buckets;
  };

  std::array<std::optional<config::TokenBucketConfig>, 4> limits_;  // by store::Role
  bool enabled_ = false;
  Clock now_;
  std::array<Shard, kShards> shards_;
};

// "rate limit of 10 requests a second (burst 20) for this key reached; retry in 1 s"
std::string refusal_message(const RateLimiter::Refusal& refusal);

}  // namespace leadscore::api
