// The arms of leads in experiments, as stored, kept in memory: after a lead's first analysis in
// an experiment, the next ones need no round trip to learn its arm. Safe by construction: an
// assignment is never changed once stored (experiment_assignments), so an entry cannot go
// stale; an entry of another experiment than the one asked about is a miss.
//
// Threading: safe from any thread (sharded, one mutex per shard).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace leadscore::analysis {

class AssignmentCache {
 public:
  explicit AssignmentCache(std::size_t capacity = 1 << 18);

  // The lead's arm in `experiment`, when it is known here.
  std::optional<std::string> find(const std::string& experiment, std::int64_t lead_id) const;
  void put(const std::string& experiment, std::int64_t lead_id, const std::string& arm);

 private:
  static constexpr std::size_t kShards = 16;
  struct Entry {
    std::string experiment;
    std::string arm;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::int64_t, Entry> arms;  // one experiment per lead: the newest asked
  };
  Shard& shard_of(std::int64_t id) const {
    return shards_[static_cast<std::uint64_t>(id) % kShards];
  }

  std::size_t per_shard_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace leadscore::analysis
