// Offline batch scoring of a CSV: scores every good row in input order, reports bad rows by
// line, quotes what must be quoted, writes scores that read back as the same numbers, and gives
// the same answers with one thread or several, in one chunk or many.
#include "tools/batch_score.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/tools/shipped_scorers.h"
#include "tools/csv.h"

namespace leadscore::tools {
namespace {

class BatchScore : public ::testing::Test {
 protected:
  void SetUp() override {
    set = testing::shipped_scorers();
    ASSERT_TRUE(set);
  }

  std::expected<BatchReport, std::string> score(std::string_view input, std::string& output,
                                                const BatchOptions& options = {},
                                                const scoring::Scorer* scorer = nullptr) {
    output.clear();
    return score_csv(
        *set, scorer ? *scorer : set->primary(), input,
        [&output](std::string_view piece) {
          output += piece;
          return true;
        },
        options);
  }

  std::unique_ptr<scoring::ScorerSet> set;
};

std::vector<std::vector<std::string>> read_csv(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  CsvRowReader reader(text);
  CsvFields fields;
  while (auto row = reader.next()) {
    EXPECT_TRUE(fields.parse(row->text)) << row->text;
    rows.emplace_back();
    for (std::size_t i = 0; i < fields.size(); ++i) rows.back().emplace_back(fields[i]);
  }
  return rows;
}

// Every source, stage and activity step, a third without a domain; `bad_every` rows get an
// unknown stage.
std::string generated_leads(int count, int bad_every = 0) {
  std::string input = "source,stage,activity_count,business_domain,name\n";
  const char* sources[] = {"scanner", "partner", "manual", "other"};
  const char* stages[] = {"new", "contacted", "qualified", "transferred", "lost"};
  for (int i = 0; i < count; ++i) {
    const bool bad = bad_every > 0 && i % bad_every == 0;
    input += std::string(sources[i % 4]) + "," + (bad ? "won" : stages[i % 5]) + "," +
             std::to_string(i % 13) + "," + (i % 3 ? "d" : "") + ",";
    // Some names span lines and hold quotes, so chunks must not cut inside them.
    input += i % 7 == 0 ? "\"lead\n\"\"" + std::to_string(i) + "\"\"\"\n"
                        : "lead " + std::to_string(i) + "\n";
  }
  return input;
}

TEST_F(BatchScore, ScoresGoodRowsAndReportsBadOnesByLine) {
  const std::string input =
      "id,source,stage,activity_count,business_domain,name\n"
      "1,partner,qualified,8,fintech,\"Smith, Ada\"\n"
      "2,scanner,new,0,,Bob\n"
      "3,manual,won,1,,x\n"
      "4,partner,new,-3,,y\n"
      "5,partner,new\n"
      "6,manual,new,0,d,\"two\nlines\"\n"
      "7,,new,0,,z\n"
      "8,manual,new,0,,\"open\n";
  std::string output;
  auto report = score(input, output);
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_EQ(report->rows, 8u);
  EXPECT_EQ(report->scored, 3u);
  ASSERT_EQ(report->problems.size(), 5u);
  EXPECT_EQ(report->problems[0].line, 4u);
  EXPECT_NE(report->problems[0].message.find("stage"), std::string::npos);
  EXPECT_EQ(report->problems[1].line, 5u);
  EXPECT_NE(report->problems[1].message.find("activity_count"), std::string::npos);
  EXPECT_EQ(report->problems[2].line, 6u);
  EXPECT_NE(report->problems[2].message.find("fields"), std::string::npos);
  EXPECT_EQ(report->problems[3].line, 9u);  // after the two-line row
  EXPECT_NE(report->problems[3].message.find("source"), std::string::npos);
  EXPECT_EQ(report->problems[4].line, 10u);
  EXPECT_NE(report->problems[4].message.find("quote"), std::string::npos);

  const auto rows = read_csv(output);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].back(), "scorer");
  EXPECT_EQ(rows[1][5], "Smith, Ada");
  EXPECT_EQ(rows[1][6], "1");
  EXPECT_EQ(rows[1][7], "transfer_to_sales");
  EXPECT_EQ(rows[1][9], "heuristic");
  EXPECT_EQ(rows[2][6], "0.3");
  EXPECT_EQ(rows[2][7], "drop_lead");
  EXPECT_EQ(rows[3][5], "two\nlines");
  EXPECT_EQ(std::stod(rows[3][6]), 0.4 + -0.2 + 0.0 + 0.1);
}

