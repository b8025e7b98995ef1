// Rows to domain values and back: the readers of the store's select lists (NULLs as unset
// members, every stage, columns read from an offset, corrupt values refused with an exception)
// and the JSON stored for analyses and offers. The rows are built in memory, as libpq would
// hand them over in text format; no server is needed.
#include "engine/store/row_mapping.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace leadscore::store {
namespace {

using domain::LeadStage;
using domain::Recommendation;
using domain::SaleStage;
using Cell = std::optional<std::string>;  // nullopt: SQL NULL
using Row = std::vector<Cell>;

// A result of one row in text format, as libpq returns it from the server.
PgResult result_of(const Row& row) {
  PGresult* result = PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK);
  if (result == nullptr) throw std::runtime_error("PQmakeEmptyPGresult");
  PgResult owned(result);
  std::vector<std::string> names;
  for (std::size_t c = 0; c < row.size(); ++c) names.push_back("c" + std::to_string(c));
  std::vector<PGresAttDesc> columns(row.size());
  for (std::size_t c = 0; c < row.size(); ++c) {
    columns[c].name = names[c].data();
    columns[c].format = 0;  // text
    columns[c].typid = 25;  // text
    columns[c].typlen = -1;
    columns[c].atttypmod = -1;
  }
  if (!PQsetResultAttrs(result, static_cast<int>(row.size()), columns.data()))
    throw std::runtime_error("PQsetResultAttrs");
  for (std::size_t c = 0; c < row.size(); ++c) {
    const Cell& cell = row[c];
    char* value = cell ? const_cast<char*>(cell->data()) : nullptr;
    if (!PQsetvalue(result, 0, static_cast<int>(c), value,
                    cell ? static_cast<int>(cell->size()) : -1))
      throw std::runtime_error("PQsetvalue");
  }
  return owned;
}

