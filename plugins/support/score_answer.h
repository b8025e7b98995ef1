// What a plugin answers, as C++ values (ScoreResult), and its answer through the ls_result of
// include/leadscore/plugin.h from a buffer that the instance keeps for the calling thread, as
// the ABI's ownership rule asks.
//
// Threading: values; a ResultBuffer is used by one thread (see per_thread.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "leadscore/plugin.h"
#include "plugins/support/lead_features.h"

namespace leadscore::plugin {

enum class Recommendation { TransferToSales, ContinueQualification, DropLead };

// "transfer_to_sales", "continue_qualification", "drop_lead": the ABI's texts.
std::string_view to_string(Recommendation recommendation);
std::optional<Recommendation> parse_recommendation(std::string_view text);

// One rule's part of a score. The contributions of a result add up to its score.
struct Contribution {
  std::string rule;
  double points = 0;
};

struct ScoreResult {
  double score = 0;
  Recommendation recommendation = Recommendation::ContinueQualification;
  std::string reason;
  std::vector<Contribution> contributions;
  std::optional<std::string> intent;  // "High", "Medium", ...: a scorer's own label, if any
};

// Where a thread's last result of an instance lives until that thread's next score() on it:
// the lead as read, the result, and the C view of its contributions.
struct ResultBuffer {
  Features features;
  ScoreResult result;
  std::vector<ls_contribution> contributions;

  // Fills `out` with pointers into `result`.
  void answer(ls_result& out);
};

}  // namespace leadscore::plugin
