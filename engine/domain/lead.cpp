#include "engine/domain/lead.h"

#include <algorithm>
#include <array>
#include <utility>

namespace leadscore::domain {
namespace {

constexpr std::array<std::pair<LeadStage, std::string_view>, 5> kLeadStageNames{{
    {LeadStage::New, "new"},
    {LeadStage::Contacted, "contacted"},
    {LeadStage::Qualified, "qualified"},
    {LeadStage::Transferred, "transferred"},
    {LeadStage::Lost, "lost"},
}};
constexpr std::array<std::pair<SaleStage, std::string_view>, 5> kSaleStageNames{{
    {SaleStage::New, "new"},
    {SaleStage::Kyc, "kyc"},
    {SaleStage::Agreement, "agreement"},
    {SaleStage::Paid, "paid"},
    {SaleStage::Lost, "lost"},
}};
constexpr std::array<std::pair<Recommendation, std::string_view>, 3> kRecommendationNames{{
    {Recommendation::TransferToSales, "transfer_to_sales"},
    {Recommendation::ContinueQualification, "continue_qualification"},
    {Recommendation::DropLead, "drop_lead"},
}};

template <typename Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& names,
                         Enum value) {
  for (const auto& [v, n] : names)
    if (v == value) return n;
  return "unknown";
}

template <typename Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, N>& names,
                             std::string_view text) {
  for (const auto& [v, n] : names)
    if (n == text) return v;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(LeadStage stage) { return name_of(kLeadStageNames, stage); }
std::string_view to_string(SaleStage stage) { return name_of(kSaleStageNames, stage); }
std::string_view to_string(Recommendation r) { return name_of(kRecommendationNames, r); }
std::optional<LeadStage> parse_lead_stage(std::string_view text) {
  return value_of(kLeadStageNames, text);
}
std::optional<SaleStage> parse_sale_stage(std::string_view text) {
  return value_of(kSaleStageNames, text);
}
std::optional<Recommendation> parse_recommendation(std::string_view text) {
  return value_of(kRecommendationNames, text);
}

bool is_final(LeadStage stage) {
  return stage == LeadStage::Transferred || stage == LeadStage::Lost;
}
bool is_final(SaleStage stage) { return stage == SaleStage::Paid || stage == SaleStage::Lost; }

std::optional<bool> sale_outcome(std::optional<SaleStage> sale) {
  if (sale == SaleStage::Paid) return true;
  if (sale == SaleStage::Lost) return false;
  return std::nullopt;
}

bool has_business_domain(const Lead& lead) { return has_business_domain(lead.business_domain); }

bool has_business_domain(const std::optional<std::string>& business_domain) {
  if (!business_domain) return false;
  return std::ranges::any_of(*business_domain, [](unsigned char c) {
    return c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v';
  });
}

}  // namespace leadscore::domain
