// The renderings of a comparison report: what each says when a metric is insufficient, and the
// HTML page's promises (self-contained, input escaped, one chart element per thing drawn).
#include "engine/scoring/comparison_report.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace leadscore::scoring {
namespace {

using domain::Recommendation;

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// 200 leads, 190 with an outcome (60 converted): `a` separates converted leads well, `b` not.
ComparisonReport two_scorers(const std::string& name_a, std::size_t min_n = 30) {
  ScorerRun a{name_a, {}, {}}, b{"b", {}, {}};
  std::vector<std::optional<bool>> outcomes;
  for (int i = 0; i < 200; ++i) {
    const bool converted = i % 10 < 3;
    outcomes.push_back(i % 20 == 19 ? std::nullopt : std::optional<bool>(converted));
    a.scores.push_back((converted ? 0.5 : 0.1) + (i % 7) / 14.0);
    b.scores.push_back((i % 11) / 10.0);
    a.recommendations.push_back(Recommendation::ContinueQualification);
    b.recommendations.push_back(i % 2 ? Recommendation::DropLead
                                      : Recommendation::ContinueQualification);
  }
  ComparisonSettings settings;
  settings.min_n = min_n;
  settings.bootstrap = 50;
  return compare_scorers({a, b}, outcomes, settings);
}

TEST(ComparisonReport, JsonGivesEveryNewMetricAndItsSettings) {
  const auto json = report_json(two_scorers("a"));
  EXPECT_EQ(json["settings"]["min_n"], 30);
  EXPECT_EQ(json["settings"]["bootstrap"], 50);
  EXPECT_EQ(json["with_outcome"], 190);
  const auto& o = json["scorers"][0]["outcomes"];
  EXPECT_TRUE(o["insufficient"].is_null());
  for (const char* key : {"auc", "brier", "lift_top_decile", "ks"})
    EXPECT_TRUE(o[key].is_number()) << key;
  EXPECT_LT(o["auc_interval"]["low"].get<double>(), o["auc"].get<double>());
  EXPECT_GT(o["roc"].size(), 2u);
  const auto& pair = json["pairs"][0];
  EXPECT_TRUE(pair["kendall_tau_b"].is_number());
  EXPECT_EQ(pair["handoff"]["threshold"], 0.6);
  const auto& cells = pair["handoff"]["cells"];
  EXPECT_EQ(cells["both"]["n"].get<int>() + cells["only_a"]["n"].get<int>() +
                cells["only_b"]["n"].get<int>() + cells["neither"]["n"].get<int>(),
            200);
  EXPECT_GT(pair["auc_difference"]["difference"].get<double>(), 0);
  EXPECT_LT(pair["auc_difference"]["p_value"].get<double>(), 0.05);
}

TEST(ComparisonReport, InsufficientMetricsAreNullWithTheirReason) {
  const auto report = two_scorers("a", 100);  // 60 converted, 130 not: too few converted
  const auto json = report_json(report);
  const auto& o = json["scorers"][0]["outcomes"];
  for (const char* key : {"auc", "auc_interval", "brier", "lift_top_decile", "ks"})
    EXPECT_TRUE(o[key].is_null()) << key;
  EXPECT_EQ(o["insufficient"]["reason"],
            "fewer than 100 leads in an outcome class (60 converted, 130 not converted)");
  EXPECT_TRUE(json["pairs"][0]["auc_difference"]["difference"].is_null());
  EXPECT_EQ(json["pairs"][0]["auc_difference"]["insufficient"]["min_n"], 100);
  const std::string text = report_text(report);
  EXPECT_EQ(count_of(text, "insufficient data: fewer than 100 leads"), 3u) << text;
  const std::string html = report_html(report, "t");
  EXPECT_NE(html.find("insufficient data: fewer than 100 leads"), std::string::npos);
  EXPECT_EQ(count_of(html, "class=\"roc\""), 0u);  // no curve drawn from too few leads
}

TEST(ComparisonReport, ScorersWithNoLeadInCommonAreSaidToHaveNothingToCompare) {
  // Each scorer of its own leads, as the scorers of two experiment arms are.
  ScorerRun a{"control", {}, {}}, b{"challenger", {}, {}};
  std::vector<std::optional<bool>> outcomes;
  for (int i = 0; i < 100; ++i) {
    const bool mine = i % 2 == 0;
    a.scores.push_back(mine ? std::optional<double>(0.1 + (i % 9) / 10.0) : std::nullopt);
    b.scores.push_back(mine ? std::nullopt : std::optional<double>(0.1 + (i % 9) / 10.0));
    a.recommendations.push_back(mine ? std::optional(Recommendation::ContinueQualification)
                                     : std::nullopt);
    b.recommendations.push_back(mine ? std::nullopt
                                     : std::optional(Recommendation::ContinueQualification));
    outcomes.push_back(i % 3 == 0);
  }
  ComparisonSettings settings;
  settings.bootstrap = 0;
  const auto report = compare_scorers({a, b}, outcomes, settings);
  ASSERT_EQ(report.pairs.size(), 1u);
  EXPECT_EQ(report.pairs[0].n, 0u);
  const auto json = report_json(report)["pairs"][0];
  EXPECT_EQ(json["n"], 0);
  for (const char* key : {"agreement", "mean_absolute_difference", "spearman", "kendall_tau_b",
                          "recommendation_kappa"})
    EXPECT_TRUE(json[key].is_null()) << key << ": a figure over no lead is none, not 0";
  const std::string text = report_text(report);
  EXPECT_NE(text.find("control vs challenger: no lead scored by both"), std::string::npos) << text;
  const std::string html = report_html(report, "t");
  EXPECT_NE(html.find("scored no lead in common"), std::string::npos);
  EXPECT_EQ(count_of(html, "class=\"flip\""), 0u);
  EXPECT_EQ(count_of(html, "class=\"point"), 0u);
}

TEST(ComparisonReport, HtmlIsOneSelfContainedPageWithItsCharts) {
  const std::string html = report_html(two_scorers("a"), "Q3 leads");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<title>Q3 leads</title>"), std::string::npos);
  // Nothing fetched: no script, no link, no URL.
  for (const char* absent : {"<script", "<link", "http:", "https:", "@import", "url("})
    EXPECT_EQ(html.find(absent), std::string::npos) << absent;
  EXPECT_EQ(count_of(html, "class=\"roc\""), 2u);
  EXPECT_EQ(count_of(html, "class=\"calibration\""), 2u);
  EXPECT_GE(count_of(html, "class=\"bar\""), 10u);
  EXPECT_EQ(count_of(html, "<circle class=\"point "), 200u);
  EXPECT_NE(html.find("<table class=\"flip\">"), std::string::npos);
}

TEST(ComparisonReport, HtmlEscapesTheScorersNamesAndTheTitle) {
  const std::string name = "<img src=x onerror=\"alert('x')\">&";
  const std::string html = report_html(two_scorers(name), "<b>title</b>");
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;"),
            std::string::npos);
  EXPECT_EQ(html_escape("a&b<c>\"'"), "a&amp;b&lt;c&gt;&quot;&#39;");
}

TEST(ComparisonReport, TheSectionIsAFragmentForOtherPages) {
  const std::string section = report_html_section(two_scorers("a"));
  EXPECT_EQ(section.rfind("<section", 0), 0u);
  EXPECT_EQ(section.find("<html"), std::string::npos);
  const std::string page = html_page("x", "<p>body</p>");
  EXPECT_NE(page.find("<style>"), std::string::npos);
  EXPECT_NE(page.find("<p>body</p>"), std::string::npos);
}

}  // namespace
}  // namespace leadscore::scoring
