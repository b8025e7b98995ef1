// The per-key token buckets of api/rate_limiter.h, as a unit, on an injected clock.
#include "api/rate_limiter.h"

#include <gtest/gtest.h>

namespace leadscore::api {
namespace {

using namespace std::chrono_literals;
using store::Role;
using TimePoint = TokenBucket::TimePoint;

class RateLimiterTest : public ::testing::Test {
 protected:
  RateLimiter limiter(const config::RateLimitConfig& config) {
    return RateLimiter(config, [this] { return now; });
  }
  TimePoint now = TimePoint{} + 1000s;
};

config::RateLimitConfig per_key(double rate, int burst) {
  config::RateLimitConfig config;
  config.per_key = config::TokenBucketConfig{rate, burst};
  return config;
}

TEST_F(RateLimiterTest, ABurstPassesThenTheNextIsRefusedWithTheWholeSecondsToWait) {
  auto limits = limiter(per_key(0.5, 3));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limits.take("crm", Role::Manager)) << i;
  auto refused = limits.take("crm", Role::Manager);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->retry_after_s, 2);  // one token at 0.5 a second
  EXPECT_EQ(refused->limit.burst, 3);
  EXPECT_EQ(refusal_message(*refused),
            "rate limit of 0.5 requests a second (burst 3) for this API key reached; retry in 2 s");
}

TEST_F(RateLimiterTest, TokensComeBackWithTimeAndNeverPastTheBurst) {
  auto limits = limiter(per_key(10, 2));
  EXPECT_FALSE(limits.take("crm", Role::Viewer));
  EXPECT_FALSE(limits.take("crm", Role::Viewer));
  auto refused = limits.take("crm", Role::Viewer);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->retry_after_s, 1);  // 0.1 s, rounded up to a whole second
  now += 100ms;
  EXPECT_FALSE(limits.take("crm", Role::Viewer));
  EXPECT_TRUE(limits.take("crm", Role::Viewer));
  now += 1h;  // a long rest refills up to the burst only
  EXPECT_FALSE(limits.take("crm", Role::Viewer));
  EXPECT_FALSE(limits.take("crm", Role::Viewer));
  EXPECT_TRUE(limits.take("crm", Role::Viewer));
}

TEST_F(RateLimiterTest, RetryAfterIsEnoughForTheNextRequest) {
  auto limits = limiter(per_key(0.3, 1));
  EXPECT_FALSE(limits.take("crm", Role::Manager));
  auto refused = limits.take("crm", Role::Manager);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->retry_after_s, 4);  // 3.33 s
  now += std::chrono::seconds(refused->retry_after_s - 1);
  EXPECT_TRUE(limits.take("crm", Role::Manager));
  now += std::chrono::seconds(refused->retry_after_s);
  EXPECT_FALSE(limits.take("crm", Role::Manager));
}

TEST_F(RateLimiterTest, OneKeysExhaustionLimitsNoOtherKey) {
  auto limits = limiter(per_key(1, 1));
  EXPECT_FALSE(limits.take("crm", Role::Manager));
  EXPECT_TRUE(limits.take("crm", Role::Manager));
  EXPECT_FALSE(limits.take("reporting", Role::Manager));
  EXPECT_FALSE(limits.take("dashboard", Role::Viewer));
}

TEST_F(RateLimiterTest, ARoleOverrideReplacesThePerKeyLimitForThatRoleOnly) {
  auto config = per_key(1, 1);
  config.per_role["admin"] = {1, 5};
  auto limits = limiter(config);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limits.take("root", Role::Admin)) << i;
  EXPECT_TRUE(limits.take("root", Role::Admin));
  EXPECT_FALSE(limits.take("crm", Role::Manager));
  EXPECT_TRUE(limits.take("crm", Role::Manager));

  config::RateLimitConfig viewers_only;
  viewers_only.per_role["viewer"] = {1, 1};
  auto only = limiter(viewers_only);
  EXPECT_TRUE(only.enabled());
  EXPECT_FALSE(only.take("dash", Role::Viewer));
  EXPECT_TRUE(only.take("dash", Role::Viewer));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(only.take("crm", Role::Manager));
  EXPECT_EQ(only.tracked(), 1u);  // unlimited keys get no bucket
}

TEST_F(RateLimiterTest, WithoutLimitsNothingIsTrackedOrRefused) {
  auto limits = limiter({});
  EXPECT_FALSE(limits.enabled());
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limits.take("crm", Role::Manager));
  EXPECT_EQ(limits.tracked(), 0u);
}

TEST_F(RateLimiterTest, BucketsThatRefilledAreForgottenWhenAShardIsFull) {
  auto limits = limiter(per_key(1, 1));
  const std::size_t many = RateLimiter::kShards * RateLimiter::kMaxBucketsPerShard * 2;
  for (std::size_t i = 0; i < many; ++i) {
    EXPECT_FALSE(limits.take("key-" + std::to_string(i), Role::Viewer));
    if (i % 1000 == 999) now += 2s;  // the earlier buckets have refilled by now
  }
  EXPECT_LE(limits.tracked(), RateLimiter::kShards * RateLimiter::kMaxBucketsPerShard);
  // A bucket in use is kept: its key is still limited.
  EXPECT_FALSE(limits.take("busy", Role::Viewer));
  EXPECT_TRUE(limits.take("busy", Role::Viewer));
}

}  // namespace
}  // namespace leadscore::api
