// Offline comparison of configured scorers over a CSV: each named scorer answers for itself,
// rows are read as `leadscore score` reads them, and outcomes are measured where given.
#include "tools/compare.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/scoring/comparison_report.h"
#include "tests/tools/shipped_scorers.h"

namespace leadscore::tools {
namespace {

class Compare : public ::testing::Test {
 protected:
  void SetUp() override {
    set = testing::shipped_scorers();
    ASSERT_TRUE(set);
  }
  std::unique_ptr<scoring::ScorerSet> set;
};

// Every source, stage and activity count 0..12, with and without a domain.
std::string sweep() {
  std::string csv = "source,stage,activity_count,business_domain\n";
  for (const char* source : {"scanner", "partner", "manual", "fair"})
    for (const char* stage : {"new", "contacted", "qualified", "transferred", "lost"})
      for (int activity = 0; activity <= 12; ++activity)
        for (const char* domain : {"", "acme.io"})
          csv += std::string(source) + "," + stage + "," + std::to_string(activity) + "," + domain +
                 "\n";
  return csv;
}

TEST_F(Compare, TheHeuristicAndItsLuaRulesAgreeOnEveryLead) {
  auto result = compare_csv(*set, sweep(), {{"heuristic", "rules"}, "", nullptr});
  ASSERT_TRUE(result) << result.error();
  const auto& report = result->report;
  EXPECT_EQ(report.leads, 4u * 5 * 13 * 2);
  ASSERT_EQ(report.pairs.size(), 1u);
  EXPECT_EQ(report.pairs[0].n, report.leads);
  EXPECT_DOUBLE_EQ(*report.pairs[0].agreement, 1.0);
  EXPECT_DOUBLE_EQ(*report.pairs[0].mean_absolute_difference, 0.0);
  EXPECT_NEAR(*report.pairs[0].spearman, 1.0, 1e-12);
  EXPECT_FALSE(report.scorers[0].outcomes);
  EXPECT_TRUE(result->problems.empty());
}

TEST_F(Compare, OutcomesAreMeasuredAndBadRowsReportedByLine) {
  const std::string csv =
      "source,stage,activity_count,business_domain,role,industry,won\n"
      "partner,qualified,8,acme.io,CTO,B2B SaaS,1\n"  // line 2
      "scanner,new,0,,intern,Retail,0\n"              // line 3
      "manual,contacted,3,bank.io,VP,Fintech,yes\n"   // line 4
      "scanner,new,1,x.io,engineer,B2B SaaS,lost\n"   // line 5
      "partner,new,2,,Founder,Health,\n"              // line 6: outcome unknown
      "scanner,won,1,,,,1\n"                          // line 7: bad stage
      "scanner,new,1,,,,maybe\n";                     // line 8: bad outcome
  CompareOptions options({"heuristic", "icp_fit"}, "won");
  options.settings.min_n = 2;  // two leads of each outcome: enough for this small file only
  auto result = compare_csv(*set, csv, options);
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->report.leads, 5u);
  ASSERT_EQ(result->problems.size(), 2u);
  EXPECT_EQ(result->problems[0].line, 7u);
  EXPECT_NE(result->problems[0].message.find("stage 'won'"), std::string::npos);
  EXPECT_EQ(result->problems[1].line, 8u);
  EXPECT_NE(result->problems[1].message.find("outcome 'maybe'"), std::string::npos);
  const auto& heuristic = result->report.scorers[0];
  ASSERT_TRUE(heuristic.outcomes);
  EXPECT_EQ(heuristic.outcomes->n, 4u);
  EXPECT_EQ(heuristic.outcomes->converted, 2u);
  ASSERT_TRUE(heuristic.outcomes->auc);
  // The two converted leads (partner/qualified/8, manual/contacted/3) outscore the others.
  EXPECT_DOUBLE_EQ(*heuristic.outcomes->auc, 1.0);
  const auto text = scoring::report_text(result->report);
  EXPECT_NE(text.find("heuristic vs icp_fit (5 leads both scored)"), std::string::npos) << text;
  const auto json = scoring::report_json(result->report);
  EXPECT_EQ(json["scorers"][1]["scorer"], "icp_fit");
  EXPECT_EQ(json["scorers"][0]["outcomes"]["auc"], 1.0);

