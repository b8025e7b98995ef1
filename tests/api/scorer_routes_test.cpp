// Scorers over the API: fallback when a scorer fails, shadow runs recorded off the response
// path, GET /scorers with health, and POST /admin/reload (kept old set on a broken config).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/api/api_fixture.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

// `flaky` (the test plugin: fails for source "error") decides, falling back to the heuristic;
// the heuristic also shadows every analysis; `lonely` has no fallback.
std::string scorers_yaml(const std::string& primary, const std::string& shadow = "heuristic") {
  return "sources: [scanner, partner, manual, ok, error, intent, slow]\n"
         "scoring:\n"
         "  primary: " +
         primary +
         "\n"
         "  shadow: [" +
         shadow +
         "]\n"
         "  scorers:\n"
         "    heuristic:\n"
         "      plugin: heuristic\n"
         "    flaky:\n"
         "      plugin: " TEST_PLUGIN_DIR
         "/test_good.so\n"
         "      fallback: heuristic\n"
         "    lonely:\n"
         "      plugin: " TEST_PLUGIN_DIR "/test_good.so\n";
}

class ScorerRoutes : public ApiTest {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "leadscore_scorers_" + std::to_string(::getpid()) + ".yaml";
    write(scorers_yaml("flaky"));
    ApiTest::SetUp();
  }
  void TearDown() override {
    ApiTest::TearDown();
    std::remove(path_.c_str());
  }
  std::string config_path() const override { return path_; }
  void write(const std::string& text) { std::ofstream(path_) << text; }

  // The lead's analyses once `n` are recorded (shadow runs land shortly after the response).
  json analyses_when(std::int64_t id, std::size_t n) {
    json analyses;
    for (int i = 0; i < 100; ++i) {
      analyses = call("GET", "/leads/" + std::to_string(id) + "/history").json()["analyses"];
      if (analyses.size() >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return analyses;
  }

  std::string path_;
};

TEST_F(ScorerRoutes, PrimaryAnswersAndShadowsAreRecordedButNeverStored) {
  json lead = create_lead({{"source", "ok"}, {"business_domain", "saas"}});
  const std::int64_t id = lead["id"];
  auto r = call("POST", "/leads/" + std::to_string(id) + "/analyze");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["scorer"], "flaky");
  EXPECT_DOUBLE_EQ(r.json()["score"].get<double>(), 0.5);
  EXPECT_FALSE(r.json().contains("fallback_from"));

  json analyses = analyses_when(id, 2);
  ASSERT_EQ(analyses.size(), 2u);
  EXPECT_EQ(analyses[0]["role"], "primary");
  EXPECT_EQ(analyses[1]["role"], "shadow");
  EXPECT_EQ(analyses[1]["scorer"], "heuristic");
  EXPECT_EQ(analyses[1]["features"], analyses[0]["features"]);
  // The shadow's score (0.3 + -0.2 + 0 + 0.1) never reaches the lead.
  EXPECT_DOUBLE_EQ(analyses[1]["score"].get<double>(), 0.3 + -0.2 + 0.0 + 0.1);
  EXPECT_DOUBLE_EQ(call("GET", "/leads/" + std::to_string(id)).json()["ai_score"].get<double>(),
                   0.5);
}

TEST_F(ScorerRoutes, AShadowOverItsBudgetIsRecordedAsFailed) {
  // The test plugin sleeps 30 ms for source "slow"; as a shadow its budget is 5 ms.
  write(scorers_yaml("heuristic", "timed") + "    timed:\n      plugin: " TEST_PLUGIN_DIR
                                             "/test_good.so\n      budget_ms: 5\n");
  ASSERT_EQ(call("POST", "/admin/reload", "", analyst_key).status, 200);
  const std::int64_t id = create_lead({{"source", "slow"}})["id"];
  auto r = call("POST", "/leads/" + std::to_string(id) + "/analyze");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["scorer"], "heuristic");

  json analyses = analyses_when(id, 2);
  ASSERT_EQ(analyses.size(), 2u);
  EXPECT_EQ(analyses[1]["role"], "shadow");
  EXPECT_EQ(analyses[1]["scorer"], "timed");
  EXPECT_FALSE(analyses[1].contains("score"));
  EXPECT_NE(analyses[1]["error"].get<std::string>().find("over its budget of 5 ms"),
            std::string::npos)
      << analyses[1];
  EXPECT_GE(analyses[1]["latency_ms"].get<double>(), 30.0);
}

