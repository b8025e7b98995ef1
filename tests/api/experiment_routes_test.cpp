// Live experiments over real HTTP: a lead's arm follows the GrowthBook hash of (salt, id), is
// stored on its first analysis and never moves (a reload that changes the split, a restart);
// the arm's scorer is the lead's primary, for single analyses and for background jobs, and
// every row of the analysis records the experiment and arm; the report gives exactly what a
// scripted experiment implies; the sample-ratio check flags a skewed split only.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <thread>

#include "api/analyzer_parts.h"
#include "engine/domain/experiment.h"
#include "tests/api/api_fixture.h"
#include "tests/api/experiment_config.h"
#include "tests/support/temp_file.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class ExperimentApi : public ApiTest {
 protected:
  ExperimentApi() { path_ = dir_.write("leadscore.yaml", experiment_config(kEvenSplit)); }
  std::string config_path() const override { return path_; }

  domain::Experiment trial() const {
    return {
        "trial", "trial-1", {{"control", "heuristic", 50}, {"challenger", "rules", 50}}, 2, true};
  }
  // The arm the hash gives lead `id` under the even split.
  std::string hashed_arm(std::int64_t id) const {
    const auto e = trial();
    return e.arms[*domain::arm_of_bucket(e, domain::experiment_bucket(e, id))].name;
  }
  // A lead the handoff accepts once it is qualified and analyzed (score 1 by both arms).
  std::int64_t ready_lead() {
    auto lead = create_lead(
        json{{"source", "partner"}, {"business_domain", "fintech"}, {"activity_count", 8}});
    const auto id = lead["id"].get<std::int64_t>();
    qualify(id);
    return id;
  }
  json analyze(std::int64_t id, const std::string& query = "") {
    auto r = call("POST", "/leads/" + std::to_string(id) + "/analyze" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }
  json report() {
    auto r = call("GET", "/experiments/trial/report", "", analyst_key);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }
  void reload_with(const std::string& weights, const std::string& extra = "") {
    dir_.write("leadscore.yaml", experiment_config(weights, extra));
    auto r = call("POST", "/admin/reload", "", analyst_key);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // The analysis rows of lead `id`, once `rows` of them are kept (shadow runs come after the
  // answer).
  json history_rows(std::int64_t id, std::size_t rows) {
    json analyses;
    for (auto until = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms)) {
      analyses = call("GET", "/leads/" + std::to_string(id) + "/history").json()["analyses"];
      if (analyses.size() >= rows) break;
    }
    return analyses;
  }
  void move_sale(std::int64_t sale, std::initializer_list<const char*> stages) {
    for (const char* stage : stages) {
      auto r = call("PATCH", "/sales/" + std::to_string(sale) + "/stage", json{{"stage", stage}});
      ASSERT_EQ(r.status, 200) << r.body;
    }
  }

  TempDir dir_;
  std::string path_;
};

TEST_F(ExperimentApi, TheLeadsArmChoosesItsPrimaryScorerAndEveryRowRecordsIt) {
  std::map<std::string, int> seen;
  for (int i = 0; i < 12; ++i) {
    const auto id = ready_lead();
    const json result = analyze(id);
    const std::string arm = hashed_arm(id);
    ++seen[arm];
    EXPECT_EQ(result["experiment"], "trial");
    EXPECT_EQ(result["arm"], arm) << "lead " << id;
    EXPECT_EQ(result["scorer"], arm == "control" ? "heuristic" : "rules");
    // The primary run and the icp_fit shadow run, both with the experiment and arm.
    const json rows = history_rows(id, 2);
    ASSERT_EQ(rows.size(), 2u) << rows.dump();
    for (const json& row : rows) {
      EXPECT_EQ(row["experiment"], "trial") << row.dump();
      EXPECT_EQ(row["arm"], arm) << row.dump();
    }
    EXPECT_EQ(rows[1]["role"], "shadow");
    EXPECT_EQ(rows[1]["scorer"], "icp_fit");
  }
  EXPECT_EQ(seen.size(), 2u) << "12 leads fall in both halves";
  EXPECT_EQ(count_rows("experiment_assignments"), 12);
}

TEST_F(ExperimentApi, ANamedScorerWinsAndAssignsNothing) {
  const auto id = ready_lead();
  const json result = analyze(id, "?scorer=icp_fit");
  EXPECT_EQ(result["scorer"], "icp_fit");
  EXPECT_TRUE(result["experiment"].is_null());
  EXPECT_TRUE(result["arm"].is_null());
  EXPECT_EQ(count_rows("experiment_assignments"), 0);
}

