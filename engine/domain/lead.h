// Lead and sale value types and their stages: the vocabulary of the business.
// Pure values, no I/O; safe to use from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
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
// What became of a lead, by its sale: converted (paid), not converted (lost), or not known yet
// (no sale, or one still open). What every comparison of scorers measures them against.
std::optional<bool> sale_outcome(std::optional<SaleStage> sale);

// The profile: optional free-text fields describing the person behind a lead, declared here
// once. Each entry is FIELD(member, longest accepted value in bytes). The member's name is also
// its JSON member, CSV column, database column and the name scorers see it by; everything that
// lists profile fields derives from this list (Profile, LeadPatch, kProfileFields,
// for_each_profile_field), so a new field is one line here and one migration adding its
// column.
#define LEADSCORE_PROFILE_FIELDS(FIELD) \
  FIELD(name, 200)                      \
  FIELD(email, 320)                     \
  FIELD(role, 200)                      \
  FIELD(company, 200)                   \
  FIELD(industry, 200)                  \
  FIELD(location, 200)                  \
  FIELD(bio, 4000)                      \
  FIELD(phone, 64)                      \
  FIELD(website, 2048)

struct ProfileFieldSpec {
  std::string_view name;
  std::size_t max_bytes;
};

#define LEADSCORE_PROFILE_FIELD_SPEC(member, max_bytes) ProfileFieldSpec{#member, max_bytes},
inline constexpr ProfileFieldSpec kProfileFields[] = {
    LEADSCORE_PROFILE_FIELDS(LEADSCORE_PROFILE_FIELD_SPEC)};
#undef LEADSCORE_PROFILE_FIELD_SPEC
inline constexpr std::size_t kProfileFieldCount = std::size(kProfileFields);

struct Profile {
#define LEADSCORE_PROFILE_MEMBER(member, max_bytes) std::optional<std::string> member;
  LEADSCORE_PROFILE_FIELDS(LEADSCORE_PROFILE_MEMBER)
#undef LEADSCORE_PROFILE_MEMBER
};

// Visits the profile fields of `fields` — a Profile, or anything with the same members, such
// as a LeadPatch — as visit(name, member), in the order of kProfileFields.
template <typename Fields, typename Visit>
void for_each_profile_field(Fields& fields, Visit&& visit) {
#define LEADSCORE_VISIT_PROFILE_FIELD(member, max_bytes) visit(#member, fields.member);
  LEADSCORE_PROFILE_FIELDS(LEADSCORE_VISIT_PROFILE_FIELD)
#undef LEADSCORE_VISIT_PROFILE_FIELD
}

// Visits the same profile field of `a` and `b` together, as visit(name, a.member, b.member).
template <typename A, typename B, typename Visit>
void for_each_profile_field(A& a, B& b, Visit&& visit) {
#define LEADSCORE_VISIT_PROFILE_FIELDS(member, max_bytes) visit(#member, a.member, b.member);
  LEADSCORE_PROFILE_FIELDS(LEADSCORE_VISIT_PROFILE_FIELDS)
#undef LEADSCORE_VISIT_PROFILE_FIELDS
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
bool has_business_domain(const std::optional<std::string>& business_domain);

}  // namespace leadscore::domain
