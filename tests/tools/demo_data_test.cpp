// Demo leads with known outcomes: repeatable by seed, readable as `leadscore score` reads a
// CSV, converting at the documented base rate, and telling a better scorer from a worse one.
#include "tools/demo_data.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/domain/analysis.h"
#include "tests/tools/shipped_scorers.h"
#include "tools/compare.h"
#include "tools/csv.h"
#include "tools/lead_columns.h"

namespace leadscore::tools {
namespace {

TEST(DemoData, TheSameSeedGivesTheSameBytes) {
  EXPECT_EQ(demo_leads_csv(500, 7), demo_leads_csv(500, 7));
  // The first leads do not depend on how many follow.
  EXPECT_EQ(demo_leads_csv(500, 7).substr(0, demo_leads_csv(100, 7).size()),
            demo_leads_csv(100, 7));
}

TEST(DemoData, AnotherSeedGivesOtherLeads) {
  EXPECT_NE(demo_leads_csv(100, 7), demo_leads_csv(100, 8));
}

TEST(DemoData, WritesAHeaderAndNRows) {
  for (std::size_t n : {0u, 1u, 250u}) {
    const std::string csv = demo_leads_csv(n, 3);
    std::size_t lines = 0;
    for (char c : csv) lines += c == '\n';
    EXPECT_EQ(lines, n + 1) << n;
    EXPECT_EQ(csv.substr(0, csv.find('\n')),
              "source,stage,activity_count,business_domain,name,email,role,company,industry,"
              "location,bio,phone,website,outcome");
  }
}

// Every lead field that `leadscore score` reads, and the outcome, as it reads them.
TEST(DemoData, EveryRowReadsAsLeadscoreScoreReadsIt) {
  const std::string csv = demo_leads_csv(2000, 11);
  CsvRowReader reader(csv);
  CsvFields fields;
  ASSERT_TRUE(fields.parse(reader.next()->text));
  const std::size_t width = fields.size();
  auto columns = map_columns(fields);
  ASSERT_TRUE(columns) << columns.error();
  EXPECT_GE(columns->business_domain, 0);
  for (int index : columns->profile) EXPECT_GE(index, 0);
  std::size_t rows = 0, with_domain = 0, with_bio = 0;
  domain::Features features;
  while (const auto row = reader.next()) {
    ASSERT_TRUE(fields.parse(row->text)) << row->line;
    ASSERT_EQ(fields.size(), width) << row->line;
    auto read = read_features(*columns, fields, features);
    ASSERT_TRUE(read) << row->line << ": " << read.error();
    const std::string_view outcome = fields[width - 1];
    EXPECT_TRUE(outcome == "0" || outcome == "1") << row->line;
    EXPECT_TRUE(features.profile.name && features.profile.email && features.profile.company)
        << row->line;
    with_domain += features.business_domain.has_value();
    with_bio += features.profile.bio.has_value();
    ++rows;
  }
  EXPECT_EQ(rows, 2000u);
  // Some leads lack a business domain or a bio, as real ones do.
  EXPECT_GT(with_domain, 1200u);
  EXPECT_LT(with_domain, 1600u);
  EXPECT_GT(with_bio, 1100u);
  EXPECT_LT(with_bio, 1500u);
}

TEST(DemoData, ConvertsAtTheDocumentedBaseRate) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const std::string csv = demo_leads_csv(20000, seed);
    std::size_t converted = 0;
    for (std::size_t at = csv.find(",1\n"); at != std::string::npos; at = csv.find(",1\n", at + 1))
      ++converted;
    const double rate = converted / 20000.0;
    EXPECT_NEAR(rate, kDemoBaseRate, 0.01) << "seed " << seed;
  }
}

// The point of the demo: on its leads, the ICP rules (role, industry, a complete profile) beat
// the built-in heuristic (source, stage, activity, business domain), measured by the comparison
// of `leadscore compare`.
TEST(DemoData, IcpFitRanksTheLeadsBetterThanTheHeuristic) {
  auto set = testing::shipped_scorers();
  ASSERT_TRUE(set);
  auto result =
      compare_csv(*set, demo_leads_csv(5000, 7), {{"heuristic", "icp_fit"}, "outcome", nullptr});
  ASSERT_TRUE(result) << result.error();
  EXPECT_TRUE(result->problems.empty());
  const auto& scorers = result->report.scorers;
  ASSERT_EQ(scorers.size(), 2u);
  ASSERT_TRUE(scorers[0].outcomes && scorers[0].outcomes->auc);
  ASSERT_TRUE(scorers[1].outcomes && scorers[1].outcomes->auc);
  EXPECT_EQ(scorers[0].outcomes->n, 5000u);
  const double heuristic = *scorers[0].outcomes->auc, icp_fit = *scorers[1].outcomes->auc;
  EXPECT_GT(heuristic, 0.5);  // activity and the business domain count for something
  EXPECT_GT(icp_fit, heuristic + 0.05);
}

}  // namespace
}  // namespace leadscore::tools