TEST_F(ExperimentApi, AssignedLeadsKeepTheirArmWhenTheSplitChangesAndAfterARestart) {
  std::map<std::int64_t, std::string> before;
  for (int i = 0; i < 10; ++i) {
    const auto id = ready_lead();
    before[id] = analyze(id)["arm"].get<std::string>();
  }
  ASSERT_TRUE(std::ranges::any_of(before, [](const auto& p) { return p.second == "control"; }));
  reload_with(kChallengerOnly);
  for (const auto& [id, arm] : before) {
    const json again = analyze(id);
    EXPECT_EQ(again["arm"], arm) << "lead " << id << " moved";
    EXPECT_EQ(again["scorer"], arm == "control" ? "heuristic" : "rules");
  }
  std::vector<std::int64_t> fresh;
  for (int i = 0; i < 6; ++i) {
    fresh.push_back(ready_lead());
    EXPECT_EQ(analyze(fresh.back())["arm"], "challenger") << "a new lead follows the new split";
  }
  // A restart: a new pipeline with nothing in memory reads the stored arms.
  analysis::DatabaseAnalysisStore store(*db);
  const analysis::Analyzer restarted(
      store, api::analyzer_parts(*live_scorers, offer_cache.get(), nullptr, nullptr));
  for (const auto& [id, arm] : before) {
    auto outcome = restarted.analyze({id, std::nullopt, "manager", std::nullopt, std::nullopt});
    ASSERT_TRUE(outcome.has_value()) << outcome.error().error.message;
    EXPECT_EQ(outcome->analysis.arm, arm) << "lead " << id << " moved after a restart";
  }
  for (const auto id : fresh) {
    auto outcome = restarted.analyze({id, std::nullopt, "manager", std::nullopt, std::nullopt});
    ASSERT_TRUE(outcome.has_value());
    EXPECT_EQ(outcome->analysis.arm, "challenger");
  }
  EXPECT_EQ(count_rows("experiment_assignments"), 16);
}

TEST_F(ExperimentApi, AStoppedExperimentAssignsNoMoreAndKeepsItsAssignments) {
  const auto first = ready_lead();
  analyze(first);
  reload_with(kEvenSplit + "\n    active: false");
  const auto second = ready_lead();
  const json result = analyze(second);
  EXPECT_TRUE(result["arm"].is_null());
  EXPECT_EQ(result["scorer"], "heuristic");
  EXPECT_EQ(count_rows("experiment_assignments"), 1);
  auto list = call("GET", "/experiments", "", analyst_key);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.json()["items"][0]["active"], false);
  EXPECT_EQ(list.json()["items"][0]["assigned"], 1);
}

TEST_F(ExperimentApi, ABackgroundJobScoresEachLeadWithItsArm) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 30; ++i)
    ids.push_back(create_lead(json{{"source", "scanner"}, {"activity_count", i}})["id"]);
  auto created = call("POST", "/jobs/score", json{{"filter", json::object()}});
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string job = "/jobs/" + std::to_string(created.json()["id"].get<std::int64_t>());
  json status;
  for (auto until = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(20ms)) {
    status = call("GET", job).json();
    if (status["status"] == "done") break;
  }
  ASSERT_EQ(status["status"], "done") << status.dump();
  EXPECT_EQ(status["done"], 30);
  for (const auto id : ids) {
    const json rows = history_rows(id, 2);
    ASSERT_EQ(rows.size(), 2u) << rows.dump();
    const std::string arm = hashed_arm(id);
    EXPECT_EQ(rows[0]["scorer"], arm == "control" ? "heuristic" : "rules") << id;
    for (const json& row : rows) {
      EXPECT_EQ(row["experiment"], "trial");
      EXPECT_EQ(row["arm"], arm);
    }
  }
  EXPECT_EQ(count_rows("experiment_assignments"), 30);
}

