// A lead's whole flow over real HTTP: create, activity, contacted, qualified, analyze,
// transfer, sale stages; the handoff checks; history; lists with filters and paging.
#include <gtest/gtest.h>

#include "tests/api/api_fixture.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

class LeadFlow : public ApiTest {};

std::string lead_path(const json& lead, const std::string& tail = "") {
  return "/leads/" + std::to_string(lead["id"].get<std::int64_t>()) + tail;
}

TEST_F(LeadFlow, JsonAnswersSayTheirContentType) {
  auto created = call("POST", "/leads", json{{"source", "manual"}});
  EXPECT_EQ(created.headers["content-type"], "application/json");
  auto refused = call("POST", "/leads", json{{"source", "nowhere"}});
  EXPECT_EQ(refused.headers["content-type"], "application/json");
  EXPECT_EQ(call("GET", "/leads").headers["content-type"], "application/json");
}

TEST_F(LeadFlow, WholeFlowFromCreateToPaidSale) {
  json lead = create_lead({{"source", "partner"}, {"business_domain", "fintech"}});
  EXPECT_EQ(lead["stage"], "new");
  EXPECT_EQ(lead["activity_count"], 0);
  EXPECT_TRUE(lead["ai_score"].is_null());

  auto activity = call("POST", lead_path(lead, "/activity"), json{{"count", 8}});
  ASSERT_EQ(activity.status, 200) << activity.body;
  EXPECT_EQ(activity.json()["activity_count"], 8);
  EXPECT_EQ(call("POST", lead_path(lead, "/activity"), "").json()["activity_count"], 9);

  qualify(lead["id"]);
  auto analyzed = call("POST", lead_path(lead, "/analyze"));
  ASSERT_EQ(analyzed.status, 200) << analyzed.body;
  json result = analyzed.json();
  EXPECT_EQ(result["recommendation"], "transfer_to_sales");
  EXPECT_DOUBLE_EQ(result["score"].get<double>(), 1.0);
  EXPECT_EQ(result["scorer"], "heuristic");
  EXPECT_FALSE(result["scorer_version"].get<std::string>().empty());
  EXPECT_FALSE(result["reason"].get<std::string>().empty());
  EXPECT_TRUE(result["analyzed_at"].is_string());
  double sum = 0;
  for (const auto& c : result["contributions"]) sum += c["points"].get<double>();
  EXPECT_NEAR(sum, result["score"].get<double>(), 1e-9);

  json stored = call("GET", lead_path(lead)).json();
  EXPECT_EQ(stored["ai_score"], result["score"]);
  EXPECT_EQ(stored["ai_recommendation"], "transfer_to_sales");
  EXPECT_EQ(stored["ai_reason"], result["reason"]);
  EXPECT_EQ(stored["ai_scorer"]["name"], "heuristic");
  EXPECT_EQ(stored["ai_analyzed_at"], result["analyzed_at"]);

  auto transfer = call("POST", lead_path(lead, "/transfer"));
  ASSERT_EQ(transfer.status, 201) << transfer.body;
  json sale = transfer.json()["sale"];
  EXPECT_EQ(transfer.json()["lead"]["stage"], "transferred");
  EXPECT_EQ(sale["lead_id"], lead["id"]);
  EXPECT_EQ(sale["stage"], "new");

  const std::string sale_path = "/sales/" + std::to_string(sale["id"].get<std::int64_t>());
  for (const char* stage : {"kyc", "agreement", "paid"}) {
    auto moved = call("PATCH", sale_path + "/stage", json{{"stage", stage}});
    ASSERT_EQ(moved.status, 200) << moved.body;
    EXPECT_EQ(moved.json()["stage"], stage);
  }
  auto after_paid = call("PATCH", sale_path + "/stage", json{{"stage", "lost"}});
  EXPECT_EQ(after_paid.status, 409);
  EXPECT_EQ(after_paid.error_code(), "invalid_transition");
  EXPECT_EQ(call("GET", sale_path).json()["stage"], "paid");

  json history = call("GET", lead_path(lead, "/history")).json();
  ASSERT_EQ(history["stage_events"].size(), 4u);
  EXPECT_TRUE(history["stage_events"][0]["from"].is_null());
  EXPECT_EQ(history["stage_events"][0]["to"], "new");
  EXPECT_EQ(history["stage_events"][3]["from"], "qualified");
  EXPECT_EQ(history["stage_events"][3]["to"], "transferred");
  EXPECT_EQ(history["stage_events"][3]["actor"], "manager");
  ASSERT_EQ(history["analyses"].size(), 1u);
  EXPECT_EQ(history["analyses"][0]["scorer"], "heuristic");
  EXPECT_EQ(history["analyses"][0]["features"]["activity_count"], 9);
  EXPECT_EQ(history["analyses"][0]["score"], result["score"]);

  json sales = call("GET", "/sales").json();
  ASSERT_EQ(sales["items"].size(), 1u);
  EXPECT_EQ(sales["items"][0]["id"], sale["id"]);
}

