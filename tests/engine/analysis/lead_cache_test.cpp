// The lead cache of engine/analysis/lead_cache.h: what is put is found by its id as it was put,
// a put replaces, an erase forgets, a full cache drops other entries rather than grow or refuse
// the newest, and several threads may use it at once.
#include "engine/analysis/lead_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace leadscore::analysis {
namespace {

using domain::Lead;
using domain::LeadStage;

Lead lead_with(std::int64_t id, std::int64_t input_revision = 1) {
  Lead lead;
  lead.id = id;
  lead.source = "partner";
  lead.stage = LeadStage::Contacted;
  lead.business_domain = "example.com";
  lead.profile.name = "Lead " + std::to_string(id);
  lead.input_revision = input_revision;
  return lead;
}

// How many of the leads with ids [first, first + count) the cache holds.
std::size_t held(const LeadCache& cache, std::int64_t first, std::int64_t count) {
  std::size_t n = 0;
  for (std::int64_t id = first; id < first + count; ++id) n += cache.find(id).has_value();
  return n;
}

TEST(LeadCache, FindsNothingWhenEmpty) {
  const LeadCache cache;
  EXPECT_FALSE(cache.find(1).has_value());
  EXPECT_FALSE(cache.find(0).has_value());
  EXPECT_FALSE(cache.find(-1).has_value());
}

TEST(LeadCache, FindsALeadAsItWasPut) {
  LeadCache cache;
  Lead lead = lead_with(42, 7);
  lead.ai_score = 0.25;
  lead.profile.email = "ada@example.com";
  cache.put(lead);

  const auto found = cache.find(42);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, 42);
  EXPECT_EQ(found->source, "partner");
  EXPECT_EQ(found->stage, LeadStage::Contacted);
  EXPECT_EQ(found->business_domain, "example.com");
  EXPECT_EQ(found->profile.name, "Lead 42");
  EXPECT_EQ(found->profile.email, "ada@example.com");
  EXPECT_EQ(found->ai_score, 0.25);
  EXPECT_EQ(found->input_revision, 7);
  EXPECT_FALSE(cache.find(41).has_value());
  EXPECT_FALSE(cache.find(43).has_value());
}

TEST(LeadCache, KeepsACopyThatTheCallerCannotChange) {
  LeadCache cache;
  Lead lead = lead_with(5, 1);
  cache.put(lead);
  lead.input_revision = 2;
  lead.profile.name = "changed after put";
  EXPECT_EQ(cache.find(5)->input_revision, 1);
  EXPECT_EQ(cache.find(5)->profile.name, "Lead 5");

  auto found = cache.find(5);
  found->input_revision = 99;
  EXPECT_EQ(cache.find(5)->input_revision, 1);
}

TEST(LeadCache, TellsLeadsApartByIdAcrossShards) {
  LeadCache cache;
  // Ids that share a shard (equal modulo any small shard count) and ids that do not.
  const std::vector<std::int64_t> ids{1, 17, 33, 2, 1024, 1'000'000'007, -3};
  for (std::int64_t id : ids) cache.put(lead_with(id, id + 1000));
  for (std::int64_t id : ids) {
    const auto found = cache.find(id);
    ASSERT_TRUE(found.has_value()) << id;
    EXPECT_EQ(found->id, id);
    EXPECT_EQ(found->input_revision, id + 1000);
  }
}

TEST(LeadCache, APutOfTheSameIdReplacesTheEntry) {
  LeadCache cache;
  cache.put(lead_with(9, 1));
  Lead newer = lead_with(9, 2);
  newer.stage = LeadStage::Qualified;
  newer.profile.name.reset();
  cache.put(newer);

  const auto found = cache.find(9);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->input_revision, 2);
  EXPECT_EQ(found->stage, LeadStage::Qualified);
  EXPECT_FALSE(found->profile.name.has_value());
}