TEST_F(ExperimentApi, TheReportShowsWhatTheScriptedExperimentImplies) {
  // 16 leads analysed; the first 4 of each arm handed off; of control's sales 3 paid and 1
  // lost, of challenger's 1 paid, 2 lost, 1 left open (kyc).
  std::map<std::string, std::vector<std::int64_t>> by_arm;
  for (int i = 0; i < 16; ++i) {
    const auto id = ready_lead();
    by_arm[analyze(id)["arm"].get<std::string>()].push_back(id);
  }
  ASSERT_GE(by_arm["control"].size(), 4u);
  ASSERT_GE(by_arm["challenger"].size(), 4u);
  std::map<std::string, std::vector<std::int64_t>> sales;
  for (const char* arm : {"control", "challenger"})
    for (int i = 0; i < 4; ++i) {
      auto r = call("POST", "/leads/" + std::to_string(by_arm[arm][i]) + "/transfer");
      ASSERT_EQ(r.status, 201) << r.body;
      sales[arm].push_back(r.json()["sale"]["id"]);
    }
  // Below min_n (2) closed sales an arm shows no conversion rate, and says why.
  move_sale(sales["control"][3], {"lost"});
  const json early = report()["arms"][0];
  EXPECT_TRUE(early["conversion_rate"].is_null()) << early.dump();
  EXPECT_NE(early["conversion_rate_reason"].get<std::string>().find("min_n of 2"),
            std::string::npos);
  for (int i = 0; i < 3; ++i) move_sale(sales["control"][i], {"kyc", "agreement", "paid"});
  move_sale(sales["challenger"][0], {"kyc", "agreement", "paid"});
  move_sale(sales["challenger"][1], {"lost"});
  move_sale(sales["challenger"][2], {"kyc", "lost"});
  move_sale(sales["challenger"][3], {"kyc"});

  const json r = report();
  EXPECT_EQ(r["experiment"], "trial");
  ASSERT_EQ(r["arms"].size(), 2u) << r.dump();
  const json& control = r["arms"][0];
  const json& challenger = r["arms"][1];
  const auto n_control = static_cast<std::int64_t>(by_arm["control"].size());
  const auto n_challenger = static_cast<std::int64_t>(by_arm["challenger"].size());
  EXPECT_EQ(control["name"], "control");
  EXPECT_EQ(control["scorer"], "heuristic");
  EXPECT_EQ(control["assigned"], n_control);
  EXPECT_EQ(control["analysed"], n_control);
  EXPECT_EQ(control["transferred"], 4);
  EXPECT_EQ(control["paid"], 3);
  EXPECT_EQ(control["lost"], 1);
  EXPECT_EQ(control["open"], n_control - 4);
  EXPECT_EQ(control["open_sales"], 0);
  EXPECT_EQ(control["not_transferred"], n_control - 4);
  EXPECT_DOUBLE_EQ(control["conversion_rate"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(control["transfer_rate"].get<double>(), 4.0 / static_cast<double>(n_control));
  EXPECT_EQ(challenger["name"], "challenger");
  EXPECT_EQ(challenger["scorer"], "rules");
  EXPECT_EQ(challenger["assigned"], n_challenger);
  EXPECT_EQ(challenger["transferred"], 4);
  EXPECT_EQ(challenger["paid"], 1);
  EXPECT_EQ(challenger["lost"], 2);
  EXPECT_EQ(challenger["open"], n_challenger - 3);
  EXPECT_EQ(challenger["open_sales"], 1);
  EXPECT_EQ(challenger["not_transferred"], n_challenger - 4);
  EXPECT_DOUBLE_EQ(challenger["conversion_rate"].get<double>(), 1.0 / 3);
  EXPECT_EQ(r["totals"]["assigned"], 16);
  EXPECT_EQ(r["totals"]["paid"], 4);
  EXPECT_EQ(r["totals"]["lost"], 3);
  EXPECT_EQ(r["totals"]["open"], 9);
  // The scorers that ran on the experiment's leads (both arms' and the shadow), against the
  // outcomes: 16 leads, 4 paid, 3 lost, 9 open.
  EXPECT_EQ(r["scorers"]["outcomes"], json({{"leads", 16}, {"paid", 4}, {"lost", 3}, {"open", 9}}));
  const std::string scorers = r["scorers"].dump();
  for (const char* name : {"\"heuristic\"", "\"rules\"", "\"icp_fit\""})
    EXPECT_NE(scorers.find(name), std::string::npos) << name << " in " << scorers;
}

TEST_F(ExperimentApi, SampleRatioMismatchIsFlaggedOnASkewedSplitOnly) {
  // 1000 leads assigned under the split in force: 600 / 400 (chi-squared 40, p = erfc(sqrt(20))).
  execute_sql("INSERT INTO leads (source) SELECT 'manual' FROM generate_series(1, 1000)");
  execute_sql(
      "INSERT INTO experiment_assignments (experiment, lead_id, arm, bucket, split)"
      " SELECT 'trial', id, CASE WHEN id % 10 < 6 THEN 'control' ELSE 'challenger' END, 0,"
      " 'control:50,challenger:50' FROM leads");
  json srm = report()["sample_ratio"];
  EXPECT_EQ(srm["n"], 1000);
  EXPECT_DOUBLE_EQ(srm["chi_squared"].get<double>(), 40.0);
  EXPECT_EQ(srm["degrees_of_freedom"], 1);
  EXPECT_NEAR(srm["p_value"].get<double>(), std::erfc(std::sqrt(20.0)), 1e-20);
  EXPECT_EQ(srm["mismatch"], true);
  // 505 / 495: chi-squared 0.1, p = erfc(sqrt(0.05)) = 0.7518.
  execute_sql(
      "UPDATE experiment_assignments SET arm = CASE WHEN lead_id % 200 < 101 THEN 'control'"
      " ELSE 'challenger' END");
  srm = report()["sample_ratio"];
  EXPECT_NEAR(srm["chi_squared"].get<double>(), 0.1, 1e-12);
  EXPECT_NEAR(srm["p_value"].get<double>(), std::erfc(std::sqrt(0.05)), 1e-12);
  EXPECT_EQ(srm["mismatch"], false);
  // Leads assigned under another split are left out of the check, and counted.
  execute_sql(
      "UPDATE experiment_assignments SET split = 'control:1,challenger:3' WHERE lead_id % 2 = 0");
  srm = report()["sample_ratio"];
  EXPECT_EQ(srm["n"], 500);
  EXPECT_EQ(srm["assigned_under_other_splits"], 500);
}

TEST_F(ExperimentApi, ListsExperimentsWithTheirArmsAndAssignedCounts) {
  for (int i = 0; i < 6; ++i) analyze(ready_lead());
  auto r = call("GET", "/experiments", "", analyst_key);
  ASSERT_EQ(r.status, 200) << r.body;
  const json item = r.json()["items"][0];
  EXPECT_EQ(item["name"], "trial");
  EXPECT_EQ(item["salt"], "trial-1");
  EXPECT_EQ(item["active"], true);
  EXPECT_EQ(item["min_n"], 2);
  EXPECT_EQ(item["assigned"], 6);
  EXPECT_EQ(item["arms"][0]["name"], "control");
  EXPECT_EQ(item["arms"][0]["scorer"], "heuristic");
  EXPECT_EQ(item["arms"][0]["weight"], 50);
  EXPECT_EQ(item["arms"][0]["assigned"].get<int>() + item["arms"][1]["assigned"].get<int>(), 6);
  // An analyst's (and admin's) route.
  EXPECT_EQ(call("GET", "/experiments", "", viewer_key).status, 403);
  EXPECT_EQ(call("GET", "/experiments", "", manager_key).status, 403);
  EXPECT_EQ(call("GET", "/experiments", "", admin_key).status, 200);
}

TEST_F(ExperimentApi, TheReportIsAlsoOneSelfContainedPage) {
  for (int i = 0; i < 8; ++i) analyze(ready_lead());
  auto r = call("GET", "/experiments/trial/report?format=html", "", analyst_key);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  for (const char* part : {"<!DOCTYPE html>", "Experiment trial", "<td>control</td>",
                           "<td>challenger</td>", "Sample ratio", "No mismatch", "<section"})
    EXPECT_NE(r.body.find(part), std::string::npos) << part;
  EXPECT_EQ(r.body.find("http://"), std::string::npos) << "nothing loaded from elsewhere";
  EXPECT_EQ(r.body.find("<script"), std::string::npos);
}

TEST_F(ExperimentApi, AnUnknownExperimentIs404AndABadFormat400) {
  auto r = call("GET", "/experiments/nope/report", "", analyst_key);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error_code(), "not_found");
  auto bad = call("GET", "/experiments/trial/report?format=pdf", "", analyst_key);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json()["error"]["details"]["field"], "format");
}

TEST_F(ExperimentApi, AReloadWithABadExperimentIsRefusedWithItsLineAndChangesNothing) {
  dir_.write("leadscore.yaml", experiment_config("[{name: control, scorer: heuristic, weight: 50}, "
                                                 "{name: challenger, scorer: nobody, weight: 0}]"));
  auto r = call("POST", "/admin/reload", "", analyst_key);
  ASSERT_EQ(r.status, 422) << r.body;
  const json errors = r.json()["error"]["details"]["errors"];
  ASSERT_EQ(errors.size(), 2u) << errors.dump();
  for (const json& e : errors) {
    EXPECT_EQ(e["file"], path_);
    EXPECT_EQ(e["line"], 14);
  }
  EXPECT_NE(errors.dump().find("experiments[0].arms[1].scorer 'nobody' is not a scorer"),
            std::string::npos);
  EXPECT_NE(errors.dump().find("experiments[0].arms[1].weight"), std::string::npos);
  // The experiment serving is the one before.
  const auto id = ready_lead();
  EXPECT_EQ(analyze(id)["arm"], hashed_arm(id));
}

}  // namespace
}  // namespace leadscore::testing
