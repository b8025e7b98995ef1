// The report of scorer versions against closed sales, from what the store read: outcomes from
// sales (paid, lost, else open), one row per version, metrics withheld below min_n; and the
// times of its window, checked as the API and the command line take them.
#include "engine/analysis/scorer_report.h"

#include <gtest/gtest.h>

namespace leadscore::analysis {
namespace {

using domain::SaleStage;

store::ScorerVersionRuns version_runs(const std::string& version, std::size_t converted,
                                      std::size_t lost, std::size_t open) {
  store::ScorerVersionRuns runs{"rules", version, converted + lost + open, "a", "b", {}};
  std::int64_t id = 0;
  for (std::size_t i = 0; i < converted; ++i)
    runs.leads.push_back({++id, 0.8, domain::Recommendation::TransferToSales, SaleStage::Paid});
  for (std::size_t i = 0; i < lost; ++i)
    runs.leads.push_back({++id, 0.2, domain::Recommendation::DropLead, SaleStage::Lost});
  for (std::size_t i = 0; i < open; ++i)
    runs.leads.push_back({++id, 0.5, domain::Recommendation::ContinueQualification,
                          i % 2 ? std::optional(SaleStage::Kyc) : std::nullopt});
  return runs;
}

TEST(ScorerReport, CountsOutcomesBySaleAndWithholdsMetricsBelowMinN) {
  store::ScorerRunsInWindow runs{
      "since", "until", {version_runs("1.0", 2, 3, 4), version_runs("1.1", 40, 35, 1)}};
  const auto report = scorer_report(runs, {});
  ASSERT_EQ(report.versions.size(), 2u);
  const auto& small = report.versions[0];
  EXPECT_EQ(small.leads, 9u);
  EXPECT_EQ(small.converted, 2u);
  EXPECT_EQ(small.lost, 3u);
  EXPECT_EQ(small.open, 4u);  // no sale, or a sale in kyc: open, never a failure
  EXPECT_EQ(small.summary.failed, 0u);
  ASSERT_TRUE(small.summary.outcomes);
  EXPECT_EQ(small.summary.outcomes->n, 5u);
  EXPECT_FALSE(small.summary.outcomes->auc);  // 2 and 3: below min_n (30)
  const auto& large = report.versions[1];
  ASSERT_TRUE(large.summary.outcomes && large.summary.outcomes->auc);
  EXPECT_DOUBLE_EQ(*large.summary.outcomes->auc, 1.0);

  const auto json = scorer_report_json(report);
  EXPECT_EQ(json["min_n"], 30);
  EXPECT_EQ(json["scorers"][0]["version"], "1.0");
  EXPECT_TRUE(json["scorers"][0]["metrics"]["outcomes"]["auc"].is_null());
  EXPECT_EQ(json["scorers"][1]["metrics"]["outcomes"]["auc"], 1.0);
  EXPECT_NE(scorer_report_text(report).find("rules version 1.1: 76 analyses of 76 leads"),
            std::string::npos)
      << scorer_report_text(report);
}

TEST(ScorerReport, AFailedLatestRunCountsAsFailed) {
  auto runs = version_runs("1.0", 1, 1, 0);
  runs.leads[0].score.reset();
  runs.leads[0].recommendation.reset();
  const auto report = scorer_report({"s", "u", {runs}}, {});
  EXPECT_EQ(report.versions[0].summary.failed, 1u);
  EXPECT_EQ(report.versions[0].summary.n, 1u);
}

TEST(ScorerReport, TakesDatesAndRfc3339TimesOnly) {
  EXPECT_EQ(parse_report_time("2026-11-30", "since").value(), "2026-11-30T00:00:00Z");
  EXPECT_EQ(parse_report_time("2024-02-29", "since").value(), "2024-02-29T00:00:00Z");
  for (const char* good : {"2026-11-30T12:00:00Z", "2026-11-30T12:00:00.123456Z",
                           "2026-11-30T12:00:00+01:00", "2026-11-30t23:59:59-05:30"})
    EXPECT_EQ(parse_report_time(good, "until").value(), good);
  for (const char* bad :
       {"", "yesterday", "2026-11-31", "2025-02-29", "2026-13-01", "2026-11-30 12:00:00Z",
        "2026-11-30T12:00:00", "2026-11-30T24:00:00Z", "2026-11-30T12:00:00.Z",
        "2026-11-30T12:00:00+1:00", "2026-11-30T12:00:00Z; DROP TABLE leads", "0000-01-01"}) {
    auto parsed = parse_report_time(bad, "until");
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().field, "until");
  }
}

}  // namespace
}  // namespace leadscore::analysis
