#include "engine/analysis/lead_cache.h"

namespace leadscore::analysis {

LeadCache::LeadCache(std::size_t capacity) : per_shard_(capacity / kShards + 1) {}

std::optional<domain::Lead> LeadCache::find(std::int64_t id) const {
  Shard& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.leads.find(id);
  if (it == shard.leads.end()) return std::nullopt;
  return it->second;
}

void LeadCache::put(const domain::Lead& lead) {
  Shard& shard = shard_of(lead.id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.leads.find(lead.id);
  if (it != shard.leads.end()) {
    it->second = lead;
    return;
  }
  // Full: drop an arbitrary entry. The cache only saves a round trip; any eviction is fine.
  if (shard.leads.size() >= per_shard_) shard.leads.erase(shard.leads.begin());
  shard.leads.emplace(lead.id, lead);
}

void LeadCache::erase(std::int64_t id) {
  Shard& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  shard.leads.erase(id);
}

}  // namespace leadscore::analysis