TEST_F(LeadFlow, PatchStageToTransferredRunsTheHandoff) {
  json lead =
      create_lead({{"source", "partner"}, {"business_domain", "retail"}, {"activity_count", 8}});
  qualify(lead["id"]);
  ASSERT_EQ(call("POST", lead_path(lead, "/analyze")).status, 200);
  auto moved = call("PATCH", lead_path(lead, "/stage"), json{{"stage", "transferred"}});
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(moved.json()["stage"], "transferred");
  EXPECT_EQ(count_rows("sales"), 1);
}

TEST_F(LeadFlow, HandoffReportsEveryFailedCheck) {
  json lead = create_lead({{"source", "scanner"}});
  auto refused = call("POST", lead_path(lead, "/transfer"));
  ASSERT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.error_code(), "handoff_rejected");
  EXPECT_EQ(refused.json()["error"]["details"]["failed_checks"],
            json({"stage_not_qualified", "not_analyzed", "business_domain_missing"}));

  auto by_patch = call("PATCH", lead_path(lead, "/stage"), json{{"stage", "transferred"}});
  EXPECT_EQ(by_patch.status, 422);
  EXPECT_EQ(count_rows("sales"), 0);
  EXPECT_EQ(call("GET", lead_path(lead)).json()["stage"], "new");
}

TEST_F(LeadFlow, HandoffRefusesLowScoreAndBlankDomain) {
  // manual, 0 activity, qualified, blank domain: 0.4 - 0.2 + 0.15 = 0.35 < 0.6.
  json lead = create_lead({{"source", "manual"}, {"business_domain", "   "}});
  qualify(lead["id"]);
  ASSERT_EQ(call("POST", lead_path(lead, "/analyze")).status, 200);
  auto refused = call("POST", lead_path(lead, "/transfer"));
  ASSERT_EQ(refused.status, 422);
  EXPECT_EQ(refused.json()["error"]["details"]["failed_checks"],
            json({"score_below_threshold", "business_domain_missing"}));

  // Fix the domain, add activity, analyze again: now it passes.
  ASSERT_EQ(call("PATCH", lead_path(lead), json{{"business_domain", "logistics"}}).status, 200);
  ASSERT_EQ(call("POST", lead_path(lead, "/activity"), json{{"count", 7}}).status, 200);
  auto analyzed = call("POST", lead_path(lead, "/analyze")).json();
  EXPECT_GE(analyzed["score"].get<double>(), 0.6);
  EXPECT_EQ(call("POST", lead_path(lead, "/transfer")).status, 201);
}

