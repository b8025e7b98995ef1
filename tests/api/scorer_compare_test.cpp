// Comparing scorers over the API: POST /scorers/compare scores stored or inline leads with the
// named scorers and stores nothing; GET /reports/scorers measures every scorer version that ran
// against the leads' closed sales, a rule change showing as a version of its own.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/api/api_fixture.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

// The heuristic decides; `rules` is a Lua rule script of the test's own, edited between runs;
// `llm_quick` is a slow scorer (as an LLM is) that answers in 20 ms.
std::string compare_yaml(const std::string& script) {
  return "sources: [scanner, partner, manual]\n"
         "scoring:\n"
         "  primary: heuristic\n"
         "  shadow: []\n"
         "  scorers:\n"
         "    heuristic:\n"
         "      plugin: heuristic\n"
         "    llm_quick:\n"
         "      plugin: " TEST_PLUGIN_DIR
         "/test_slow.so\n"
         "      params: {sleep_ms: 20}\n"
         "    icp_fit:\n"
         "      plugin: lua\n"
         "      params:\n"
         "        script: " LEADSCORE_SOURCE_DIR
         "/rules/icp_fit.lua\n"
         "    rules:\n"
         "      plugin: lua\n"
         "      params:\n"
         "        script: " +
         script + "\n        lib_dir: " LEADSCORE_SOURCE_DIR "/rules/lib\n";
}

// A rule script whose one rule gives `points` to leads with a business domain.
std::string rule_script(double points) {
  return "local R = rules\n"
         "return R.scorecard{name = \"domain\", version = \"1\", rules = {\n"
         "  R.rule{\"business domain set\", when = R.is_set(\"business_domain\"), points = " +
         std::to_string(points) +
         "}},\n"
         "  recommend = R.thresholds{transfer = 0.7, drop = 0.3}}\n";
}

class ScorerComparison : public ApiTest {
 protected:
  void SetUp() override {
    const std::string stem =
        ::testing::TempDir() + "leadscore_compare_" + std::to_string(::getpid());
    config_path_ = stem + ".yaml";
    script_path_ = stem + ".lua";
    std::ofstream(script_path_) << rule_script(0.5);
    std::ofstream(config_path_) << compare_yaml(script_path_);
    ApiTest::SetUp();
  }
  void TearDown() override {
    ApiTest::TearDown();
    std::remove(config_path_.c_str());
    std::remove(script_path_.c_str());
  }
  std::string config_path() const override { return config_path_; }

  std::int64_t new_lead(const json& body) { return create_lead(body)["id"].get<std::int64_t>(); }
  std::string lead_path(std::int64_t id) { return "/leads/" + std::to_string(id); }
  void analyze(std::int64_t id, const std::string& scorer = "") {
    auto r = call("POST", lead_path(id) + "/analyze" + (scorer.empty() ? "" : "?scorer=" + scorer));
    EXPECT_EQ(r.status, 200) << r.body;
  }
  // Qualified, analyzed by the primary and handed off: the lead's sale, as it is created.
  std::int64_t transfer(std::int64_t id) {
    auto r = call("POST", lead_path(id) + "/transfer");
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json()["sale"]["id"].get<std::int64_t>();
  }
  void sale_to(std::int64_t sale, std::initializer_list<const char*> stages) {
    for (const char* stage : stages) {
      auto r = call("PATCH", "/sales/" + std::to_string(sale) + "/stage", json{{"stage", stage}});
      EXPECT_EQ(r.status, 200) << r.body;
    }
  }
  HttpResponse compare(const json& body, const std::string& key = "") {
    return call("POST", "/scorers/compare", body, key.empty() ? analyst_key : key);
  }
  HttpResponse report(const std::string& query = "") {
    return call("GET", "/reports/scorers" + query, "", analyst_key);
  }
  // The version GET /scorers gives of `scorer`.
  std::string version_of(const std::string& scorer) {
    auto r = call("GET", "/scorers");
    const json items = r.json()["items"];
    for (const auto& item : items)
      if (item["name"] == scorer) return item["version"];
    ADD_FAILURE() << "no scorer " << scorer << ": " << r.body;
    return "";
  }
  // The row of `scorer` (and `version` when given) in a report's scorers.
  static json row_of(const json& report, const std::string& scorer,
                     const std::string& version = "") {
    for (const auto& row : report["scorers"])
      if (row["scorer"] == scorer && (version.empty() || row["version"] == version)) return row;
    ADD_FAILURE() << "no row for " << scorer << " " << version << " in " << report.dump();
    return json::object();
  }

  std::string config_path_, script_path_;
};

