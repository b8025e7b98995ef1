// Recently analyzed leads, so that a repeated analysis needs one database round trip (the
// guarded write) instead of two. Safe by construction: a cached lead is only ever used as
// the `seen` version of a primary analysis — what is scored — whose result is stored only
// while the row still has that exact input_revision (AnalysisStore::Session::record; every
// change of a scorer's input moves it). A stale entry costs one Conflict and a fresh read, never a
// wrong score; an entry whose ai_* fields or updated_at are behind (another analysis was stored
// since) is still current for scoring, as scores are not inputs.
//
// Threading: safe from any thread (sharded, one mutex per shard).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "engine/domain/lead.h"

namespace leadscore::analysis {

class LeadCache {
 public:
  explicit LeadCache(std::size_t capacity = 16384);

  std::optional<domain::Lead> find(std::int64_t id) const;
  void put(const domain::Lead& lead);
  void erase(std::int64_t id);

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::int64_t, domain::Lead> leads;
  };
  Shard& shard_of(std::int64_t id) const {
    return shards_[static_cast<std::uint64_t>(id) % kShards];
  }

  std::size_t per_shard_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace leadscore::analysis
