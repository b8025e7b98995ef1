// Bad input: every malformed request gets 400 (or 413) with a message naming the field,
// nothing changes, and the server never answers 500.
#include <gtest/gtest.h>

#include "tests/api/api_fixture.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

class BadInput : public ApiTest {};

struct Case {
  const char* method;
  std::string path;
  std::string body;
  const char* field;  // expected details.field
};

TEST_F(BadInput, CreateRefusesEveryMalformedBody) {
  const std::vector<Case> cases{
      {"POST", "/leads", "{not json", "body"},
      {"POST", "/leads", "[1,2]", "body"},
      {"POST", "/leads", "", "body"},
      {"POST", "/leads", R"({"business_domain":"x"})", "source"},
      {"POST", "/leads", R"({"source":null})", "source"},
      {"POST", "/leads", R"({"source":42})", "source"},
      {"POST", "/leads", R"({"source":"carrier-pigeon"})", "source"},
      {"POST", "/leads", R"({"source":"manual","colour":"red"})", "colour"},
      {"POST", "/leads", R"({"source":"manual","id":5})", "id"},
      {"POST", "/leads", R"({"source":"manual","stage":"qualified"})", "stage"},
      {"POST", "/leads", R"({"source":"manual","ai_score":0.9})", "ai_score"},
      {"POST", "/leads", R"({"source":"manual","ai_recommendation":"transfer_to_sales"})",
       "ai_recommendation"},
      {"POST", "/leads", R"({"source":"manual","activity_count":-1})", "activity_count"},
      {"POST", "/leads", R"({"source":"manual","activity_count":1.5})", "activity_count"},
      {"POST", "/leads", R"({"source":"manual","activity_count":"3"})", "activity_count"},
      {"POST", "/leads", R"({"source":"manual","activity_count":true})", "activity_count"},
      {"POST", "/leads", R"({"source":"manual","activity_count":99999999999999999999})",
       "activity_count"},
      {"POST", "/leads", R"({"source":"manual","name":7})", "name"},
      {"POST", "/leads", R"({"source":"manual","email":["a"]})", "email"},
      {"POST", "/leads", R"({"source":"manual","bio":")" + std::string(5000, 'x') + "\"}", "bio"},
  };
  for (const auto& c : cases) {
    auto r = call(c.method, c.path, c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_EQ(r.error_code(), "validation_error") << c.body;
    EXPECT_EQ(r.json()["error"]["details"]["field"], c.field) << c.body;
    EXPECT_FALSE(r.json()["error"]["message"].get<std::string>().empty());
  }
  EXPECT_EQ(count_rows("leads"), 0);
  EXPECT_EQ(count_rows("stage_events"), 0);
}

TEST_F(BadInput, LeadRoutesRefuseBadIdsBodiesAndQueries) {
  json lead = create_lead({{"source", "manual"}});
  const std::string id = std::to_string(lead["id"].get<std::int64_t>());
  const std::vector<Case> cases{
      {"GET", "/leads/12abc", "", "id"},
      {"GET", "/leads/abc", "", "id"},
      {"GET", "/leads/-1", "", "id"},
      {"GET", "/leads/0", "", "id"},
      {"GET", "/leads/99999999999999999999", "", "id"},
      {"PATCH", "/leads/" + id + "/stage", R"({"stage":"won"})", "stage"},
      {"PATCH", "/leads/" + id + "/stage", R"({"stage":1})", "stage"},
      {"PATCH", "/leads/" + id + "/stage", R"({})", "stage"},
      {"PATCH", "/leads/" + id + "/stage", R"({"stage":"contacted","by":"me"})", "by"},
      {"POST", "/leads/" + id + "/activity", R"({"count":-3})", "count"},
      {"POST", "/leads/" + id + "/activity", R"({"count":0})", "count"},
      {"POST", "/leads/" + id + "/activity", R"({"count":"2"})", "count"},
      {"PATCH", "/leads/" + id, R"({"source":"partner"})", "source"},
      {"PATCH", "/leads/" + id, R"({"activity_count":5})", "activity_count"},
      {"PATCH", "/leads/" + id, R"({"ai_score":1})", "ai_score"},
      {"PATCH", "/leads/" + id, R"({})", "body"},
      {"PATCH", "/leads/" + id, R"({"business_domain":false})", "business_domain"},
      {"GET", "/leads?limit=0", "", "limit"},
      {"GET", "/leads?limit=1001", "", "limit"},
      {"GET", "/leads?limit=ten", "", "limit"},
      {"GET", "/leads?stage=won", "", "stage"},
      {"GET", "/leads?source=fax", "", "source"},
      {"GET", "/leads?min_score=2", "", "min_score"},
      {"GET", "/leads?max_score=x", "", "max_score"},
      {"GET", "/leads?recommendation=buy", "", "recommendation"},
      {"GET", "/leads?cursor=zzz", "", "cursor"},
      {"GET", "/leads?sort=name", "", "sort"},
      {"GET", "/sales?limit=5000", "", "limit"},
      {"GET", "/sales/x1", "", "id"},
  };
  for (const auto& c : cases) {
    auto r = call(c.method, c.path, c.body);
    EXPECT_EQ(r.status, 400) << c.method << " " << c.path << " " << c.body << " -> " << r.body;
    EXPECT_EQ(r.json()["error"]["details"]["field"], c.field) << c.path << " " << c.body;
  }
  json after = call("GET", "/leads/" + id).json();
  EXPECT_EQ(after["stage"], "new");
  EXPECT_EQ(after["activity_count"], 0);
  EXPECT_EQ(after["updated_at"], lead["updated_at"]);
  EXPECT_EQ(count_rows("stage_events"), 1);
}

