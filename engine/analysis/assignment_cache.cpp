#include "engine/analysis/assignment_cache.h"

namespace leadscore::analysis {

AssignmentCache::AssignmentCache(std::size_t capacity) : per_shard_(capacity / kShards + 1) {}

std::optional<std::string> AssignmentCache::find(const std::string& experiment,
                                                 std::int64_t lead_id) const {
  Shard& shard = shard_of(lead_id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.arms.find(lead_id);
  if (it == shard.arms.end() || it->second.experiment != experiment) return std::nullopt;
  return it->second.arm;
}

void AssignmentCache::put(const std::string& experiment, std::int64_t lead_id,
                          const std::string& arm) {
  Shard& shard = shard_of(lead_id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.arms.find(lead_id);
  if (it != shard.arms.end()) {
    it->second = {experiment, arm};
    return;
  }
  // Full: drop an arbitrary entry. The cache only saves a round trip; any eviction is fine.
  if (shard.arms.size() >= per_shard_) shard.arms.erase(shard.arms.begin());
  shard.arms.emplace(lead_id, Entry{experiment, arm});
}

}  // namespace leadscore::analysis
