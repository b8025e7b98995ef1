// The heuristic scorer: points for the lead's source, activity, stage and business domain,
// every weight and threshold read from the scorer's `params` (config/leadscore.yaml documents
// them; the defaults below are the shipped heuristic). The engine runs it as the plugin module
// heuristic.so (heuristic_plugin.cpp); tests and benchmarks also link it directly.
//
// Two faces: evaluate() is the numeric core (no allocation, no strings built; for bulk
// scoring and benchmarks), score() wraps it into a full ScoreResult with rule labels and an
// English reason. Both give the same score and recommendation. Leads and results are the plugin
// support library's values (plugins/support): the heuristic knows nothing of the engine.
//
// Threading: immutable after construction; evaluate() and score() are safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/support/json_params.h"
#include "plugins/support/lead_features.h"
#include "plugins/support/score_answer.h"

namespace leadscore::heuristic {

using plugin::Features;
using plugin::Recommendation;
using plugin::ScoreResult;
using plugin::Stage;

struct HeuristicParams {
  struct SourcePoints {
    std::string source;
    double points = 0;
  };
  // Activity: the first step whose `below` exceeds activity_count gives its points; a count
  // past every step gets activity_final_points. `below` strictly increases.
  struct ActivityStep {
    std::int64_t below = 0;
    double points = 0;
  };

  std::vector<SourcePoints> source_points{{"scanner", 0.5}, {"partner", 0.7}, {"manual", 0.4}};
  double other_source_points = 0.3;
  std::vector<ActivityStep> activity_steps{{1, -0.2}, {3, 0.05}, {7, 0.15}};
  double activity_final_points = 0.25;
  // Indexed by plugin::Stage: new, contacted, qualified, transferred, lost.
  std::array<double, 5> stage_points{0.0, 0.05, 0.15, 0.2, -0.4};
  double business_domain_points = 0.1;
  double no_business_domain_cap = 0.55;  // the most a lead without a business domain can score
  double transfer_min_score = 0.7;       // transfer_to_sales at or above, with a business domain
  double drop_max_score = 0.3;           // drop_lead at or below

  static constexpr std::size_t kMaxSources = 16;
  static constexpr std::size_t kMaxActivitySteps = 16;
};

// Reads the params of one heuristic scorer instance. Absent keys keep their defaults; every
// problem (unknown key, wrong type, out of range, unordered steps) goes to params.problems().
HeuristicParams read_heuristic_params(plugin::ParamsMap& params);

// The same from the JSON text that create() receives: the params, or every problem as
// "LINE:COLUMN: message" lines (positions in that text), as create() reports them.
std::expected<HeuristicParams, std::string> read_heuristic_params(std::string_view params_json);

// The rules a heuristic score is made of, in the order they apply.
enum class HeuristicRule : std::uint8_t {
  Source,            // detail: index into params.source_points
  OtherSource,       // a source with no points of its own
  Activity,          // detail: index of the step; activity_steps.size() for the final one
  Stage,             // detail: the plugin::Stage
  BusinessDomain,    // the business-domain bonus
  NoBusinessDomain,  // zero points: says that the domain is missing
  NoDomainCap,       // the score cut down to no_business_domain_cap
  Clamp,             // the score brought back into [0, 1]
};

struct HeuristicTerm {
  HeuristicRule rule;
  std::uint8_t detail;
  double points;
};

// The numeric result: terms[0..count) add up to score (within rounding). Only those terms
// are set: the array is left uninitialised past them, which keeps evaluate() cheap.
struct HeuristicEvaluation {
  double score = 0;
  Recommendation recommendation = Recommendation::ContinueQualification;
  bool has_business_domain = false;
  std::uint8_t count = 0;
  std::array<HeuristicTerm, 6> terms;
};

// Whether the lead has a business domain: blank counts as missing, as for the handoff.
bool has_business_domain(const Features& features) noexcept;

class HeuristicScorer final {
 public:
  // Throws std::invalid_argument for params that read_heuristic_params would refuse in shape
  // (more than kMaxSources sources or kMaxActivitySteps steps).
  explicit HeuristicScorer(std::string name, HeuristicParams params = {});

  const std::string& name() const { return name_; }
  // "1.0+" and a hash of the effective params: a change of weights changes the version.
  const std::string& version() const { return version_; }
  // The full result, or why it could not be made. Never throws.
  std::expected<ScoreResult, std::string> score(const Features& features) const;

  HeuristicEvaluation evaluate(const Features& features) const noexcept;
  // The full result of an evaluation: contributions with labels, and the reason.
  ScoreResult explain(const Features& features, const HeuristicEvaluation& evaluation) const;

  const HeuristicParams& params() const { return params_; }

 private:
  // A source name as fixed-size words, so that the lookup compares integers, not strings.
  // (size, head, tail) identifies a name of up to 16 bytes; longer ones are also memcmp'd.
  struct SourceKey {
    std::uint64_t head = 0;
    std::uint64_t tail = 0;
    std::size_t size = 0;
  };
  static SourceKey key_of(const char* data, std::size_t size) noexcept;
  std::size_t find_source(const std::string& source) const noexcept;

  std::string name_;
  HeuristicParams params_;
  std::string version_;
  // params_ laid out for evaluate(): fixed arrays, no indirection.
  std::array<SourceKey, HeuristicParams::kMaxSources> source_keys_{};
  std::array<double, HeuristicParams::kMaxSources> source_points_{};
  std::size_t source_count_ = 0;
  std::array<std::int64_t, HeuristicParams::kMaxActivitySteps> activity_below_{};
  std::array<double, HeuristicParams::kMaxActivitySteps + 1> activity_points_{};
  std::size_t activity_step_count_ = 0;
  // Fixed pieces of labels and reasons, formatted once.
  std::vector<std::string> activity_label_suffix_;  // per step: " (< 3)", last " (>= 7)"
  std::string cap_label_, cap_reason_;
  std::string transfer_reason_, blocked_reason_, drop_reason_, continue_reason_;
};

}  // namespace leadscore::heuristic