TEST(LeadCache, EraseForgetsOnlyThatLead) {
  LeadCache cache;
  cache.put(lead_with(1));
  cache.put(lead_with(17));
  cache.put(lead_with(2));
  cache.erase(1);
  EXPECT_FALSE(cache.find(1).has_value());
  EXPECT_TRUE(cache.find(17).has_value());
  EXPECT_TRUE(cache.find(2).has_value());

  cache.erase(1);    // again: nothing to do
  cache.erase(500);  // never put
  EXPECT_TRUE(cache.find(17).has_value());

  cache.put(lead_with(1, 3));  // an erased id can come back
  ASSERT_TRUE(cache.find(1).has_value());
  EXPECT_EQ(cache.find(1)->input_revision, 3);
}

TEST(LeadCache, StaysNearItsCapacityAndAlwaysHoldsTheNewestLead) {
  constexpr std::size_t kCapacity = 160;
  constexpr std::int64_t kPut = 20 * kCapacity;
  LeadCache cache(kCapacity);
  for (std::int64_t id = 1; id <= kPut; ++id) {
    cache.put(lead_with(id));
    // A full cache drops some other entry; the lead just put is always there.
    ASSERT_TRUE(cache.find(id).has_value()) << id;
  }
  // The capacity is shared out among the cache's 16 shards (docs/architecture.md, "lead
  // cache"), each rounded up by one: never more than capacity + 16 leads.
  const std::size_t count = held(cache, 1, kPut);
  EXPECT_LE(count, kCapacity + 16);
  // And the cache is not emptied to make room: with ids spread evenly over the shards, nearly
  // the whole capacity stays in use.
  EXPECT_GE(count, kCapacity);
}

TEST(LeadCache, ReplacingAnEntryOfAFullCacheDropsNothing) {
  constexpr std::size_t kCapacity = 32;
  LeadCache cache(kCapacity);
  for (std::int64_t id = 1; id <= 10 * static_cast<std::int64_t>(kCapacity); ++id)
    cache.put(lead_with(id));
  std::vector<std::int64_t> before;
  for (std::int64_t id = 1; id <= 10 * static_cast<std::int64_t>(kCapacity); ++id)
    if (cache.find(id)) before.push_back(id);
  ASSERT_FALSE(before.empty());

  for (std::int64_t id : before) cache.put(lead_with(id, 2));
  for (std::int64_t id : before) {
    const auto found = cache.find(id);
    ASSERT_TRUE(found.has_value()) << "lead " << id << " was dropped by a replace";
    EXPECT_EQ(found->input_revision, 2);
  }
}

TEST(LeadCache, ASmallCapacityStillCaches) {
  LeadCache cache(1);
  cache.put(lead_with(3));
  EXPECT_TRUE(cache.find(3).has_value());
  cache.put(lead_with(4));
  EXPECT_TRUE(cache.find(4).has_value());
}

TEST(LeadCache, ServesSeveralThreadsAtOnce) {
  // Each thread owns a range of ids and puts, finds, replaces and erases them, while every
  // thread also reads the others' ranges. Entries are only ever whole leads of the right id.
  constexpr int kThreads = 4;
  constexpr std::int64_t kIdsPerThread = 500;
  LeadCache cache(kThreads * kIdsPerThread * 2);  // room for every id: nothing is dropped
  std::atomic<int> torn{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::int64_t first = 1 + t * kIdsPerThread;
      for (int round = 1; round <= 3; ++round) {
        for (std::int64_t id = first; id < first + kIdsPerThread; ++id) {
          cache.put(lead_with(id, round));
          const auto mine = cache.find(id);
          if (!mine || mine->id != id || mine->input_revision != round) ++torn;
          const std::int64_t other = 1 + (id + kIdsPerThread) % (kThreads * kIdsPerThread);
          if (const auto seen = cache.find(other);
              seen && (seen->id != other || seen->profile.name != "Lead " + std::to_string(other)))
            ++torn;
        }
      }
      for (std::int64_t id = first; id < first + kIdsPerThread; id += 2) cache.erase(id);
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(torn.load(), 0);
  for (std::int64_t id = 1; id <= kThreads * kIdsPerThread; ++id) {
    const auto found = cache.find(id);
    if ((id - 1) % 2 == 0) {
      EXPECT_FALSE(found.has_value()) << id;
    } else {
      ASSERT_TRUE(found.has_value()) << id;
      EXPECT_EQ(found->input_revision, 3);
    }
  }
}

}  // namespace
}  // namespace leadscore::analysis
