// Over real HTTP: a messaging system's activity sync (PATCH /leads/{id}/activity), a lead's
// sale (GET /leads/{id}/sale), the sales filters (GET /sales?lead_id=&stage=) and the order of
// GET /leads (?order=oldest|newest) with cursor paging in each order.
#include <gtest/gtest.h>

#include "tests/api/api_fixture.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

class SyncAndLookup : public ApiTest {
 protected:
  std::string lead_path(const json& lead, const std::string& tail = "") {
    return "/leads/" + std::to_string(lead["id"].get<std::int64_t>()) + tail;
  }
  // A lead handed to sales: its sale.
  json sold_lead() {
    json lead =
        create_lead({{"source", "partner"}, {"business_domain", "fintech"}, {"activity_count", 8}});
    qualify(lead["id"]);
    EXPECT_EQ(call("POST", lead_path(lead, "/analyze")).status, 200);
    auto transfer = call("POST", lead_path(lead, "/transfer"));
    EXPECT_EQ(transfer.status, 201) << transfer.body;
    return transfer.json()["sale"];
  }
  // Every id of GET `path` (a query without cursor), paging `limit` at a time.
  std::vector<std::int64_t> all_pages(const std::string& path, int limit) {
    std::vector<std::int64_t> ids;
    std::string cursor;
    for (int page = 0; page < 100; ++page) {
      const std::string url = path + (path.find('?') == std::string::npos ? "?" : "&") +
                              "limit=" + std::to_string(limit) +
                              (cursor.empty() ? "" : "&cursor=" + cursor);
      auto r = call("GET", url, "", viewer_key);
      EXPECT_EQ(r.status, 200) << url << " -> " << r.body;
      const json listed = r.json();
      EXPECT_LE(listed["items"].size(), static_cast<std::size_t>(limit));
      for (const auto& item : listed["items"]) ids.push_back(item["id"]);
      if (listed["next_cursor"].is_null()) break;
      cursor = listed["next_cursor"].get<std::string>();
    }
    return ids;
  }
};

TEST_F(SyncAndLookup, PatchActivitySetsTheCountAbsolutely) {
  json lead = create_lead({{"source", "manual"}});
  ASSERT_EQ(call("POST", lead_path(lead, "/activity"), json{{"count", 9}}).status, 200);
  auto set = call("PATCH", lead_path(lead, "/activity"), json{{"activity_count", 4}});
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(set.json()["activity_count"], 4);
  EXPECT_GT(set.json()["updated_at"].get<std::string>(), lead["updated_at"].get<std::string>());
  auto zero = call("PATCH", lead_path(lead, "/activity"), json{{"activity_count", 0}});
  ASSERT_EQ(zero.status, 200) << zero.body;
  EXPECT_EQ(zero.json()["activity_count"], 0);
  // The increment goes on from the count set.
  EXPECT_EQ(call("POST", lead_path(lead, "/activity"), "").json()["activity_count"], 1);
  EXPECT_EQ(call("GET", lead_path(lead)).json()["activity_count"], 1);
}

TEST_F(SyncAndLookup, PatchActivityRefusesBadValuesNamingTheFieldAndChangesNothing) {
  json lead = create_lead({{"source", "manual"}, {"activity_count", 5}});
  const std::vector<std::pair<std::string, std::string>> cases{
      {R"({})", "activity_count"},
      {R"({"activity_count":-1})", "activity_count"},
      {R"({"activity_count":2.5})", "activity_count"},
      {R"({"activity_count":"7"})", "activity_count"},
      {R"({"activity_count":null})", "activity_count"},
      {R"({"activity_count":1000000001})", "activity_count"},
      {R"({"activity_count":18446744073709551615})", "activity_count"},
      {R"({"activity_count":3,"count":1})", "count"},
      {R"({"count":3})", "count"},
      {R"([3])", "body"},
      {R"(not json)", "body"},
  };
  for (const auto& [body, field] : cases) {
    auto r = call("PATCH", lead_path(lead, "/activity"), body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_EQ(r.json()["error"]["details"]["field"], field) << body;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find(field), std::string::npos)
        << body << " -> " << r.body;
  }
  EXPECT_EQ(
      call("PATCH", lead_path(lead, "/activity"), json{{"activity_count", 1000000000}}).status,
      200);
  auto bad_id = call("PATCH", "/leads/x/activity", json{{"activity_count", 1}});
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_EQ(bad_id.json()["error"]["details"]["field"], "id");
  json after = call("GET", lead_path(lead)).json();
  EXPECT_EQ(after["activity_count"], 1000000000);
}