TEST_F(LeadFlow, StageMovesFollowTheRules) {
  json lead = create_lead({{"source", "manual"}});
  auto skip = call("PATCH", lead_path(lead, "/stage"), json{{"stage", "qualified"}});
  EXPECT_EQ(skip.status, 409);
  EXPECT_EQ(skip.error_code(), "invalid_transition");
  auto same = call("PATCH", lead_path(lead, "/stage"), json{{"stage", "new"}});
  EXPECT_EQ(same.status, 409);
  ASSERT_EQ(call("PATCH", lead_path(lead, "/stage"), json{{"stage", "contacted"}}).status, 200);
  auto back = call("PATCH", lead_path(lead, "/stage"), json{{"stage", "new"}});
  EXPECT_EQ(back.status, 409);
  ASSERT_EQ(call("PATCH", lead_path(lead, "/stage"), json{{"stage", "lost"}}).status, 200);

  // A final lead changes no more: stage, fields, activity, analysis all 409 lead_final.
  for (auto [method, tail, body] : {std::tuple{"PATCH", "/stage", json{{"stage", "contacted"}}},
                                    std::tuple{"PATCH", "/stage", json{{"stage", "lost"}}},
                                    std::tuple{"PATCH", "", json{{"business_domain", "x"}}},
                                    std::tuple{"POST", "/activity", json{{"count", 1}}},
                                    std::tuple{"POST", "/analyze", json::object()},
                                    std::tuple{"POST", "/transfer", json::object()}}) {
    auto r = call(method, lead_path(lead, tail), body);
    EXPECT_EQ(r.status, 409) << method << " " << tail << " " << r.body;
    EXPECT_EQ(r.error_code(), "lead_final") << method << " " << tail;
  }
  json after = call("GET", lead_path(lead)).json();
  EXPECT_EQ(after["stage"], "lost");
  EXPECT_TRUE(after["business_domain"].is_null());
}

TEST_F(LeadFlow, TextIsStoredVerbatim) {
  const std::string nasty = "'; DROP TABLE leads; -- \"quoted\" \\ back";
  const std::string unicode = "Ünïcödé — Привет 👋 漢字";
  json lead = create_lead(
      {{"source", "manual"}, {"name", nasty}, {"bio", unicode}, {"company", "O'Reilly & Sons"}});
  json fetched = call("GET", lead_path(lead)).json();
  EXPECT_EQ(fetched["name"], nasty);
  EXPECT_EQ(fetched["bio"], unicode);
  EXPECT_EQ(fetched["company"], "O'Reilly & Sons");
  EXPECT_EQ(count_rows("leads"), 1);
}

TEST_F(LeadFlow, ListFiltersAndPagesStablyUnderInserts) {
  std::vector<std::int64_t> initial;
  for (int i = 0; i < 7; ++i)
    initial.push_back(create_lead({{"source", i % 2 ? "partner" : "scanner"}})["id"]);
  json partner = call("GET", "/leads?source=partner&limit=1000").json();
  EXPECT_EQ(partner["items"].size(), 3u);
  EXPECT_TRUE(partner["next_cursor"].is_null());

  // Page through 3 at a time while new leads arrive: every lead present at the start is
  // seen exactly once, in id order.
  std::vector<std::int64_t> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::string path = "/leads?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor);
    auto r = call("GET", path);
    ASSERT_EQ(r.status, 200) << r.body;
    const json listed = r.json();
    ASSERT_FALSE(listed["items"].empty()) << path << " -> " << r.body;
    for (const auto& item : listed["items"]) seen.push_back(item["id"]);
    create_lead({{"source", "manual"}});
    if (listed["next_cursor"].is_null()) break;
    cursor = listed["next_cursor"].get<std::string>();
  }
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1], seen[i]);
  for (auto id : initial) EXPECT_EQ(std::ranges::count(seen, id), 1) << id;

  // Score and recommendation filters.
  json strong =
      create_lead({{"source", "partner"}, {"business_domain", "saas"}, {"activity_count", 10}});
  call("POST", lead_path(strong, "/analyze"));
  json weak = create_lead({{"source", "scanner"}});
  call("POST", lead_path(weak, "/analyze"));
  json high = call("GET", "/leads?min_score=0.7").json();
  ASSERT_EQ(high["items"].size(), 1u);
  EXPECT_EQ(high["items"][0]["id"], strong["id"]);
  json dropped = call("GET", "/leads?recommendation=drop_lead&max_score=0.3").json();
  ASSERT_EQ(dropped["items"].size(), 1u);
  EXPECT_EQ(dropped["items"][0]["id"], weak["id"]);
  EXPECT_EQ(call("GET", "/leads?stage=new&limit=1000").json()["items"].size(), count_rows("leads"));
}

