// Offline batch scoring of a CSV: scores every good row in input order, reports bad rows by
// line, quotes what must be quoted, and gives the same answers with one thread or several.
#include "tools/batch_score.h"

#include <gtest/gtest.h>

#include "engine/config/app_config.h"
#include "tools/csv.h"

namespace leadscore::tools {
namespace {

class BatchScore : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = config::load_app_config(std::string(LEADSCORE_SOURCE_DIR) + "/config/leadscore.yaml",
                                       config::EnvOverrides{});
    ASSERT_TRUE(cfg.has_value());
    auto built = scoring::build_scorers(*cfg);
    ASSERT_TRUE(built.has_value()) << config::to_text(built.error());
    set = std::make_unique<scoring::ScorerSet>(std::move(*built));
  }
  std::unique_ptr<scoring::ScorerSet> set;
};

TEST_F(BatchScore, ScoresGoodRowsAndReportsBadOnesByLine) {
  const std::string input =
      "id,source,stage,activity_count,business_domain,name\n"
      "1,partner,qualified,8,fintech,\"Smith, Ada\"\n"
      "2,scanner,new,0,,Bob\n"
      "3,manual,won,1,,x\n"
      "4,partner,new,-3,,y\n"
      "5,partner,new\n"
      "6,manual,new,0,d,\"two\nlines\"\n"
      "7,,new,0,,z\n";
  std::string output;
  auto report = score_csv(*set, set->primary(), input, output);
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_EQ(report->rows, 7u);
  EXPECT_EQ(report->scored, 3u);
  ASSERT_EQ(report->problems.size(), 4u);
  EXPECT_EQ(report->problems[0].line, 4u);
  EXPECT_NE(report->problems[0].message.find("stage"), std::string::npos);
  EXPECT_EQ(report->problems[1].line, 5u);
  EXPECT_NE(report->problems[1].message.find("activity_count"), std::string::npos);
  EXPECT_EQ(report->problems[2].line, 6u);
  EXPECT_NE(report->problems[2].message.find("fields"), std::string::npos);
  EXPECT_EQ(report->problems[3].line, 9u);  // after the two-line row
  EXPECT_NE(report->problems[3].message.find("source"), std::string::npos);

  auto rows = split_csv_rows(output);
  ASSERT_EQ(rows.size(), 4u);
  std::vector<std::string> fields;
  ASSERT_TRUE(parse_csv_fields(rows[0].text, fields));
  EXPECT_EQ(fields.back(), "scorer");
  ASSERT_TRUE(parse_csv_fields(rows[1].text, fields));
  EXPECT_EQ(fields[5], "Smith, Ada");
  EXPECT_EQ(fields[6], "1");
  EXPECT_EQ(fields[7], "transfer_to_sales");
  EXPECT_EQ(fields[9], "heuristic");
  ASSERT_TRUE(parse_csv_fields(rows[2].text, fields));
  EXPECT_EQ(fields[6], "0.3");
  EXPECT_EQ(fields[7], "drop_lead");
  ASSERT_TRUE(parse_csv_fields(rows[3].text, fields));
  EXPECT_EQ(fields[5], "two\nlines");
  EXPECT_EQ(std::stod(fields[6]), 0.4 + -0.2 + 0.0 + 0.1);
}

TEST_F(BatchScore, SameOutputWithOneThreadOrFour) {
  std::string input = "source,stage,activity_count,business_domain\n";
  const char* sources[] = {"scanner", "partner", "manual", "other"};
  const char* stages[] = {"new", "contacted", "qualified", "transferred", "lost"};
  for (int i = 0; i < 5000; ++i)
    input += std::string(sources[i % 4]) + "," + stages[i % 5] + "," + std::to_string(i % 13) +
             "," + (i % 3 ? "d" : "") + "\n";
  std::string one, four;
  BatchOptions single;
  single.threads = 1;
  BatchOptions several;
  several.threads = 4;
  std::size_t last_done = 0;
  several.progress = [&](std::size_t done, std::size_t all) {
    EXPECT_LE(done, all);
    last_done = done;
  };
  ASSERT_TRUE(score_csv(*set, set->primary(), input, one, single).has_value());
  auto report = score_csv(*set, set->primary(), input, four, several);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->scored, 5000u);
  EXPECT_EQ(last_done, 5000u);
  EXPECT_EQ(one, four);
}

TEST_F(BatchScore, HeaderWithoutSourceOrWithRepeatsIsRefused) {
  std::string output;
  EXPECT_FALSE(score_csv(*set, set->primary(), "stage,activity_count\nnew,1\n", output).has_value());
  EXPECT_FALSE(score_csv(*set, set->primary(), "source,source\na,b\n", output).has_value());
  EXPECT_FALSE(score_csv(*set, set->primary(), "", output).has_value());
}

TEST(Csv, QuotesOnlyWhatMustBeQuotedAndReadsItBack) {
  std::string out;
  append_csv_field(out, "plain");
  out += ',';
  append_csv_field(out, "a,\"b\"\nc");
  EXPECT_EQ(out, "plain,\"a,\"\"b\"\"\nc\"");
  std::vector<std::string> fields;
  ASSERT_TRUE(parse_csv_fields(out, fields));
  EXPECT_EQ(fields, (std::vector<std::string>{"plain", "a,\"b\"\nc"}));
  EXPECT_FALSE(parse_csv_fields("\"open", fields));
  EXPECT_FALSE(parse_csv_fields("\"x\"y", fields));
  ASSERT_TRUE(parse_csv_fields("a,,", fields));
  EXPECT_EQ(fields.size(), 3u);
}

}  // namespace
}  // namespace leadscore::tools
