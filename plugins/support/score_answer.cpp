#include "plugins/support/score_answer.h"

#include <array>
#include <utility>

#include "plugins/support/error_channel.h"

namespace leadscore::plugin {
namespace {

constexpr std::array<std::pair<Recommendation, std::string_view>, 3> kRecommendationNames{{
    {Recommendation::TransferToSales, "transfer_to_sales"},
    {Recommendation::ContinueQualification, "continue_qualification"},
    {Recommendation::DropLead, "drop_lead"},
}};

}  // namespace

std::string_view to_string(Recommendation recommendation) {
  for (const auto& [value, name] : kRecommendationNames)
    if (value == recommendation) return name;
  return "continue_qualification";
}

std::optional<Recommendation> parse_recommendation(std::string_view text) {
  for (const auto& [value, name] : kRecommendationNames)
    if (name == text) return value;
  return std::nullopt;
}

void ResultBuffer::answer(ls_result& out) {
  contributions.resize(result.contributions.size());
  for (std::size_t i = 0; i < result.contributions.size(); ++i)
    contributions[i] = {result.contributions[i].rule.c_str(), result.contributions[i].points};
  out.score = result.score;
  out.recommendation = to_string(result.recommendation).data();  // literals: NUL-terminated
  out.reason = result.reason.c_str();
  out.contributions = contributions.data();
  out.contribution_count = contributions.size();
  if (LS_HAS_FIELD(&out, intent)) out.intent = result.intent ? result.intent->c_str() : nullptr;
}

}  // namespace leadscore::plugin