TEST_F(ScorerRoutes, IntentIsShownOnlyWhenTheScorerGaveOne) {
  const std::int64_t with = create_lead({{"source", "intent"}})["id"];
  auto r = call("POST", "/leads/" + std::to_string(with) + "/analyze");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["intent"], "High");
  json analyses = analyses_when(with, 2);
  ASSERT_EQ(analyses.size(), 2u);
  EXPECT_EQ(analyses[0]["intent"], "High");
  EXPECT_FALSE(analyses[1].contains("intent"));  // the heuristic shadow has none

  const std::int64_t without = create_lead({{"source", "ok"}})["id"];
  r = call("POST", "/leads/" + std::to_string(without) + "/analyze");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.json().contains("intent"));
  EXPECT_FALSE(analyses_when(without, 1)[0].contains("intent"));
}

TEST_F(ScorerRoutes, FailingScorerFallsBackAndTheFailureIsKept) {
  json lead = create_lead({{"source", "error"}, {"business_domain", "saas"}});
  const std::int64_t id = lead["id"];
  auto r = call("POST", "/leads/" + std::to_string(id) + "/analyze");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["scorer"], "heuristic");
  EXPECT_EQ(r.json()["fallback_from"]["scorer"], "flaky");
  EXPECT_NE(r.json()["fallback_from"]["error"].get<std::string>().find("scorer broke on purpose"),
            std::string::npos);
  json stored = call("GET", "/leads/" + std::to_string(id)).json();
  EXPECT_EQ(stored["ai_scorer"]["name"], "heuristic");

  json analyses = analyses_when(id, 3);  // the failed run, the fallback's, the shadow's
  ASSERT_EQ(analyses.size(), 3u);
  EXPECT_EQ(analyses[0]["scorer"], "flaky");
  EXPECT_FALSE(analyses[0]["error"].is_null());
  EXPECT_EQ(analyses[1]["scorer"], "heuristic");
  EXPECT_TRUE(analyses[1]["error"].is_null());

  json scorers = call("GET", "/scorers", "", viewer_key).json()["items"];
  for (const auto& s : scorers) {
    if (s["name"] == "flaky") {
      EXPECT_EQ(s["role"], "primary");
      EXPECT_EQ(s["fallback"], "heuristic");
      EXPECT_NE(s["last_error"]["message"].get<std::string>().find("broke"), std::string::npos);
    }
    if (s["name"] == "heuristic") {
      EXPECT_EQ(s["role"], "shadow");
    }
  }
}

TEST_F(ScorerRoutes, ScorerWithoutFallbackFailingIs503AndChangesNothing) {
  json lead = create_lead({{"source", "error"}});
  const std::string path = "/leads/" + std::to_string(lead["id"].get<std::int64_t>());
  auto r = call("POST", path + "/analyze?scorer=lonely");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.error_code(), "scorer_unavailable");
  EXPECT_EQ(r.headers["retry-after"], "1");  // every 503 says when to try again
  EXPECT_TRUE(call("GET", path).json()["ai_score"].is_null());
  json analyses = call("GET", path + "/history").json()["analyses"];
  ASSERT_EQ(analyses.size(), 1u);
  EXPECT_EQ(analyses[0]["scorer"], "lonely");
  EXPECT_EQ(analyses[0]["role"], "adhoc");
  EXPECT_FALSE(analyses[0]["error"].is_null());
}

TEST_F(ScorerRoutes, ReloadSwapsOnlyAWholeValidSet) {
  EXPECT_EQ(call("POST", "/admin/reload", "", manager_key).status, 403);

  write(scorers_yaml("nobody") + "    broken:\n      plugin: no_such_plugin\n");
  auto refused = call("POST", "/admin/reload", "", analyst_key);
  ASSERT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.error_code(), "invalid_config");
  json errors = refused.json()["error"]["details"]["errors"];
  ASSERT_GE(errors.size(), 2u);
  for (const auto& e : errors) {
    EXPECT_EQ(e["file"], path_);
    EXPECT_GT(e["line"].get<int>(), 0);
  }
  json lead = create_lead({{"source", "ok"}});
  const std::string path = "/leads/" + std::to_string(lead["id"].get<std::int64_t>());
  EXPECT_EQ(call("POST", path + "/analyze").json()["scorer"], "flaky");  // the old set serves

  write(scorers_yaml("heuristic", "flaky"));
  auto reloaded = call("POST", "/admin/reload", "", analyst_key);
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  const json live = reloaded.json()["scorers"];
  ASSERT_EQ(live.size(), 3u);
  bool primary_listed = false;
  for (const auto& s : live)
    primary_listed = primary_listed || (s["name"] == "heuristic" && s["role"] == "primary");
  EXPECT_TRUE(primary_listed) << reloaded.body;
  EXPECT_EQ(call("POST", path + "/analyze").json()["scorer"], "heuristic");
}