TEST_F(SyncAndLookup, PatchActivityIsNotFoundForNoLeadAndLeadFinalForAFinalOne) {
  auto missing = call("PATCH", "/leads/424242/activity", json{{"activity_count", 1}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.error_code(), "not_found");
  json lead = create_lead({{"source", "manual"}, {"activity_count", 2}});
  ASSERT_EQ(call("PATCH", lead_path(lead, "/stage"), json{{"stage", "lost"}}).status, 200);
  auto final_lead = call("PATCH", lead_path(lead, "/activity"), json{{"activity_count", 7}});
  EXPECT_EQ(final_lead.status, 409);
  EXPECT_EQ(final_lead.error_code(), "lead_final");
  EXPECT_EQ(call("GET", lead_path(lead)).json()["activity_count"], 2);
}

TEST_F(SyncAndLookup, PatchActivityNeedsTheManagersRight) {
  json lead = create_lead({{"source", "manual"}});
  EXPECT_EQ(
      call("PATCH", lead_path(lead, "/activity"), json{{"activity_count", 3}}, viewer_key).status,
      403);
  EXPECT_EQ(
      call("PATCH", lead_path(lead, "/activity"), json{{"activity_count", 3}}, analyst_key).status,
      403);
  EXPECT_EQ(
      call("PATCH", lead_path(lead, "/activity"), json{{"activity_count", 3}}, admin_key).status,
      200);
  EXPECT_EQ(
      client->request("PATCH", lead_path(lead, "/activity"), "", R"({"activity_count":4})").status,
      401);
  EXPECT_EQ(call("GET", lead_path(lead)).json()["activity_count"], 3);
}

TEST_F(SyncAndLookup, TheLeadsSaleIsItsOwnOrA404SayingWhy) {
  const json sale = sold_lead();
  const std::string path =
      "/leads/" + std::to_string(sale["lead_id"].get<std::int64_t>()) + "/sale";
  auto found = call("GET", path, "", viewer_key);
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_EQ(found.json(),
            call("GET", "/sales/" + std::to_string(sale["id"].get<std::int64_t>())).json());
  // It follows the sale's stage.
  ASSERT_EQ(call("PATCH", "/sales/" + std::to_string(sale["id"].get<std::int64_t>()) + "/stage",
                 json{{"stage", "kyc"}})
                .status,
            200);
  EXPECT_EQ(call("GET", path, "", viewer_key).json()["stage"], "kyc");

  json unsold = create_lead({{"source", "manual"}});
  auto none = call("GET", lead_path(unsold, "/sale"), "", viewer_key);
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(none.error_code(), "not_found");
  EXPECT_NE(none.json()["error"]["message"].get<std::string>().find("has no sale"),
            std::string::npos)
      << none.body;
  auto missing = call("GET", "/leads/424242/sale", "", viewer_key);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json()["error"]["message"], "lead 424242 not found");
  EXPECT_EQ(call("GET", "/leads/0/sale", "", viewer_key).status, 400);
  EXPECT_EQ(client->request("GET", path).status, 401);
}

