// The definition of a composite scorer in the config, `scoring.scorers.NAME.composite`, read
// strictly and with positions (config/leadscore.yaml documents the keys):
//
//   composite:
//     parts:                 # required, at least one; each names another configured scorer
//       - {scorer: icp_fit, max_points: 50}   # or `weight: 0.6`: every part gives the same one
//       - {scorer: llm, max_points: 50}
//     bands:                 # optional; highest min_points first, the last at 0
//       - {label: High, min_points: 70}
//       - {label: Medium, min_points: 40}
//       - {label: Low, min_points: 0}
//     recommend: {transfer_min_points: 70, drop_max_points: 30}   # default: 0.7 and 0.3 of
//                                                                  # the most points
//
// What the points mean is in composite_scorer.h. Whether the parts name configured scorers
// that can run, and whether a composite contains itself, is checked by build_scorers
// (registry.h), which knows every scorer.
//
// Threading: a pure function of its arguments.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "engine/config/yaml_reader.h"
#include "engine/scoring/composite_scorer.h"

namespace leadscore::scoring {

struct CompositePartConfig {
  std::string scorer;
  double points = 0;                 // max_points or weight
  config::Position position;         // of the part (the list item)
  config::Position scorer_position;  // of its `scorer` value
};

struct CompositeConfig {
  std::vector<CompositePartConfig> parts;
  bool weighted = false;  // the parts give `weight`, not `max_points`
  CompositeRules rules;   // the thresholds with their defaults applied
};

// The definition at `node` (the value of the `composite` key at `at`; `path` is the key path,
// "scoring.scorers.hybrid.composite"), or nullopt with every problem in `errors`: not a
// mapping, unknown keys, no parts, a part without `scorer` or with both or neither of
// `max_points` and `weight` (or a value not above 0), parts mixing the two, a part named twice;
// bands that are not listed from the highest min_points down, repeat a label or a min_points,
// have a negative min_points or one above the most points, a blank or overlong label, or whose
// last band does not start at 0; thresholds outside 0..most points, or a drop threshold not
// below the transfer threshold.
std::optional<CompositeConfig> read_composite(const YAML::Node& node, const std::string& path,
                                              config::Position at, config::YamlErrors& errors);

}  // namespace leadscore::scoring
