#include "engine/domain/experiment.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace leadscore::domain {

std::uint32_t fnv1a32(std::string_view text) {
  std::uint32_t hash = 2166136261u;
  for (const unsigned char c : text) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

std::uint32_t experiment_hash(std::string_view seed, std::string_view value) {
  std::string joined;
  joined.reserve(seed.size() + value.size());
  joined.append(seed).append(value);
  return fnv1a32(std::to_string(fnv1a32(joined)));
}

int experiment_bucket(const Experiment& experiment, std::int64_t lead_id) {
  return static_cast<int>(experiment_hash(experiment.salt, std::to_string(lead_id)) %
                          static_cast<std::uint32_t>(kExperimentBuckets));
}

std::vector<int> arm_bounds(const Experiment& experiment) {
  double total = 0;
  for (const ExperimentArm& arm : experiment.arms) total += arm.weight;
  std::vector<int> bounds{0};
  double cumulative = 0;
  for (std::size_t i = 0; i < experiment.arms.size(); ++i) {
    cumulative += experiment.arms[i].weight;
    const int end = i + 1 == experiment.arms.size()
                        ? kExperimentBuckets
                        : static_cast<int>(std::floor(kExperimentBuckets * cumulative / total));
    bounds.push_back(end);
  }
  return bounds;
}

std::optional<std::size_t> arm_of_bucket(const Experiment& experiment, int bucket) {
  const std::vector<int> bounds = arm_bounds(experiment);
  for (std::size_t i = 0; i + 1 < bounds.size(); ++i)
    if (bucket >= bounds[i] && bucket < bounds[i + 1]) return i;
  return std::nullopt;
}

std::string split_of(const Experiment& experiment) {
  std::string out;
  for (const ExperimentArm& arm : experiment.arms) {
    if (!out.empty()) out += ',';
    char weight[32];
    std::snprintf(weight, sizeof weight, "%g", arm.weight);
    out += arm.name + ":" + weight;
  }
  return out;
}

}  // namespace leadscore::domain