TEST_F(BatchScore, PassesRowsThroughAsTheyStandWithoutTheirCr) {
  std::string output;
  auto report = score("x,source,stage\r\n\"a,\"\"b\",manual,new\r\n\r\nc,scanner,lost", output);
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_EQ(report->scored, 2u);
  EXPECT_EQ(output.find('\r'), std::string::npos);
  EXPECT_EQ(output.rfind("x,source,stage,score,recommendation,reason,scorer\n"
                         "\"a,\"\"b\",manual,new,",
                         0),
            0u);
  EXPECT_NE(output.find("\nc,scanner,lost,"), std::string::npos);
  EXPECT_EQ(output.back(), '\n');
}

TEST_F(BatchScore, HeaderOnlyInputWritesTheHeader) {
  std::string output;
  std::vector<std::pair<std::size_t, std::size_t>> calls;
  BatchOptions options;
  options.progress = [&](std::size_t done, std::size_t all) { calls.emplace_back(done, all); };
  auto report = score("source,stage\r\n", output, options);
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_EQ(report->rows, 0u);
  EXPECT_EQ(output, "source,stage,score,recommendation,reason,scorer\n");
  EXPECT_EQ(calls, (std::vector<std::pair<std::size_t, std::size_t>>{{0, 0}}));
}

TEST_F(BatchScore, ScoresAndReasonsReadBackAsTheScorersOwn) {
  // The rules scorer's reasons hold commas, so they are quoted.
  for (const char* name : {"heuristic", "rules"}) {
    const scoring::Scorer* scorer = set->find(name);
    ASSERT_NE(scorer, nullptr) << name;
    const std::string input = generated_leads(200);
    std::string output;
    ASSERT_TRUE(score(input, output, {}, scorer).has_value());
    const auto in = read_csv(input);
    const auto out = read_csv(output);
    ASSERT_EQ(out.size(), in.size());
    for (std::size_t i = 1; i < in.size(); ++i) {
      domain::Features features;
      features.source = in[i][0];
      features.stage = *domain::parse_lead_stage(in[i][1]);
      features.activity_count = std::stoll(in[i][2]);
      if (!in[i][3].empty()) features.business_domain = in[i][3];
      features.profile.name = in[i][4];
      const auto expected = scorer->score(features);
      ASSERT_TRUE(expected.has_value()) << expected.error();
      double written = -1;
      const std::string& text = out[i][5];
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), written);
      ASSERT_TRUE(ec == std::errc() && end == text.data() + text.size()) << text;
      EXPECT_EQ(written, expected->score) << name << " row " << i;  // exactly: a round trip
      EXPECT_EQ(out[i][6], domain::to_string(expected->recommendation));
      EXPECT_EQ(out[i][7], expected->reason);
      EXPECT_EQ(out[i][8], name);
    }
  }
}

TEST_F(BatchScore, SameOutputAndProblemsWithOneThreadOrFourAndManySmallChunks) {
  const std::string input = generated_leads(5000, 97);
  BatchOptions single;
  single.threads = 1;
  single.chunk_bytes = input.size();
  BatchOptions several;
  several.threads = 4;
  several.chunk_bytes = 100;  // a few rows each: hundreds of chunk boundaries
  std::size_t last_done = 0, calls = 0;
  several.progress = [&](std::size_t done, std::size_t all) {
    EXPECT_LE(done, all);
    EXPECT_GE(done, last_done);
    last_done = done;
    ++calls;
  };
  std::string one, four;
  const auto first = score(input, one, single);
  const auto second = score(input, four, several);
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(second->rows, 5000u);
  EXPECT_EQ(second->scored, 5000u - 52u);
  EXPECT_EQ(one, four);
  ASSERT_EQ(first->problems.size(), second->problems.size());
  for (std::size_t i = 0; i < first->problems.size(); ++i) {
    EXPECT_EQ(first->problems[i].line, second->problems[i].line);
    EXPECT_EQ(first->problems[i].message, second->problems[i].message);
  }
  // Row 97 is bad: line 1 (header) + 97 rows before it + 14 quoted line breaks (rows 0, 7, .. 91).
  ASSERT_GE(first->problems.size(), 2u);
  EXPECT_EQ(first->problems[1].line, 1u + 97u + 14u + 1u);
  EXPECT_EQ(last_done, 5000u + 715u);  // input lines after the header
  EXPECT_GE(calls, 1u);
}