TEST_F(LeadFlow, ReanalysisSeesEveryChangeMadeSinceTheLastOne) {
  json lead = create_lead({{"source", "partner"}, {"business_domain", "saas"}});
  EXPECT_DOUBLE_EQ(call("POST", lead_path(lead, "/analyze")).json()["score"].get<double>(),
                   0.7 + -0.2 + 0.0 + 0.1);
  // Each change after an analysis must show in the next one (no stale features reused).
  ASSERT_EQ(call("PATCH", lead_path(lead), json{{"business_domain", nullptr}}).status, 200);
  EXPECT_DOUBLE_EQ(call("POST", lead_path(lead, "/analyze")).json()["score"].get<double>(),
                   0.7 + -0.2 + 0.0);
  ASSERT_EQ(call("POST", lead_path(lead, "/activity"), json{{"count", 2}}).status, 200);
  EXPECT_DOUBLE_EQ(call("POST", lead_path(lead, "/analyze")).json()["score"].get<double>(), 0.55);
  ASSERT_EQ(call("PATCH", lead_path(lead, "/stage"), json{{"stage", "contacted"}}).status, 200);
  json last = call("POST", lead_path(lead, "/analyze")).json();
  EXPECT_EQ(last["contributions"][2]["rule"], "stage=contacted");
  json history = call("GET", lead_path(lead, "/history")).json();
  ASSERT_EQ(history["analyses"].size(), 4u);
  EXPECT_EQ(history["analyses"][3]["features"]["stage"], "contacted");
  EXPECT_EQ(history["analyses"][2]["features"]["activity_count"], 2);

  // A change of any profile field is seen too, the newest fields included.
  ASSERT_EQ(call("PATCH", lead_path(lead), json{{"phone", "+1 555 0100"}}).status, 200);
  ASSERT_EQ(call("POST", lead_path(lead, "/analyze")).status, 200);
  history = call("GET", lead_path(lead, "/history")).json();
  ASSERT_EQ(history["analyses"].size(), 5u);
  EXPECT_EQ(history["analyses"][4]["features"]["phone"], "+1 555 0100");
  EXPECT_TRUE(history["analyses"][4]["features"]["website"].is_null());
}

TEST_F(LeadFlow, AnalyzeWithNamedScorerIsNotStoredOnTheLead) {
  json lead = create_lead({{"source", "partner"}});
  auto r = call("POST", lead_path(lead, "/analyze?scorer=heuristic"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto unknown = call("POST", lead_path(lead, "/analyze?scorer=nope"));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.json()["error"]["details"]["field"], "scorer");
}

TEST_F(LeadFlow, DeleteIsAdminOnlyAndRefusedWithASale) {
  json lead =
      create_lead({{"source", "partner"}, {"business_domain", "saas"}, {"activity_count", 9}});
  EXPECT_EQ(call("DELETE", lead_path(lead)).status, 403);
  qualify(lead["id"]);
  call("POST", lead_path(lead, "/analyze"));
  ASSERT_EQ(call("POST", lead_path(lead, "/transfer")).status, 201);
  auto refused = call("DELETE", lead_path(lead), "", admin_key);
  EXPECT_EQ(refused.status, 409);
  json other = create_lead({{"source", "manual"}});
  EXPECT_EQ(call("DELETE", lead_path(other), "", admin_key).status, 204);
  EXPECT_EQ(call("GET", lead_path(other)).status, 404);
}

TEST_F(LeadFlow, HealthReadyAndUnknownRoutes) {
  EXPECT_EQ(client->request("GET", "/health").status, 200);
  EXPECT_EQ(client->request("GET", "/ready").status, 200);
  auto missing = call("GET", "/nothing-here");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.error_code(), "not_found");
  auto no_lead = call("GET", "/leads/424242");
  EXPECT_EQ(no_lead.status, 404);
  EXPECT_EQ(no_lead.error_code(), "not_found");
  auto scorers = call("GET", "/scorers", "", viewer_key);
  ASSERT_EQ(scorers.status, 200);
  EXPECT_EQ(scorers.json()["items"][0]["name"], "heuristic");
  EXPECT_EQ(scorers.json()["items"][0]["role"], "primary");
}

}  // namespace
}  // namespace leadscore::testing
