// Lead and sale value types and their stages: the vocabulary of the business.
// Pure values, no I/O; safe to use from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leadscore::domain {

enum class LeadStage { New, Contacted, Qualified, Transferred, Lost };
enum class SaleStage { New, Kyc, Agreement, Paid, Lost };
enum class Recommendation { TransferToSales, ContinueQualification, DropLead };

inline constexpr LeadStage kAllLeadStages[] = {LeadStage::New, LeadStage::Contacted,
                                               LeadStage::Qualified, LeadStage::Transferred,
                                               LeadStage::Lost};
inline constexpr SaleStage kAllSaleStages[] = {SaleStage::New, SaleStage::Kyc, SaleStage::Agreement,
                                               SaleStage::Paid, SaleStage::Lost};

std::string_view to_string(LeadStage stage);
std::string_view to_string(SaleStage stage);
std::string_view to_string(Recommendation recommendation);
std::optional<LeadStage> parse_lead_stage(std::string_view text);
std::optional<SaleStage> parse_sale_stage(std::string_view text);
std::optional<Recommendation> parse_recommendation(std::string_view text);

// `transferred` and `lost` end a lead; `paid` and `lost` end a sale.
bool is_final(LeadStage stage);
bool is_final(SaleStage stage);

// Optional free-text fields describing the person behind a lead.
struct Profile {
  std::optional<std::string> name, email, role, company, industry, location, bio;
};

// Visits the profile fields of `fields` — a Profile, or anything with the same members, such
// as a LeadPatch — as visit(name, member), in a fixed order. The names are also the JSON
// member and column names.
template <typename Fields, typename Visit>
void for_each_profile_field(Fields& fields, Visit&& visit) {
  visit("name", fields.name);
  visit("email", fields.email);
  visit("role", fields.role);
  visit("company", fields.company);
  visit("industry", fields.industry);
  visit("location", fields.location);
  visit("bio", fields.bio);
}

struct Lead {
  std::int64_t id = 0;
  std::string source;
  LeadStage stage = LeadStage::New;
  std::optional<std::string> business_domain;
  std::int64_t activity_count = 0;
  Profile profile;
  std::optional<double> ai_score;
  std::optional<Recommendation> ai_recommendation;
  std::optional<std::string> ai_reason;
  std::optional<std::string> ai_scorer;          // scorer name
  std::optional<std::string> ai_scorer_version;  // scorer version
  std::optional<std::string> ai_analyzed_at;     // RFC 3339, UTC
  std::string created_at;                        // RFC 3339, UTC
  std::string updated_at;                        // RFC 3339, UTC: the last change of any kind
  // The version of what a scorer is given (features_of): it moves on every change of the
  // source, stage, business_domain, activity_count or a profile field, and never when a score
  // is stored. A score computed from this lead is stored only while the revision is unchanged.
  // 0 for a lead the store has not read.
  std::int64_t input_revision = 0;
};

struct Sale {
  std::int64_t id = 0;
  std::int64_t lead_id = 0;
  SaleStage stage = SaleStage::New;
  std::string created_at;  // RFC 3339, UTC
  std::string updated_at;  // RFC 3339, UTC
};

// A blank or whitespace-only business domain counts as missing.
bool has_business_domain(const Lead& lead);

}  // namespace leadscore::domain