Row concat(Row a, const Row& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The value of profile field `name` in full_lead_row(): a value of its own for every field.
std::string profile_value(std::string_view name) {
  if (name == "name") return "Ada";
  if (name == "email") return "ada@example.com";
  if (name == "role") return "CTO";
  if (name == "company") return "Analytical Engines";
  if (name == "industry") return "software";
  if (name == "location") return "London";
  if (name == "bio") return "writes programs";
  return "the " + std::string(name);
}

constexpr int kFirstProfileColumn = 5;
constexpr int kFirstScoreColumn =
    kFirstProfileColumn + static_cast<int>(domain::kProfileFieldCount);
constexpr int kRecommendationColumn = kFirstScoreColumn + 1;
constexpr int kInputRevisionColumn = kFirstScoreColumn + 8;

// A lead row in lead_columns() order, with every column set.
Row full_lead_row() {
  Row row{"42", "partner", "qualified", "fintech", "7"};
  for (const domain::ProfileFieldSpec& spec : domain::kProfileFields)
    row.push_back(profile_value(spec.name));
  for (const char* cell : {"0.875", "transfer_to_sales", "strong fit", "heuristic", "1.2.0",
                           "2026-01-02T03:04:05.000006Z", "2026-01-01T00:00:00.000000Z",
                           "2026-01-02T03:04:05.000007Z", "5"})
    row.push_back(cell);
  return row;
}

// A lead row with every nullable column NULL: business_domain, the profile, the ai_* columns.
Row bare_lead_row() {
  Row row = full_lead_row();
  row[3] = std::nullopt;
  for (int c = kFirstProfileColumn; c < kFirstScoreColumn + 6; ++c) row[c] = std::nullopt;
  return row;
}

Row sale_row(std::string stage) {
  return {"3", "42", std::move(stage), "2026-01-01T00:00:00.000000Z",
          "2026-01-02T00:00:00.000000Z"};
}

Row offer_row(Cell value_props = R"(["fast", "cheap"])") {
  return {"9",
          "Ledger",
          std::nullopt,
          std::move(value_props),
          R"(["fintech"])",
          "t",
          "2026-01-01T00:00:00.000000Z",
          "2026-01-02T00:00:00.000000Z"};
}

domain::Analysis scored_analysis() {
  domain::Analysis a;
  a.id = 11;
  a.lead_id = 42;
  a.scorer = "heuristic";
  a.scorer_version = "1.2.0";
  a.role = "shadow";
  a.actor = "alice";
  a.features.source = "partner";
  a.features.stage = LeadStage::Contacted;
  a.features.activity_count = 3;
  a.features.business_domain = "fintech";
  a.features.profile.name = "Ada";
  a.features.profile.bio = "line one\nline \"two\"";
  a.features.offer = std::make_shared<const domain::OfferView>(
      domain::OfferView{9, R"({"name": "Ledger", "value_props": ["fast"]})"});
  a.result = domain::ScoreResult{0.75,
                                 Recommendation::ContinueQualification,
                                 "warm",
                                 {{"base", 0.5}, {"activity", 0.25}},
                                 "Medium"};
  a.latency_ms = 1.5;
  return a;
}

// An analysis row in kAnalysisColumns' order, its documents written by the store's writers.
Row analysis_row(const domain::Analysis& a) {
  return {std::to_string(a.id),
          std::to_string(a.lead_id),
          a.scorer,
          a.scorer_version,
          a.role,
          a.actor,
          features_json(a.features),
          a.result ? Cell(result_json(*a.result)) : std::nullopt,
          a.result ? Cell(contributions_json(*a.result)) : std::nullopt,
          "1.5",
          a.error,
          "2026-01-02T03:04:05.000006Z"};
}

TEST(RowMapping, LeadColumnCountIsTheLengthOfItsSelectList) {
  EXPECT_EQ(std::ranges::count(lead_columns(), ',') + 1, kLeadColumnCount);
  EXPECT_EQ(static_cast<int>(full_lead_row().size()), kLeadColumnCount);
}

TEST(RowMapping, LeadWithEveryColumnSet) {
  const domain::Lead lead = read_lead(result_of(full_lead_row()), 0);
  EXPECT_EQ(lead.id, 42);
  EXPECT_EQ(lead.source, "partner");
  EXPECT_EQ(lead.stage, LeadStage::Qualified);
  EXPECT_EQ(lead.business_domain, "fintech");
  EXPECT_EQ(lead.activity_count, 7);
  EXPECT_EQ(lead.profile.name, "Ada");
  EXPECT_EQ(lead.profile.bio, "writes programs");
  domain::for_each_profile_field(lead.profile, [](const char* name, const auto& field) {
    EXPECT_EQ(field, profile_value(name)) << name;
  });
  EXPECT_EQ(lead.ai_score, 0.875);
  EXPECT_EQ(lead.ai_recommendation, Recommendation::TransferToSales);
  EXPECT_EQ(lead.ai_reason, "strong fit");
  EXPECT_EQ(lead.ai_scorer, "heuristic");
  EXPECT_EQ(lead.ai_scorer_version, "1.2.0");
  EXPECT_EQ(lead.ai_analyzed_at, "2026-01-02T03:04:05.000006Z");
  EXPECT_EQ(lead.created_at, "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(lead.updated_at, "2026-01-02T03:04:05.000007Z");
  EXPECT_EQ(lead.input_revision, 5);
}

TEST(RowMapping, LeadNullsAreUnsetMembers) {
  const domain::Lead lead = read_lead(result_of(bare_lead_row()), 0);
  EXPECT_EQ(lead.id, 42);
  EXPECT_EQ(lead.source, "partner");
  EXPECT_FALSE(lead.business_domain);
  domain::for_each_profile_field(
      lead.profile, [](const char* name, const auto& field) { EXPECT_FALSE(field) << name; });
  EXPECT_FALSE(lead.ai_score);
  EXPECT_FALSE(lead.ai_recommendation);
  EXPECT_FALSE(lead.ai_reason);
  EXPECT_FALSE(lead.ai_scorer);
  EXPECT_FALSE(lead.ai_scorer_version);
  EXPECT_FALSE(lead.ai_analyzed_at);
  EXPECT_EQ(lead.input_revision, 5);
}

TEST(RowMapping, EmptyTextIsNotNull) {
  Row row = bare_lead_row();
  row[3] = "";
  row[kFirstScoreColumn + 2] = "";  // ai_reason
  const domain::Lead lead = read_lead(result_of(row), 0);
  EXPECT_EQ(lead.business_domain, "");
  EXPECT_EQ(lead.ai_reason, "");
}

TEST(RowMapping, LeadIsReadFromItsFirstColumn) {
  // A guarded analysis write answers its outcome first, then the lead.
  const PgResult r = result_of(concat({"stored", "0"}, full_lead_row()));
  const domain::Lead lead = read_lead(r, 0, 2);
  EXPECT_EQ(lead.id, 42);
  EXPECT_EQ(lead.stage, LeadStage::Qualified);
  EXPECT_EQ(lead.input_revision, 5);
}

TEST(RowMapping, LeadReadsEveryStage) {
  for (LeadStage stage : domain::kAllLeadStages) {
    Row row = full_lead_row();
    row[2] = std::string(domain::to_string(stage));
    EXPECT_EQ(read_lead(result_of(row), 0).stage, stage) << domain::to_string(stage);
  }
}

TEST(RowMapping, LeadReadsEveryRecommendation) {
  for (Recommendation recommendation :
       {Recommendation::TransferToSales, Recommendation::ContinueQualification,
        Recommendation::DropLead}) {
    Row row = full_lead_row();
    row[kRecommendationColumn] = std::string(domain::to_string(recommendation));
    EXPECT_EQ(read_lead(result_of(row), 0).ai_recommendation, recommendation);
  }
}

TEST(RowMapping, LeadWithAnUnknownStageOrRecommendationIsRefused) {
  Row stage = full_lead_row();
  stage[2] = "archived";
  try {
    read_lead(result_of(stage), 0);
    FAIL() << "an unknown stage was read";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "unknown lead stage in the database: archived");
  }
  Row recommendation = full_lead_row();
  recommendation[kRecommendationColumn] = "call_them_maybe";
  EXPECT_THROW(read_lead(result_of(recommendation), 0), std::runtime_error);
  Row capitalised = full_lead_row();
  capitalised[2] = "Qualified";
  EXPECT_THROW(read_lead(result_of(capitalised), 0), std::runtime_error);
}

TEST(RowMapping, LeadWithMalformedNumbersIsRefused) {
  for (int column : {0, 4, kFirstScoreColumn, kInputRevisionColumn}) {
    Row row = full_lead_row();
    row[column] = "12abc";
    EXPECT_THROW(read_lead(result_of(row), 0), std::runtime_error) << "column " << column;
  }
}

TEST(RowMapping, SaleReadsEveryStage) {
  for (SaleStage stage : domain::kAllSaleStages) {
    const domain::Sale sale =
        read_sale(result_of(sale_row(std::string(domain::to_string(stage)))), 0);
    EXPECT_EQ(sale.stage, stage) << domain::to_string(stage);
    EXPECT_EQ(sale.id, 3);
    EXPECT_EQ(sale.lead_id, 42);
    EXPECT_EQ(sale.created_at, "2026-01-01T00:00:00.000000Z");
    EXPECT_EQ(sale.updated_at, "2026-01-02T00:00:00.000000Z");
  }
}

TEST(RowMapping, SaleWithAnUnknownStageIsRefused) {
  // A lead's stage is not a sale's.
  EXPECT_THROW(read_sale(result_of(sale_row("qualified")), 0), std::runtime_error);
  EXPECT_THROW(read_sale(result_of(sale_row("")), 0), std::runtime_error);
}

TEST(RowMapping, SaleIsReadFromItsFirstColumn) {
  const domain::Sale sale = read_sale(result_of(concat({"x"}, sale_row("kyc"))), 0, 1);
  EXPECT_EQ(sale.id, 3);
  EXPECT_EQ(sale.stage, SaleStage::Kyc);
}

TEST(RowMapping, OfferListsAreReadFromTheirJson) {
  const domain::Offer offer = read_offer(result_of(offer_row()), 0);
  EXPECT_EQ(offer.id, 9);
  EXPECT_EQ(offer.name, "Ledger");
  EXPECT_FALSE(offer.description);
  EXPECT_EQ(offer.value_props, (std::vector<std::string>{"fast", "cheap"}));
  EXPECT_EQ(offer.ideal_use_cases, (std::vector<std::string>{"fintech"}));
  EXPECT_TRUE(offer.active);
  EXPECT_EQ(offer.updated_at, "2026-01-02T00:00:00.000000Z");

  Row inactive = offer_row("[]");
  inactive[5] = "f";
  const domain::Offer other = read_offer(result_of(inactive), 0);
  EXPECT_TRUE(other.value_props.empty());
  EXPECT_FALSE(other.active);
}

TEST(RowMapping, OfferWithAListThatIsNotStringsIsRefused) {
  EXPECT_ANY_THROW(read_offer(result_of(offer_row(R"(["fast", 3])")), 0));
  EXPECT_ANY_THROW(read_offer(result_of(offer_row(R"({"fast": true})")), 0));
  EXPECT_ANY_THROW(read_offer(result_of(offer_row("not json")), 0));
}

TEST(RowMapping, OfferListJsonRoundTrips) {
  const std::vector<std::string> items{"fast", "quote \" and \\ backslash", "line\nbreak", ""};
  const std::string json = text_list_json(items);
  EXPECT_EQ(text_list_json({}), "[]");
  const domain::Offer offer = read_offer(result_of(offer_row(json)), 0);
  EXPECT_EQ(offer.value_props, items);
}

TEST(RowMapping, AnalysisRoundTripsThroughItsJson) {
  const domain::Analysis written = scored_analysis();
  const domain::Analysis a = read_analysis(result_of(analysis_row(written)), 0);
  EXPECT_EQ(a.id, 11);
  EXPECT_EQ(a.lead_id, 42);
  EXPECT_EQ(a.scorer, "heuristic");
  EXPECT_EQ(a.scorer_version, "1.2.0");
  EXPECT_EQ(a.role, "shadow");
  EXPECT_EQ(a.actor, "alice");
  EXPECT_EQ(a.features.source, "partner");
  EXPECT_EQ(a.features.stage, LeadStage::Contacted);
  EXPECT_EQ(a.features.activity_count, 3);
  EXPECT_EQ(a.features.business_domain, "fintech");
  EXPECT_EQ(a.features.profile.name, "Ada");
  EXPECT_EQ(a.features.profile.bio, "line one\nline \"two\"");
  EXPECT_FALSE(a.features.profile.email);
  ASSERT_TRUE(a.features.offer);
  EXPECT_EQ(a.features.offer->id, 9);
  EXPECT_EQ(a.features.offer->json, "");  // only the offer's id is kept
  ASSERT_TRUE(a.result);
  EXPECT_EQ(a.result->score, 0.75);
  EXPECT_EQ(a.result->recommendation, Recommendation::ContinueQualification);
  EXPECT_EQ(a.result->reason, "warm");
  EXPECT_EQ(a.result->intent, "Medium");
  ASSERT_EQ(a.result->contributions.size(), 2u);
  EXPECT_EQ(a.result->contributions[0].rule, "base");
  EXPECT_EQ(a.result->contributions[0].points, 0.5);
  EXPECT_EQ(a.result->contributions[1].rule, "activity");
  EXPECT_EQ(a.result->contributions[1].points, 0.25);
  EXPECT_EQ(a.latency_ms, 1.5);
  EXPECT_FALSE(a.error);
  EXPECT_EQ(a.created_at, "2026-01-02T03:04:05.000006Z");
}

TEST(RowMapping, FeaturesKeepEveryStageAndOnlyTheMembersThatAreSet) {
  for (LeadStage stage : domain::kAllLeadStages) {
    domain::Analysis written = scored_analysis();
    written.features.stage = stage;
    EXPECT_EQ(read_analysis(result_of(analysis_row(written)), 0).features.stage, stage);
  }
  domain::Features bare;
  bare.source = "manual";
  const nlohmann::json json = nlohmann::json::parse(features_json(bare));
  EXPECT_EQ(json, nlohmann::json::parse(R"({"source":"manual","stage":"new","activity_count":0})"));
}

TEST(RowMapping, FailedRunHasNoResult) {
  domain::Analysis written = scored_analysis();
  written.result.reset();
  written.error = "scorer timed out";
  const domain::Analysis a = read_analysis(result_of(analysis_row(written)), 0);
  EXPECT_FALSE(a.result);
  EXPECT_EQ(a.error, "scorer timed out");
}

TEST(RowMapping, ResultWithoutContributionsOrIntent) {
  domain::Analysis written = scored_analysis();
  written.result->intent.reset();
  Row row = analysis_row(written);
  row[8] = std::nullopt;
  const domain::Analysis a = read_analysis(result_of(row), 0);
  ASSERT_TRUE(a.result);
  EXPECT_FALSE(a.result->intent);
  EXPECT_TRUE(a.result->contributions.empty());
}

TEST(RowMapping, AnalysisWithUnknownOrMissingValuesIsRefused) {
  Row stage = analysis_row(scored_analysis());
  stage[6] = R"({"source":"manual","stage":"archived"})";
  EXPECT_THROW(read_analysis(result_of(stage), 0), std::runtime_error);

  Row recommendation = analysis_row(scored_analysis());
  recommendation[7] = R"({"score":0.5,"recommendation":"maybe"})";
  EXPECT_THROW(read_analysis(result_of(recommendation), 0), std::runtime_error);

  Row no_score = analysis_row(scored_analysis());
  no_score[7] = R"({"recommendation":"drop_lead"})";
  EXPECT_ANY_THROW(read_analysis(result_of(no_score), 0));

  Row latency = analysis_row(scored_analysis());
  latency[9] = "fast";
  EXPECT_THROW(read_analysis(result_of(latency), 0), std::runtime_error);
}

TEST(RowMapping, TextThatIsNotUtf8IsReplacedNotThrown) {
  domain::Features features;
  features.source = "bad \xff byte";
  std::string json;
  ASSERT_NO_THROW(json = features_json(features));
  EXPECT_EQ(nlohmann::json::parse(json).at("source"), "bad \xEF\xBF\xBD byte");
  EXPECT_NO_THROW(text_list_json({"\xc3"}));
}

}  // namespace
}  // namespace leadscore::store