  // With the default of 30 per class, the same leads give no outcome metric, but say why.
  auto few = compare_csv(*set, csv, {{"heuristic", "icp_fit"}, "won", nullptr});
  ASSERT_TRUE(few) << few.error();
  const auto few_json = scoring::report_json(few->report);
  const auto& outcomes = few_json["scorers"][0]["outcomes"];
  EXPECT_TRUE(outcomes["auc"].is_null());
  EXPECT_TRUE(outcomes["brier"].is_null());
  EXPECT_EQ(outcomes["insufficient"]["min_n"], 30);
  EXPECT_EQ(outcomes["insufficient"]["converted"], 2);
  EXPECT_EQ(outcomes["insufficient"]["not_converted"], 2);
  EXPECT_TRUE(few_json["pairs"][0]["auc_difference"]["p_value"].is_null());
  EXPECT_NE(scoring::report_text(few->report)
                .find("insufficient data: fewer than 30 leads in an outcome class (2 converted, 2 "
                      "not converted)"),
            std::string::npos);
}

// Many leads, so that every slice of rows goes to a scoring thread: one thread or four, the
// report is the same lead for lead.
TEST_F(Compare, TheReportDoesNotDependOnTheScoringThreads) {
  std::string csv = "source,stage,activity_count,business_domain,won\n";
  for (int i = 0; i < 60000; ++i)
    csv += std::string(i % 3 ? "partner" : "scanner") + ",new," + std::to_string(i % 13) + "," +
           (i % 2 ? "acme.io" : "") + "," + (i % 7 < 3 ? "1" : "0") + "\n";
  CompareOptions one({"heuristic", "rules"}, "won"), four({"heuristic", "rules"}, "won");
  one.threads = 1;
  four.threads = 4;
  auto a = compare_csv(*set, csv, one), b = compare_csv(*set, csv, four);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->report.leads, 60000u);
  EXPECT_EQ(scoring::report_json(a->report), scoring::report_json(b->report));
}

TEST_F(Compare, TheActiveOfferReachesTheScorers) {
  const std::string csv = "source,role,industry\nscanner,CTO,Fintech\n";
  auto offer = std::make_shared<const domain::OfferView>(
      domain::OfferView{1, R"({"id":1,"name":"x","ideal_use_cases":["fintech"]})"});
  auto with = compare_csv(*set, csv, {{"icp_fit"}, "", offer});
  auto without = compare_csv(*set, csv, {{"icp_fit"}, "", nullptr});
  ASSERT_TRUE(with && without);
  EXPECT_DOUBLE_EQ(with->report.scorers[0].mean, 0.8);     // role and ICP industry
  EXPECT_DOUBLE_EQ(without->report.scorers[0].mean, 0.4);  // role only
}

TEST_F(Compare, RefusesUnknownScorersAndAMissingOutcomeColumn) {
  auto unknown = compare_csv(*set, "source\nscanner\n", {{"heuristic", "nope"}, "", nullptr});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), "no scorer named nope");
  auto no_column = compare_csv(*set, "source\nscanner\n", {{"heuristic"}, "won", nullptr});
  ASSERT_FALSE(no_column);
  EXPECT_NE(no_column.error().find("no column won"), std::string::npos);
  auto no_source = compare_csv(*set, "name\nAda\n", {{"heuristic"}, "", nullptr});
  ASSERT_FALSE(no_source);
  EXPECT_NE(no_source.error().find("no source column"), std::string::npos);
}

}  // namespace
}  // namespace leadscore::tools
