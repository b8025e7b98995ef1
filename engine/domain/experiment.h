// A live champion/challenger experiment: which arm a lead belongs to. A lead's arm comes from a
// stable hash of (salt, lead id) into 10,000 buckets, the same as GrowthBook's v2 hashing, so
// that any other tool can reproduce the split: n = FNV-1a 32-bit of the decimal string of
// FNV-1a 32-bit(salt + lead id), bucket = n mod 10,000. The arms take consecutive bucket ranges
// by weight, in config order: arm i takes [floor(10000 * W(i-1) / W), floor(10000 * W(i) / W)),
// W(i) the sum of the weights of the first i arms, W of all.
//
// Pure values and functions: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leadscore::domain {

inline constexpr int kExperimentBuckets = 10'000;

struct ExperimentArm {
  std::string name;    // recorded with every analysis of the arm's leads
  std::string scorer;  // the configured scorer that is the primary of the arm's leads
  double weight = 1;   // > 0; the arm's share is weight / the sum of the weights
};

struct Experiment {
  std::string name;
  std::string salt;  // the hash seed: a new salt reshuffles every lead not yet assigned
  std::vector<ExperimentArm> arms;
  std::size_t min_n = 30;  // below this many closed outcomes, the report shows no rates
  bool active = true;      // a stopped experiment assigns nothing; its assignments are kept
};

// A lead's arm as the split now in force puts it: stored unless the lead has one already.
struct ArmAssignment {
  std::int64_t lead_id = 0;
  std::string arm;
  int bucket = 0;
};

// The assignment an analysis makes of its lead's arm (Analysis::assigning), when the lead was not
// known to have one: the bucket and the split (split_of) it was proposed under. The write that
// stores the analysis stores the assignment with it.
struct ArmProposal {
  int bucket = 0;
  std::string split;
};

// FNV-1a, 32 bits (offset basis 2166136261, prime 16777619).
std::uint32_t fnv1a32(std::string_view text);
// GrowthBook's v2 hash before the modulo: fnv1a32(decimal string of fnv1a32(seed + value)).
std::uint32_t experiment_hash(std::string_view seed, std::string_view value);
// The bucket (0..9999) of a lead in an experiment.
int experiment_bucket(const Experiment& experiment, std::int64_t lead_id);
// The index of the arm whose range holds `bucket`; nullopt when the experiment has no arm.
std::optional<std::size_t> arm_of_bucket(const Experiment& experiment, int bucket);
// The first bucket of each arm's range, and 10,000 at the end (arms + 1 values).
std::vector<int> arm_bounds(const Experiment& experiment);
// The split as text, "control:50,challenger:50": stored with each assignment, so that the
// sample-ratio check compares only leads assigned under the weights now in force.
std::string split_of(const Experiment& experiment);

}  // namespace leadscore::domain
