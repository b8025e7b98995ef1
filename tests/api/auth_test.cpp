// Authentication and roles, API key management, request ids and request logs.
#include <gtest/gtest.h>

#include "tests/api/api_fixture.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

class Auth : public ApiTest {};

TEST_F(Auth, MissingOrUnknownKeyIs401) {
  auto none = client->request("GET", "/leads");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.error_code(), "unauthorized");
  EXPECT_EQ(client->request("GET", "/leads", "lsk_not_a_key").status, 401);
  EXPECT_EQ(client->request("GET", "/leads", "", "", {{"Authorization", "Basic abc"}}).status, 401);
}

TEST_F(Auth, RolesLimitWhatAKeyMayDo) {
  const json body{{"source", "manual"}};
  EXPECT_EQ(call("POST", "/leads", body, viewer_key).status, 403);
  EXPECT_EQ(call("POST", "/leads", body, analyst_key).status, 403);
  EXPECT_EQ(call("POST", "/leads", body, admin_key).status, 201);
  EXPECT_EQ(call("GET", "/leads", "", viewer_key).status, 200);
  EXPECT_EQ(call("GET", "/leads/1", "", analyst_key).status, 200);
  EXPECT_EQ(call("POST", "/leads/1/analyze", "", viewer_key).status, 403);
  EXPECT_EQ(call("GET", "/admin/keys", "", manager_key).status, 403);
  EXPECT_EQ(count_rows("leads"), 1);
}

TEST_F(Auth, KeysAreCreatedShownOnceListedAndRevoked) {
  auto created =
      call("POST", "/admin/keys", json{{"name", "crm-sync"}, {"role", "manager"}}, admin_key);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string key = created.json()["key"];
  EXPECT_TRUE(key.starts_with("lsk_"));
  EXPECT_EQ(created.json()["role"], "manager");

  auto lead = call("POST", "/leads", json{{"source", "partner"}}, key);
  ASSERT_EQ(lead.status, 201);
  json history =
      call("GET", "/leads/" + std::to_string(lead.json()["id"].get<int>()) + "/history").json();
  EXPECT_EQ(history["stage_events"][0]["actor"], "crm-sync");

  auto listed = call("GET", "/admin/keys", "", admin_key);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.json()["items"].size(), 5u);
  EXPECT_EQ(listed.body.find(key), std::string::npos);
  EXPECT_EQ(listed.body.find("hash"), std::string::npos);

  EXPECT_EQ(
      call("POST", "/admin/keys", json{{"name", "crm-sync"}, {"role", "viewer"}}, admin_key).status,
      409);
  EXPECT_EQ(call("POST", "/admin/keys", json{{"name", "x"}, {"role", "god"}}, admin_key).status,
            400);
  EXPECT_EQ(call("POST", "/admin/keys", json{{"name", "bad name!"}, {"role", "viewer"}}, admin_key)
                .json()["error"]["details"]["field"],
            "name");

  EXPECT_EQ(call("DELETE", "/admin/keys/crm-sync", "", admin_key).status, 204);
  EXPECT_EQ(call("GET", "/leads", "", key).status, 401);
  EXPECT_EQ(call("DELETE", "/admin/keys/crm-sync", "", admin_key).status, 404);
  auto last_admin = call("DELETE", "/admin/keys/admin", "", admin_key);
  EXPECT_EQ(last_admin.status, 409);
}

TEST_F(Auth, EveryResponseHasARequestIdAndTheLogNeverHasTheKey) {
  auto r = call("GET", "/leads");
  ASSERT_TRUE(r.headers.contains("x-request-id"));
  const std::string id = r.headers["x-request-id"];
  EXPECT_FALSE(id.empty());
  auto again = call("GET", "/leads");
  EXPECT_NE(again.headers["x-request-id"], id);
  auto given = client->request("GET", "/health", "", "", {{"X-Request-Id", "trace-42"}});
  EXPECT_EQ(given.headers["x-request-id"], "trace-42");
  EXPECT_TRUE(r.headers["connection"] == "keep-alive" || r.headers["connection"] == "Keep-Alive")
      << r.headers["connection"];

  server->stop();  // flushes the pool, so every request has logged its line
  const std::string log = logs();
  EXPECT_NE(log.find("GET /leads 200"), std::string::npos) << log;
  EXPECT_NE(log.find("rid=" + id), std::string::npos) << log;
  EXPECT_NE(log.find("rid=trace-42"), std::string::npos);
  EXPECT_NE(log.find("key=manager"), std::string::npos);
  EXPECT_EQ(log.find(manager_key), std::string::npos);
  EXPECT_EQ(log.find("Authorization"), std::string::npos);
}

}  // namespace
}  // namespace leadscore::testing
