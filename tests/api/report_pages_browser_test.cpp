// The report pages the server answers for people — an experiment's report
// (GET /experiments/{name}/report?format=html) and the scorers against closed sales
// (GET /reports/scorers?format=html) — in a real browser (Debian's headless chromium), as
// tests/tools does for `leadscore compare --html`. The database is staged with an experiment
// that has run: 240 leads handed to sales, half in each arm, each scored by its arm's scorer and
// the shadow, with scores that lean towards the outcome (of 5 sales, 2 paid, 2 lost, 1 open), so
// that every chart has data. Each page is fetched over HTTP, saved, loaded from its
// file with the network off, its charts measured as drawn; a screenshot of each is kept in the
// build directory (experiment_report.png, scorers_report.png) for people to look at.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

#include "tests/api/api_fixture.h"
#include "tests/api/experiment_config.h"
#include "tests/support/browser.h"
#include "tests/support/temp_file.h"

namespace leadscore::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kLeads = 240;

// How many times `part` occurs in `text`.
int count_of(const std::string& text, const std::string& part) {
  int n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

class ReportPagesInBrowser : public ApiTest {
 protected:
  ReportPagesInBrowser() { path_ = dir_.write("leadscore.yaml", experiment_config(kEvenSplit)); }
  std::string config_path() const override { return path_; }

  // The experiment as it would stand after its run: leads, arms, both runs of each lead, sales.
  // Sale of lead id: id % 5 = 0 open (kyc), 1 and 2 lost, 3 and 4 paid; a paid lead scores 0.3
  // higher on a spread of 0.6, so the curves are neither perfect nor chance.
  void stage_experiment() {
    execute_sql(
        "INSERT INTO leads (source, stage, business_domain, activity_count)"
        " SELECT 'partner', 'transferred', 'fintech', g % 12"
        " FROM generate_series(1, " +
        std::to_string(kLeads) + ") g");
    execute_sql(
        "INSERT INTO experiment_assignments (experiment, lead_id, arm, bucket, split)"
        " SELECT 'trial', id, CASE WHEN id % 2 = 0 THEN 'control' ELSE 'challenger' END,"
        " id % 10000, 'control:50,challenger:50' FROM leads");
    execute_sql(
        "INSERT INTO sales (lead_id, stage) SELECT id, CASE id % 5 WHEN 0 THEN 'kyc'"
        " WHEN 1 THEN 'lost' WHEN 2 THEN 'lost' ELSE 'paid' END FROM leads");
    execute_sql(
        "INSERT INTO analyses (lead_id, scorer, scorer_version, role, actor, features, result,"
        " contributions, latency_ms, experiment, arm)"
        " SELECT l.id, r.scorer, '1.0.0', r.role, 'test', '{\"source\": \"partner\"}',"
        "  jsonb_build_object('score', s.score, 'reason', 'staged', 'recommendation',"
        "   CASE WHEN s.score >= 0.7 THEN 'transfer_to_sales' WHEN s.score <= 0.3"
        "   THEN 'drop_lead' ELSE 'continue_qualification' END),"
        "  jsonb_build_array(jsonb_build_object('rule', 'staged', 'points', s.score)), 0.05,"
        "  'trial', x.arm"
        " FROM leads l JOIN experiment_assignments x ON x.lead_id = l.id"
        " CROSS JOIN LATERAL (VALUES (CASE x.arm WHEN 'control' THEN 'heuristic'"
        "  ELSE 'rules' END, 'primary', 1), ('icp_fit', 'shadow', 2)) AS r(scorer, role, k)"
        " CROSS JOIN LATERAL (SELECT round((((l.id * 7919 * r.k) % 1000) / 1000.0 * 0.6"
        "  + CASE WHEN l.id % 5 >= 3 THEN 0.3 ELSE 0.05 END)::numeric, 3)::float8 AS score) s");
  }

  // The page at `route`, fetched as an analyst and saved as `name`.html in the build directory.
  fs::path fetch_page(const std::string& route, const std::string& name) {
    auto r = call("GET", route, "", analyst_key);
    EXPECT_EQ(r.status, 200) << r.body.substr(0, 2000);
    EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
    EXPECT_EQ(r.body.find("<script"), std::string::npos) << "a page without scripts";
    EXPECT_EQ(r.body.find("http://"), std::string::npos) << "nothing loaded from elsewhere";
    EXPECT_EQ(r.body.find("https://"), std::string::npos) << "nothing loaded from elsewhere";
    const fs::path dir = fs::path(LEADSCORE_BINARY_DIR) / "report_pages_test";
    fs::create_directories(dir);
    const fs::path file = dir / (name + ".html");
    std::ofstream(file) << r.body;
    return file;
  }

  // Every chart of the kinds `kinds` on the page, drawn with a size; the figures, for the page's
  // own checks.
  json expect_charts_drawn(const fs::path& file, const std::string& name,
                           std::initializer_list<const char*> kinds) {
    const json measured = measure_charts(file);
    for (const char* kind : kinds) {
      EXPECT_GT(measured[kind]["count"].get<int>(), 0) << name << " " << kind << ": " << measured;
      EXPECT_EQ(measured[kind]["drawn"], measured[kind]["count"])
          << name << " " << kind << ": " << measured;
    }
    EXPECT_GT(measured["shortest_path"].get<double>(), 100) << name << ": " << measured;
    EXPECT_GT(measured["width"].get<double>(), 200) << name << ": " << measured;
    return measured;
  }

  void expect_screenshot(const fs::path& file, const std::string& png) {
    const fs::path shot = fs::path(LEADSCORE_BINARY_DIR) / png;
    const auto [status, output] = screenshot(file, shot, 3000);
    EXPECT_EQ(status, 0) << output;
    ASSERT_TRUE(fs::exists(shot)) << output;
    EXPECT_GT(fs::file_size(shot), 50'000u) << "a drawn page, not a blank one";
  }

  TempDir dir_;
  std::string path_;
};

TEST_F(ReportPagesInBrowser, TheExperimentReportDrawsItsArmsAndEveryChart) {
  stage_experiment();
  const fs::path page = fetch_page("/experiments/trial/report?format=html", "experiment_report");
  const auto [status, dom] = browser_dom(page);
  ASSERT_EQ(status, 0) << dom.substr(0, 2000);
  for (const char* text : {"Experiment trial", "<td>control</td>", "<td>challenger</td>",
                           "Sample ratio", "No mismatch"})
    EXPECT_NE(dom.find(text), std::string::npos) << text;
  const json measured =
      expect_charts_drawn(page, "experiment_report", {"bars", "roc", "calibration", "points"});
  // Three scorers ran on the experiment's leads: a ROC and a calibration curve each. The two
  // pairs that scored the same leads (each arm's scorer with the shadow, 120 leads) each have a
  // flip table and a scatter of every lead; the arms' scorers, each of its own leads, are said
  // to have nothing in common rather than drawn empty.
  EXPECT_EQ(measured["roc"]["count"], 3) << measured;
  EXPECT_EQ(measured["calibration"]["count"], 3) << measured;
  EXPECT_EQ(measured["flip_cells"], 2 * 4) << measured;
  EXPECT_EQ(measured["points"]["count"], 2 * kLeads / 2) << measured;
  EXPECT_NE(dom.find("heuristic and rules scored no lead in common"), std::string::npos);
  EXPECT_EQ(count_of(dom, "<h1>"), 1);
  expect_screenshot(page, "experiment_report.png");
}

TEST_F(ReportPagesInBrowser, TheScorersReportDrawsEveryScorerVersionsCharts) {
  stage_experiment();
  const fs::path page = fetch_page("/reports/scorers?format=html", "scorers_report");
  const auto [status, dom] = browser_dom(page);
  ASSERT_EQ(status, 0) << dom.substr(0, 2000);
  for (const char* text : {"heuristic", "rules", "icp_fit", "1.0.0"})
    EXPECT_NE(dom.find(text), std::string::npos) << text;
  // Per scorer version: no pairs, so no scatter and no flip table.
  const json measured = expect_charts_drawn(page, "scorers_report", {"bars", "roc", "calibration"});
  EXPECT_EQ(measured["roc"]["count"], 3) << measured;
  EXPECT_EQ(measured["calibration"]["count"], 3) << measured;
  EXPECT_EQ(count_of(dom, "class=\"notes\""), 1) << "what the metrics mean, once per page";
  expect_screenshot(page, "scorers_report.png");
}

}  // namespace
}  // namespace leadscore::testing