json partner_lead(const std::string& name) {
  return {{"source", "partner"},
          {"business_domain", "acme.io"},
          {"name", name},
          {"role", "CTO"},
          {"industry", "B2B SaaS"}};
}

TEST_F(ScorerComparison, ScoresStoredLeadsAgainstTheirSalesAndStoresNothing) {
  // Two leads handed off (one sale paid, one lost), one qualified, one new.
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(new_lead(partner_lead("lead " + std::to_string(i))));
  for (int i = 0; i < 3; ++i) qualify(ids[i]);
  for (int i = 0; i < 2; ++i) analyze(ids[i]);
  sale_to(transfer(ids[0]), {"kyc", "agreement", "paid"});
  sale_to(transfer(ids[1]), {"lost"});

  const auto analyses = count_rows("analyses"), events = count_rows("stage_events");
  std::vector<json> before;
  for (auto id : ids) before.push_back(call("GET", lead_path(id)).json());

  auto r = compare({{"scorers", {"heuristic", "icp_fit"}}, {"lead_ids", ids}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json report = r.json();
  EXPECT_EQ(report["leads"], 4);
  ASSERT_EQ(report["scorers"].size(), 2u);
  EXPECT_EQ(report["scorers"][0]["scorer"], "heuristic");
  EXPECT_EQ(report["scorers"][1]["scorer"], "icp_fit");
  for (const auto& scorer : report["scorers"]) {
    EXPECT_EQ(scorer["n"], 4);
    EXPECT_EQ(scorer["failed"], 0);
    // Only the paid and the lost lead have an outcome; two of them are too few for an AUC.
    EXPECT_EQ(scorer["outcomes"]["n"], 2);
    EXPECT_EQ(scorer["outcomes"]["converted"], 1);
  }
  ASSERT_EQ(report["pairs"].size(), 1u);
  EXPECT_EQ(report["pairs"][0]["n"], 4);
  // The same report as a page for people.
  r = call("POST", "/scorers/compare?format=html",
           json{{"scorers", {"heuristic", "icp_fit"}}, {"lead_ids", ids}}, analyst_key);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<svg"), std::string::npos);
  EXPECT_NE(r.body.find("icp_fit"), std::string::npos);

  // Nothing stored: no analysis, no event, no lead changed.
  EXPECT_EQ(count_rows("analyses"), analyses);
  EXPECT_EQ(count_rows("stage_events"), events);
  for (std::size_t i = 0; i < ids.size(); ++i)
    EXPECT_EQ(call("GET", lead_path(ids[i])).json(), before[i]);

  // A filter selects as GET /leads does: the two handed off.
  r = compare({{"scorers", {"heuristic"}}, {"filter", {{"stage", "transferred"}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["leads"], 2);
  EXPECT_EQ(r.json()["scorers"][0]["outcomes"]["n"], 2);
  EXPECT_EQ(count_rows("analyses"), analyses);
}

TEST_F(ScorerComparison, ScoresInlineLeadsWithTheOutcomesGiven) {
  json leads = json::array();
  leads.push_back({{"source", "partner"},
                   {"stage", "qualified"},
                   {"activity_count", 8},
                   {"business_domain", "a.io"},
                   {"role", "CEO"},
                   {"outcome", true}});
  leads.push_back({{"source", "manual"}, {"outcome", false}});
  leads.push_back({{"source", "scanner"}, {"outcome", nullptr}});
  auto r = compare({{"scorers", {"heuristic", "rules"}}, {"leads", leads}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json report = r.json();
  EXPECT_EQ(report["leads"], 3);
  const json& heuristic = report["scorers"][0];
  EXPECT_EQ(heuristic["outcomes"]["n"], 2);
  EXPECT_EQ(heuristic["outcomes"]["converted"], 1);
  // partner 0.7 + activity 0.25 + qualified 0.15 + domain 0.1, clamped: 1.
  EXPECT_DOUBLE_EQ(heuristic["score"]["max"].get<double>(), 1.0);
  EXPECT_EQ(heuristic["recommendations"]["transfer_to_sales"], 1);
  EXPECT_EQ(count_rows("leads"), 0);
  EXPECT_EQ(count_rows("analyses"), 0);
}

TEST_F(ScorerComparison, RefusesBadInputNamingTheField) {
  const std::int64_t id = new_lead(partner_lead("Ada"));
  const auto expect_field = [&](const json& body, int status, const std::string& field) {
    auto r = compare(body);
    EXPECT_EQ(r.status, status) << body.dump() << ": " << r.body;
    EXPECT_EQ(r.json()["error"]["details"]["field"], field) << body.dump() << ": " << r.body;
  };
  expect_field({{"lead_ids", {id}}}, 400, "scorers");
  expect_field({{"scorers", json::array()}, {"lead_ids", {id}}}, 400, "scorers");
  expect_field({{"scorers", {"heuristic", "nope"}}, {"lead_ids", {id}}}, 400, "scorers[1]");
  expect_field({{"scorers", {"heuristic", "heuristic"}}, {"lead_ids", {id}}}, 400, "scorers[1]");
  expect_field({{"scorers", {"heuristic", 3}}, {"lead_ids", {id}}}, 400, "scorers[1]");
  expect_field({{"scorers", {"heuristic"}}, {"lead_ids", {id}}, {"bogus", 1}}, 400, "bogus");
  expect_field({{"scorers", {"heuristic"}}, {"lead_ids", {id, 0}}}, 400, "lead_ids[1]");
  expect_field({{"scorers", {"heuristic"}}, {"lead_ids", json::array()}}, 400, "lead_ids");
  expect_field(
      {{"scorers", {"heuristic"}}, {"leads", {{{"source", "partner"}}, {{"source", "moon"}}}}}, 400,
      "leads[1].source");
  expect_field({{"scorers", {"heuristic"}}, {"leads", {{{"source", "partner"}, {"id", 4}}}}}, 400,
               "leads[0].id");
  expect_field({{"scorers", {"heuristic"}}, {"leads", {{{"source", "partner"}, {"stage", "won"}}}}},
               400, "leads[0].stage");
  expect_field({{"scorers", {"heuristic"}}, {"leads", {{{"source", "partner"}, {"outcome", 1}}}}},
               400, "leads[0].outcome");
  expect_field({{"scorers", {"heuristic"}}, {"filter", {{"stage", "won"}}}}, 400, "filter.stage");
  expect_field({{"scorers", {"heuristic"}}, {"filter", {{"unscored", true}}}}, 400,
               "filter.unscored");
  // Unknown leads: a 404 naming them.
  auto r = compare({{"scorers", {"heuristic"}}, {"lead_ids", {id, id + 1000, id + 1001}}});
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.json()["error"]["details"]["field"], "lead_ids");
  EXPECT_NE(r.json()["error"]["message"].get<std::string>().find(std::to_string(id + 1000) + ", " +
                                                                 std::to_string(id + 1001)),
            std::string::npos)
      << r.body;
  // None, or more than one, of lead_ids, leads and filter.
  for (const json& body :
       {json{{"scorers", {"heuristic"}}},
        json{{"scorers", {"heuristic"}}, {"lead_ids", {id}}, {"filter", json::object()}}}) {
    r = compare(body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find(
                  "exactly one of lead_ids, leads and filter"),
              std::string::npos);
  }
  // A filter over more leads than one comparison scores.
  execute_sql("INSERT INTO leads (source) SELECT 'manual' FROM generate_series(1, 10000)");
  expect_field({{"scorers", {"heuristic"}}, {"filter", json::object()}}, 400, "filter");
  // Analysts (and admins) compare; managers and viewers may not.
  EXPECT_EQ(compare({{"scorers", {"heuristic"}}, {"lead_ids", {id}}}, manager_key).status, 403);
  EXPECT_EQ(compare({{"scorers", {"heuristic"}}, {"lead_ids", {id}}}, viewer_key).status, 403);
  EXPECT_EQ(compare({{"scorers", {"heuristic"}}, {"lead_ids", {id}}}, admin_key).status, 200);
}

TEST_F(ScorerComparison, TakesASlowScorerOnAFewLeadsOnly) {
  json leads = json::array();
  for (int i = 0; i < 10; ++i) leads.push_back({{"source", "partner"}});
  auto r = compare({{"scorers", {"heuristic", "llm_quick"}}, {"leads", leads}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["scorers"][1]["n"], 10);
  EXPECT_EQ(r.json()["scorers"][1]["failed"], 0);
  leads.push_back({{"source", "partner"}});
  r = compare({{"scorers", {"heuristic", "llm_quick"}}, {"leads", leads}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json()["error"]["details"]["field"], "scorers");
  EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("at most 10 leads"),
            std::string::npos)
      << r.body;
  // Without it, the same leads are no trouble.
  EXPECT_EQ(compare({{"scorers", {"heuristic"}}, {"leads", leads}}).status, 200);
}

// The feedback loop: leads analyzed by the heuristic and by two versions of a rule script (the
// script edited and reloaded between them), handed off, their sales paid or lost; the report
// counts each version's leads by outcome and keeps too little data from passing for a metric.
TEST_F(ScorerComparison, ReportsEachScorerVersionAgainstClosedSales) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 6; ++i) {
    ids.push_back(new_lead(partner_lead("lead " + std::to_string(i))));
    qualify(ids.back());
    analyze(ids.back());  // the heuristic, the primary
  }
  for (int i = 0; i < 3; ++i) analyze(ids[i], "rules");
  analyze(ids[0], "rules");  // a lead analyzed twice by one version counts once
  const std::string v1 = version_of("rules");

  std::ofstream(script_path_) << rule_script(0.9);
  auto reloaded = call("POST", "/admin/reload", "", analyst_key);
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  for (int i = 1; i < 6; ++i) analyze(ids[i], "rules");
  const std::string v2 = version_of("rules");
  ASSERT_NE(v1, v2);

  std::vector<std::int64_t> sales;
  for (int i = 0; i < 5; ++i) sales.push_back(transfer(ids[i]));
  sale_to(sales[0], {"kyc", "agreement", "paid"});
  sale_to(sales[1], {"lost"});
  sale_to(sales[2], {"kyc", "agreement", "paid"});
  sale_to(sales[3], {"kyc", "lost"});
  sale_to(sales[4], {"kyc"});  // still open; lead 5 was never handed off

  auto r = report();
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = r.json();
  EXPECT_EQ(body["min_n"], 30);
  ASSERT_EQ(body["scorers"].size(), 3u) << body.dump(2);

  const json heuristic = row_of(body, "heuristic");
  EXPECT_EQ(heuristic["analyses"], 6);
  EXPECT_EQ(heuristic["leads"], 6);
  EXPECT_EQ(heuristic["converted"], 2);
  EXPECT_EQ(heuristic["lost"], 2);
  EXPECT_EQ(heuristic["open"], 2);
  EXPECT_EQ(heuristic["metrics"]["outcomes"]["n"], 4);
  EXPECT_EQ(heuristic["metrics"]["outcomes"]["converted"], 2);
  // 2 converted and 2 lost are far below min_n: no AUC, whatever the scores.
  EXPECT_TRUE(heuristic["metrics"]["outcomes"]["auc"].is_null()) << heuristic.dump();

  const json first = row_of(body, "rules", v1);
  EXPECT_EQ(first["analyses"], 4);
  EXPECT_EQ(first["leads"], 3);
  EXPECT_EQ(first["converted"], 2);
  EXPECT_EQ(first["lost"], 1);
  EXPECT_EQ(first["open"], 0);
  EXPECT_DOUBLE_EQ(first["metrics"]["score"]["mean"].get<double>(), 0.5);

  const json second = row_of(body, "rules", v2);
  EXPECT_EQ(second["analyses"], 5);
  EXPECT_EQ(second["leads"], 5);
  EXPECT_EQ(second["converted"], 1);
  EXPECT_EQ(second["lost"], 2);
  EXPECT_EQ(second["open"], 2);
  EXPECT_DOUBLE_EQ(second["metrics"]["score"]["mean"].get<double>(), 0.9);
  EXPECT_LE(first["first_at"].get<std::string>(), second["first_at"].get<std::string>());

  // The same as a page for people: an overview, then each version's tables and charts.
  r = report("?format=html");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  for (const std::string& text : {std::string("<!DOCTYPE html>"), "rules version " + v1,
                                  "rules version " + v2, std::string("<svg")})
    EXPECT_NE(r.body.find(text), std::string::npos) << text;

  // A window that ended before any of it: nothing ran there.
  r = report("?since=2020-01-01&until=2020-02-01T00:00:00Z");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["scorers"].size(), 0u);
  EXPECT_EQ(r.json()["since"], "2020-01-01T00:00:00.000000Z");
  EXPECT_EQ(r.json()["until"], "2020-02-01T00:00:00.000000Z");
  // The default window: the 30 days before now.
  r = report("?since=2020-01-01");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["scorers"].size(), 3u);
}

TEST_F(ScorerComparison, ReportRefusesBadDatesNamingTheField) {
  for (auto [query, field] :
       {std::pair{"?since=yesterday", "since"}, std::pair{"?until=2026-02-30", "until"},
        std::pair{"?since=2026-11-30T25:00:00Z", "since"},
        std::pair{"?until=2026-11-30T12:00:00", "until"}, std::pair{"?format=pdf", "format"},
        std::pair{"?fmt=html", "fmt"}}) {
    auto r = report(query);
    EXPECT_EQ(r.status, 400) << query << ": " << r.body;
    EXPECT_EQ(r.json()["error"]["details"]["field"], field) << query << ": " << r.body;
  }
  EXPECT_EQ(call("GET", "/reports/scorers", "", viewer_key).status, 403);
  EXPECT_EQ(report("?since=2026-11-30T12:00:00.5+01:00").status, 200);
}

}  // namespace
}  // namespace leadscore::testing