TEST_F(BadInput, HugeBodyIsRefusedAndTheServerKeepsServing) {
  const std::string body = R"({"source":"manual","bio":")" + std::string(20 << 20, 'x') + "\"}";
  auto r = call("POST", "/leads", body);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(count_rows("leads"), 0);
  HttpClient fresh(server->port());
  EXPECT_EQ(fresh.request("GET", "/health").status, 200);
  EXPECT_EQ(fresh.request("POST", "/leads", manager_key, R"({"source":"manual"})").status, 201);
}

}  // namespace
}  // namespace leadscore::testing

namespace leadscore::testing {
namespace {

// Mutations of valid bodies (truncation, byte flips, type swaps, deep nesting) sent to every
// route that takes a body: no 500, no crash, and every error body is well-formed.
TEST_F(BadInput, MutatedBodiesNeverCause500) {
  json lead = create_lead({{"source", "partner"}, {"business_domain", "saas"}});
  const std::string id = std::to_string(lead["id"].get<std::int64_t>());
  const std::vector<std::pair<std::string, std::string>> targets{
      {"POST", "/leads"},
      {"PATCH", "/leads/" + id},
      {"PATCH", "/leads/" + id + "/stage"},
      {"POST", "/leads/" + id + "/activity"},
      {"POST", "/admin/keys"},
  };
  const std::vector<std::string> starting_bodies{
      R"({"source":"partner","business_domain":"saas","activity_count":3,"name":"A"})",
      R"({"stage":"contacted"})",
      R"({"count":2})",
      R"({"name":"k1","role":"viewer"})",
      std::string(2000, '[') + std::string(2000, ']'),
      R"({"source":"\ud800","name":"\u0000"})",
      "{\"source\":\"manual\",\"bio\":\"\xff\xfe\"}",
  };
  std::uint32_t state = 12345;
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  int sent = 0;
  for (const auto& [method, path] : targets) {
    for (const auto& start : starting_bodies) {
      for (int i = 0; i < 12; ++i) {
        std::string body = start;
        switch (next() % 4) {
          case 0:
            body = body.substr(0, next() % (body.size() + 1));
            break;
          case 1:
            body[next() % body.size()] = static_cast<char>(next() % 256);
            break;
          case 2:
            body.insert(next() % body.size(), "\"x\":[1,{\"y\":null}],");
            break;
          default:
            body = "{\"count\":" + std::to_string(static_cast<std::int32_t>(next())) + "}";
        }
        auto r = call(method, path, body, admin_key);
        ++sent;
        ASSERT_NE(r.status, -1) << "no answer to " << method << " " << path << " " << body;
        EXPECT_LT(r.status, 500) << method << " " << path << " " << body << " -> " << r.body;
        if (r.status >= 400) {
          EXPECT_FALSE(r.error_code().empty()) << r.body;
        }
      }
    }
  }
  EXPECT_EQ(sent, 5 * 7 * 12);
  EXPECT_EQ(client->request("GET", "/health").status, 200);
}

}  // namespace
}  // namespace leadscore::testing