TEST_F(ScorerRoutes, ReloadPicksUpAPluginModuleRebuiltAtTheSamePath) {
  // The next build of the module: the heuristic's, where GET /scorers says it is.
  std::string next_build;
  const json listed = call("GET", "/scorers", "", viewer_key).json();  // outlives the loop
  for (const auto& s : listed["items"])
    if (s["name"] == "heuristic") next_build = s["plugin_path"];
  ASSERT_FALSE(next_build.empty());
  const std::string module = path_ + ".module.so";
  auto install = [&](const std::string& build) {  // as a build does: beside it, then renamed
    std::filesystem::copy_file(build, module + ".next",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(module + ".next", module);
  };
  install(TEST_PLUGIN_DIR "/test_good.so");
  write(scorers_yaml("rebuilt") + "    rebuilt:\n      plugin: " + module + "\n");
  ASSERT_EQ(call("POST", "/admin/reload", "", analyst_key).status, 200);
  json lead = create_lead({{"source", "ok"}});
  const std::string analyze =
      "/leads/" + std::to_string(lead["id"].get<std::int64_t>()) + "/analyze";
  EXPECT_EQ(call("POST", analyze).json()["scorer_version"], "0.1");

  install(next_build);
  auto reloaded = call("POST", "/admin/reload", "", analyst_key);
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  json r = call("POST", analyze).json();
  EXPECT_EQ(r["scorer"], "rebuilt");
  EXPECT_NE(r["scorer_version"], "0.1");
  EXPECT_DOUBLE_EQ(r["score"].get<double>(), 0.3 + -0.2);  // the heuristic's code answers
  std::remove(module.c_str());
}

TEST_F(ScorerRoutes, ReloadRunsTheRuleTestsOfTheLuaScorersScriptFirst) {
  const std::string tests = path_ + ".rule_test.yaml";
  auto rule_test = [&](const char* expected) {
    std::ofstream(tests) << "script: " LEADSCORE_SOURCE_DIR "/rules/default.lua\n"
                         << "cases:\n"
                         << "  - name: cold scanner lead\n"
                         << "    lead: {source: scanner, stage: new, activity_count: 0}\n"
                         << "    expect: {recommendation: " << expected << "}\n";
  };
  // The Lua scorer's own tests, run by lua.so on the script it is configured with.
  const std::string lua_scorer =
      "    rules:\n"
      "      plugin: lua\n"
      "      params:\n"
      "        script: " LEADSCORE_SOURCE_DIR
      "/rules/default.lua\n"
      "        tests: " +
      tests + "\n";
  rule_test("transfer_to_sales");  // wrong: the rules say drop_lead
  write(scorers_yaml("heuristic", "flaky") + lua_scorer);
  auto refused = call("POST", "/admin/reload", "", analyst_key);
  ASSERT_EQ(refused.status, 422) << refused.body;
  const json errors = refused.json()["error"]["details"]["errors"];
  ASSERT_EQ(errors.size(), 1u) << refused.body;
  EXPECT_EQ(errors[0]["file"], tests);
  EXPECT_EQ(errors[0]["line"], 3);
  EXPECT_NE(errors[0]["message"].get<std::string>().find("scoring.scorers.rules: rule test "
                                                         "'cold scanner lead' failed"),
            std::string::npos)
      << refused.body;
  json lead = create_lead({{"source", "ok"}});
  const std::string path = "/leads/" + std::to_string(lead["id"].get<std::int64_t>());
  EXPECT_EQ(call("POST", path + "/analyze").json()["scorer"], "flaky");  // the old set serves

  rule_test("drop_lead");
  auto reloaded = call("POST", "/admin/reload", "", analyst_key);
  EXPECT_EQ(reloaded.status, 200) << reloaded.body;
  EXPECT_EQ(call("POST", path + "/analyze").json()["scorer"], "heuristic");
  std::remove(tests.c_str());
}

TEST_F(ScorerRoutes, ReloadRefusesTheRetiredRulesTestsKeySayingWhereTestsGoNow) {
  write(scorers_yaml("heuristic", "flaky") + "rules:\n  tests: ../rules/tests\n");
  auto refused = call("POST", "/admin/reload", "", analyst_key);
  ASSERT_EQ(refused.status, 422) << refused.body;
  const json errors = refused.json()["error"]["details"]["errors"];
  ASSERT_EQ(errors.size(), 1u) << refused.body;
  EXPECT_NE(errors[0]["message"].get<std::string>().find("rules.tests is no longer read"),
            std::string::npos)
      << refused.body;
}

}  // namespace
}  // namespace leadscore::testing