TEST_F(SyncAndLookup, SalesFilterByLeadAndStage) {
  const json first = sold_lead();
  const json second = sold_lead();
  const std::string second_sale = std::to_string(second["id"].get<std::int64_t>());
  ASSERT_EQ(call("PATCH", "/sales/" + second_sale + "/stage", json{{"stage", "kyc"}}).status, 200);

  json of_lead =
      call("GET", "/sales?lead_id=" + std::to_string(first["lead_id"].get<std::int64_t>())).json();
  ASSERT_EQ(of_lead["items"].size(), 1u) << of_lead;
  EXPECT_EQ(of_lead["items"][0]["id"], first["id"]);
  json in_kyc = call("GET", "/sales?stage=kyc").json();
  ASSERT_EQ(in_kyc["items"].size(), 1u) << in_kyc;
  EXPECT_EQ(in_kyc["items"][0]["id"], second["id"]);
  json both = call("GET", "/sales?stage=new&lead_id=" +
                              std::to_string(second["lead_id"].get<std::int64_t>()))
                  .json();
  EXPECT_TRUE(both["items"].empty()) << both;
  EXPECT_TRUE(call("GET", "/sales?lead_id=424242").json()["items"].empty());
  // Paging goes on within the filter.
  EXPECT_EQ(all_pages("/sales?stage=new", 1), std::vector<std::int64_t>{first["id"]});
  EXPECT_EQ(all_pages("/sales", 1), (std::vector<std::int64_t>{first["id"], second["id"]}));

  for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{
           {"lead_id=abc", "lead_id"},
           {"lead_id=0", "lead_id"},
           {"lead_id=-4", "lead_id"},
           {"lead_id=", "lead_id"},
           {"stage=won", "stage"},
           {"stage=", "stage"},
           {"lead=1", "lead"},
           {"status=paid", "status"},
           {"limit=0", "limit"},
           {"cursor=x", "cursor"},
       }) {
    auto r = call("GET", "/sales?" + query);
    EXPECT_EQ(r.status, 400) << query << " -> " << r.body;
    EXPECT_EQ(r.json()["error"]["details"]["field"], field) << query;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find(field), std::string::npos)
        << query << " -> " << r.body;
  }
}

TEST_F(SyncAndLookup, LeadsListOldestOrNewestFirstAndPageCorrectlyInEach) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 7; ++i)
    ids.push_back(create_lead({{"source", i % 2 ? "partner" : "scanner"}})["id"]);
  const std::vector<std::int64_t> newest(ids.rbegin(), ids.rend());

  EXPECT_EQ(all_pages("/leads", 3), ids);
  EXPECT_EQ(all_pages("/leads?order=oldest", 3), ids);
  EXPECT_EQ(all_pages("/leads?order=newest", 3), newest);
  EXPECT_EQ(all_pages("/leads?order=newest", 7), newest);  // an exact fit: one page
  EXPECT_EQ(all_pages("/leads?order=newest", 1), newest);
  // With a filter: the partner leads, newest first, two at a time.
  EXPECT_EQ(all_pages("/leads?order=newest&source=partner", 2),
            (std::vector<std::int64_t>{ids[5], ids[3], ids[1]}));

  // A lead created while paging newest first is not seen (it is newer than the first page);
  // every lead there at the start is seen once.
  auto first = call("GET", "/leads?order=newest&limit=3").json();
  create_lead({{"source", "manual"}});
  auto second =
      call("GET", "/leads?order=newest&limit=3&cursor=" + first["next_cursor"].get<std::string>())
          .json();
  ASSERT_EQ(second["items"].size(), 3u);
  EXPECT_EQ(second["items"][0]["id"], ids[3]);

  for (const char* order : {"latest", "NEWEST", "", "desc"}) {
    auto r = call("GET", std::string("/leads?order=") + order);
    EXPECT_EQ(r.status, 400) << order;
    EXPECT_EQ(r.json()["error"]["details"]["field"], "order") << order;
    EXPECT_EQ(r.json()["error"]["message"], "order must be one of: oldest, newest");
  }
}

}  // namespace
}  // namespace leadscore::testing