// The hybrid rule layer (icp_fit in the shipped config) against an offer whose ideal use case
// is the rows' industry: every row, on every worker and chunk, gets the +20 of 50 for it.
TEST_F(BatchScore, EveryRowIsScoredAgainstTheOffer) {
  const scoring::Scorer* icp_fit = set->find("icp_fit");
  ASSERT_NE(icp_fit, nullptr);
  std::string input = "source,role,industry,business_domain\n";
  for (int i = 0; i < 300; ++i) input += "partner,CEO,B2B SaaS,d" + std::to_string(i) + ".io\n";
  BatchOptions options;
  options.threads = 4;
  options.chunk_bytes = 512;
  std::string without, with;
  ASSERT_TRUE(score(input, without, options, icp_fit).has_value());
  options.offer = std::make_shared<const domain::OfferView>(domain::OfferView{
      7, R"({"id":7,"name":"x","value_props":[],"ideal_use_cases":["B2B SaaS"]})"});
  ASSERT_TRUE(score(input, with, options, icp_fit).has_value());
  const auto rows_without = read_csv(without);
  const auto rows_with = read_csv(with);
  ASSERT_EQ(rows_with.size(), 301u);
  ASSERT_EQ(rows_without.size(), 301u);
  for (std::size_t i = 1; i < rows_with.size(); ++i) {
    EXPECT_EQ(rows_without[i][4], "0.4") << i;
    EXPECT_EQ(rows_with[i][4], "0.8") << i;
    EXPECT_EQ(rows_with[i][5], "transfer_to_sales") << i;
    EXPECT_NE(rows_with[i][6].find("exact ICP industry"), std::string::npos) << rows_with[i][6];
  }
}

TEST_F(BatchScore, StopsWhenTheOutputRefusesAPiece) {
  const std::string input = generated_leads(2000);
  BatchOptions options;
  options.chunk_bytes = 64;
  std::size_t pieces = 0;
  auto report = score_csv(
      *set, set->primary(), input, [&pieces](std::string_view) { return ++pieces < 3; }, options);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(pieces, 3u);
}

TEST_F(BatchScore, HeaderWithoutSourceOrWithRepeatsIsRefused) {
  std::string output;
  EXPECT_FALSE(score("stage,activity_count\nnew,1\n", output).has_value());
  EXPECT_FALSE(score("source,source\na,b\n", output).has_value());
  EXPECT_FALSE(score("\"source\n", output).has_value());
  EXPECT_FALSE(score("", output).has_value());
  EXPECT_EQ(output, "");
}

class BatchScoreFile : public BatchScore {
 protected:
  void SetUp() override {
    BatchScore::SetUp();
    dir =
        std::filesystem::temp_directory_path() / ("batch_score_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::string write(const std::string& name, std::string_view text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  }
  static std::string read(const std::filesystem::path& path) {
    std::ostringstream text;
    text << std::ifstream(path, std::ios::binary).rdbuf();
    return text.str();
  }

  std::filesystem::path dir;
};

TEST_F(BatchScoreFile, WritesTheSameAsInMemory) {
  const std::string input = generated_leads(300, 50);
  const auto in = write("in.csv", input);
  const auto out = (dir / "out.csv").string();
  auto report = score_csv_file(*set, set->primary(), in, out);
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_EQ(report->problems.size(), 6u);
  std::string expected;
  ASSERT_TRUE(score(input, expected).has_value());
  EXPECT_EQ(read(out), expected);
}

TEST_F(BatchScoreFile, OutputOverTheInputReplacesIt) {
  const std::string input = generated_leads(3000);
  const auto path = write("leads.csv", input);
  auto report = score_csv_file(*set, set->primary(), path, path);
  ASSERT_TRUE(report.has_value()) << report.error();
  std::string expected;
  ASSERT_TRUE(score(input, expected).has_value());
  EXPECT_EQ(read(path), expected);
}

TEST_F(BatchScoreFile, ARefusedHeaderLeavesNoOutputFile) {
  const auto in = write("in.csv", "stage\nnew\n");
  auto report = score_csv_file(*set, set->primary(), in, (dir / "out.csv").string());
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error(), in + ": the header has no source column");
  EXPECT_FALSE(std::filesystem::exists(dir / "out.csv"));
}

TEST_F(BatchScoreFile, SaysWhichFileCannotBeReadOrWritten) {
  const auto missing = (dir / "missing.csv").string();
  auto report = score_csv_file(*set, set->primary(), missing, (dir / "out.csv").string());
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().rfind("cannot read " + missing + ": ", 0), 0u) << report.error();

  const auto in = write("in.csv", "source\nmanual\n");
  const auto unwritable = (dir / "no" / "out.csv").string();
  report = score_csv_file(*set, set->primary(), in, unwritable);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().rfind("cannot write " + unwritable + ": ", 0), 0u) << report.error();
}

}  // namespace
}  // namespace leadscore::tools
