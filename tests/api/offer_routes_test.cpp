// Offers over the API: create, list, read, replace, delete; bad input, missing offers and roles;
// one active offer even under concurrent activations; and the active offer reaching every
// scorer of an analysis (primary, shadow, ?scorer=), recorded with it, in this server at once
// and in another server on the same database within a second.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include "api/analyzer_parts.h"
#include "tests/api/api_fixture.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// The hybrid rule layer (icp_fit.lua) decides; a second instance of it shadows; the heuristic is
// the fallback.
std::string offers_yaml() {
  const std::string script = LEADSCORE_SOURCE_DIR "/rules/icp_fit.lua";
  return "scoring:\n"
         "  primary: icp_fit\n"
         "  shadow: [icp_shadow]\n"
         "  scorers:\n"
         "    heuristic:\n"
         "      plugin: heuristic\n"
         "    icp_fit:\n"
         "      plugin: lua\n"
         "      params: {script: " +
         script +
         "}\n"
         "      fallback: heuristic\n"
         "    icp_shadow:\n"
         "      plugin: lua\n"
         "      params: {script: " +
         script + "}\n";
}

// The offer rules/tests/icp_fit.yaml scores against.
const json kOutreachOffer = {
    {"name", "AI Outreach Automation"},
    {"value_props", {"24/7 automated outreach", "6x more qualified meetings"}},
    {"ideal_use_cases", {"B2B SaaS", "Sales teams", "Marketing agencies"}}};

json with(json body, const std::string& key, json value) {
  body[key] = std::move(value);
  return body;
}

std::string offer_path(const json& offer) {
  return "/offers/" + std::to_string(offer["id"].get<std::int64_t>());
}

// The points of `rule` among an analysis's contributions; nullopt when it did not contribute.
std::optional<double> points_of(const json& analysis, const std::string& rule) {
  for (const auto& c : analysis["contributions"])
    if (c["rule"] == rule) return c["points"].get<double>();
  return std::nullopt;
}

constexpr const char* kExactIcp = "exact ICP industry";

class OfferRoutes : public ApiTest {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "leadscore_offers_" + std::to_string(::getpid()) + ".yaml";
    std::ofstream(path_) << offers_yaml();
    ApiTest::SetUp();
  }
  void TearDown() override {
    ApiTest::TearDown();
    std::remove(path_.c_str());
  }
  std::string config_path() const override { return path_; }

  json create_offer(const json& body) {
    auto r = call("POST", "/offers", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json();
  }

  // A CEO at a B2B SaaS company: 0.4 for the role, and 0.4 more when B2B SaaS is one of the
  // active offer's ideal_use_cases.
  std::string saas_ceo() {
    json lead = create_lead({{"source", "partner"},
                             {"business_domain", "techcorp.com"},
                             {"role", "CEO"},
                             {"industry", "B2B SaaS"}});
    return "/leads/" + std::to_string(lead["id"].get<std::int64_t>());
  }

  json analyze(const std::string& lead, const std::string& query = "") {
    auto r = call("POST", lead + "/analyze" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }

  // The lead's analyses once `n` are recorded (shadow runs land shortly after the response).
  json analyses_when(const std::string& lead, std::size_t n) {
    json analyses;
    for (int i = 0; i < 100; ++i) {
      analyses = call("GET", lead + "/history").json()["analyses"];
      if (analyses.size() >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return analyses;
  }

  std::string path_;
};

TEST_F(OfferRoutes, CreateListReadReplaceDelete) {
  json offer = create_offer(with(kOutreachOffer, "description", "books meetings"));
  EXPECT_GT(offer["id"].get<std::int64_t>(), 0);
  EXPECT_EQ(offer["name"], kOutreachOffer["name"]);
  EXPECT_EQ(offer["description"], "books meetings");
  EXPECT_EQ(offer["value_props"], kOutreachOffer["value_props"]);
  EXPECT_EQ(offer["ideal_use_cases"], kOutreachOffer["ideal_use_cases"]);
  EXPECT_EQ(offer["active"], false);
  EXPECT_TRUE(offer["created_at"].is_string());
  EXPECT_TRUE(offer["updated_at"].is_string());

  auto read = call("GET", offer_path(offer), "", viewer_key);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.json(), offer);

  json second = create_offer({{"name", "Second"}});
  EXPECT_TRUE(second["description"].is_null());
  EXPECT_EQ(second["value_props"], json::array());
  auto page = call("GET", "/offers?limit=1", "", viewer_key).json();
  ASSERT_EQ(page["items"].size(), 1u);
  EXPECT_EQ(page["items"][0], offer);
  ASSERT_TRUE(page["next_cursor"].is_string());
  page = call("GET", "/offers?limit=1&cursor=" + page["next_cursor"].get<std::string>()).json();
  ASSERT_EQ(page["items"].size(), 1u);
  EXPECT_EQ(page["items"][0]["id"], second["id"]);

  // PUT replaces the whole offer: what it leaves out takes its default.
  auto replaced =
      call("PUT", offer_path(offer),
           json{{"name", "Renamed"}, {"ideal_use_cases", {"Fintech"}}, {"active", true}});
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  EXPECT_EQ(replaced.json()["id"], offer["id"]);
  EXPECT_EQ(replaced.json()["name"], "Renamed");
  EXPECT_TRUE(replaced.json()["description"].is_null());
  EXPECT_EQ(replaced.json()["value_props"], json::array());
  EXPECT_EQ(replaced.json()["ideal_use_cases"], json({"Fintech"}));
  EXPECT_EQ(replaced.json()["active"], true);
  EXPECT_EQ(replaced.json()["created_at"], offer["created_at"]);
  EXPECT_NE(replaced.json()["updated_at"], offer["updated_at"]);
  EXPECT_EQ(call("GET", offer_path(offer)).json(), replaced.json());

  auto deleted = call("DELETE", offer_path(offer));
  EXPECT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_TRUE(deleted.body.empty());
  EXPECT_EQ(call("GET", offer_path(offer)).status, 404);
  EXPECT_EQ(count_rows("offers"), 1);
}

TEST_F(OfferRoutes, AMissingOfferIs404) {
  json offer = create_offer(kOutreachOffer);
  ASSERT_EQ(call("DELETE", offer_path(offer)).status, 204);
  for (auto [method, body] :
       {std::pair{"GET", ""}, std::pair{"PUT", R"({"name":"x"})"}, std::pair{"DELETE", ""}}) {
    auto r = call(method, offer_path(offer), body);
    EXPECT_EQ(r.status, 404) << method << " " << r.body;
    EXPECT_EQ(r.error_code(), "not_found");
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("offer"), std::string::npos);
    EXPECT_TRUE(r.json()["error"]["details"].is_object());
  }
  EXPECT_EQ(count_rows("offers"), 0);
}

struct BadCase {
  const char* method;
  std::string path;  // "" for the existing offer
  std::string body;
  const char* field;  // expected details.field
};

TEST_F(OfferRoutes, BadInputIs400NamingTheFieldAndChangesNothing) {
  const json offer = create_offer(with(kOutreachOffer, "active", true));
  const std::string long_text(201, 'x');
  const json fifty_one = json(std::vector<std::string>(51, "x"));
  const std::vector<BadCase> cases{
      {"POST", "/offers", "{not json", "body"},
      {"POST", "/offers", "[1]", "body"},
      {"POST", "/offers", "", "body"},
      {"POST", "/offers", "{}", "name"},
      {"POST", "/offers", R"({"name":null})", "name"},
      {"POST", "/offers", R"({"name":5})", "name"},
      {"POST", "/offers", R"({"name":""})", "name"},
      {"POST", "/offers", R"({"name":"  "})", "name"},
      {"POST", "/offers", json{{"name", long_text}}.dump(), "name"},
      {"POST", "/offers", R"({"name":"x","colour":"red"})", "colour"},
      {"POST", "/offers", R"({"name":"x","id":3})", "id"},
      {"POST", "/offers", R"({"name":"x","created_at":"2020-01-01T00:00:00Z"})", "created_at"},
      {"POST", "/offers", R"({"name":"x","description":5})", "description"},
      {"POST", "/offers", json{{"name", "x"}, {"description", std::string(4001, 'd')}}.dump(),
       "description"},
      {"POST", "/offers", R"({"name":"x","value_props":"fast"})", "value_props"},
      {"POST", "/offers", R"({"name":"x","value_props":[1]})", "value_props"},
      {"POST", "/offers", R"({"name":"x","value_props":null})", "value_props"},
      {"POST", "/offers", R"({"name":"x","value_props":[""]})", "value_props"},
      {"POST", "/offers", json{{"name", "x"}, {"value_props", fifty_one}}.dump(), "value_props"},
      {"POST", "/offers", R"({"name":"x","ideal_use_cases":{"a":1}})", "ideal_use_cases"},
      {"POST", "/offers", R"({"name":"x","ideal_use_cases":["ok",null]})", "ideal_use_cases"},
      {"POST", "/offers", json{{"name", "x"}, {"ideal_use_cases", {long_text}}}.dump(),
       "ideal_use_cases"},
      {"POST", "/offers", R"({"name":"x","active":"yes"})", "active"},
      {"POST", "/offers", R"({"name":"x","active":1})", "active"},
      {"PUT", "", "{}", "name"},
      {"PUT", "", R"({"name":"x","active":"true"})", "active"},
      {"PUT", "", json{{"name", "x"}, {"ideal_use_cases", fifty_one}}.dump(), "ideal_use_cases"},
      {"PUT", "", R"({"name":"x","updated_at":"now"})", "updated_at"},
      {"PUT", "/offers/abc", R"({"name":"x"})", "id"},
      {"PUT", "/offers/12abc", R"({"name":"x"})", "id"},
      {"GET", "/offers/0", "", "id"},
      {"DELETE", "/offers/-1", "", "id"},
      {"GET", "/offers?limit=0", "", "limit"},
      {"GET", "/offers?cursor=zzz", "", "cursor"},
      {"GET", "/offers?active=true", "", "active"},
  };
  for (const auto& c : cases) {
    const std::string path = c.path.empty() ? offer_path(offer) : c.path;
    auto r = call(c.method, path, c.body);
    EXPECT_EQ(r.status, 400) << c.method << " " << path << " " << c.body << " -> " << r.body;
    EXPECT_EQ(r.error_code(), "validation_error") << c.body;
    EXPECT_EQ(r.json()["error"]["details"]["field"], c.field) << c.method << " " << c.body;
    EXPECT_FALSE(r.json()["error"]["message"].get<std::string>().empty());
  }
  EXPECT_EQ(count_rows("offers"), 1);
  EXPECT_EQ(call("GET", offer_path(offer)).json(), offer);  // not even updated_at moved
}

TEST_F(OfferRoutes, EveryoneReadsOnlyManagersAndAdminsWrite) {
  const json offer = create_offer(kOutreachOffer);
  for (const std::string* key : {&viewer_key, &analyst_key, &manager_key, &admin_key}) {
    EXPECT_EQ(call("GET", "/offers", "", *key).status, 200) << *key;
    EXPECT_EQ(call("GET", offer_path(offer), "", *key).status, 200) << *key;
  }
  for (const std::string* key : {&viewer_key, &analyst_key}) {
    for (auto [method, path, body] :
         {std::tuple{"POST", std::string("/offers"), kOutreachOffer.dump()},
          std::tuple{"PUT", offer_path(offer), with(kOutreachOffer, "active", true).dump()},
          std::tuple{"DELETE", offer_path(offer), std::string()}}) {
      auto r = call(method, path, body, *key);
      EXPECT_EQ(r.status, 403) << method << " " << *key << " " << r.body;
      EXPECT_EQ(r.error_code(), "forbidden");
    }
  }
  EXPECT_EQ(client->request("GET", "/offers").status, 401);
  EXPECT_EQ(count_rows("offers"), 1);
  EXPECT_EQ(call("GET", offer_path(offer)).json(), offer);
  EXPECT_EQ(call("POST", "/offers", kOutreachOffer, admin_key).status, 201);
  EXPECT_EQ(call("DELETE", offer_path(offer), "", admin_key).status, 204);
}

TEST_F(OfferRoutes, ActivatingAnOfferDeactivatesThePreviousOne) {
  const json first = create_offer(with(kOutreachOffer, "active", true));
  const json second = create_offer(with(with(kOutreachOffer, "name", "Second"), "active", true));
  EXPECT_EQ(second["active"], true);
  EXPECT_EQ(call("GET", offer_path(first)).json()["active"], false);
  EXPECT_EQ(count_rows("offers WHERE active"), 1);
  ASSERT_EQ(call("PUT", offer_path(first), with(kOutreachOffer, "active", true)).status, 200);
  EXPECT_EQ(call("GET", offer_path(second)).json()["active"], false);
  EXPECT_EQ(count_rows("offers WHERE active"), 1);
}

// Sixteen clients each activate one of eight offers at the same moment: every request
// succeeds, one offer is active, and the server's copy is that one (the next analysis records
// its id).
TEST_F(OfferRoutes, ConcurrentActivationsLeaveExactlyOneActiveAndTheCacheAgrees) {
  std::vector<std::string> paths;
  for (int i = 0; i < 8; ++i)
    paths.push_back(
        offer_path(create_offer(with(kOutreachOffer, "name", "o" + std::to_string(i)))));
  std::atomic<bool> go{false};
  std::vector<std::future<HttpResponse>> calls;
  for (int i = 0; i < 16; ++i)
    calls.push_back(std::async(std::launch::async, [&, i] {
      HttpClient c(server->port());
      while (!go) std::this_thread::yield();
      return c.request("PUT", paths[i % paths.size()], manager_key,
                       with(kOutreachOffer, "active", true).dump());
    }));
  go = true;
  for (auto& f : calls) {
    auto r = f.get();
    EXPECT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(count_rows("offers WHERE active"), 1);
  const json listed = call("GET", "/offers").json();
  json active;
  for (const auto& o : listed["items"])
    if (o["active"] == true) active = o;
  ASSERT_TRUE(active.is_object()) << listed;

  const std::string lead = saas_ceo();
  analyze(lead);
  EXPECT_EQ(analyses_when(lead, 1)[0]["features"]["offer_id"], active["id"]);
}

TEST_F(OfferRoutes, TheActiveOfferReachesEveryScorerAndIsRecorded) {
  const std::string lead = saas_ceo();
  // Each primary analysis is followed by its shadow's: wait for it, to keep the order known.
  json none = analyze(lead);
  EXPECT_DOUBLE_EQ(none["score"].get<double>(), 0.4) << none;
  EXPECT_EQ(points_of(none, kExactIcp), std::nullopt);
  ASSERT_EQ(analyses_when(lead, 2).size(), 2u);

  // That offer, active: the lead's industry is an ideal use case, +20 of 50.
  const json offer = create_offer(with(kOutreachOffer, "active", true));
  json primary = analyze(lead);
  EXPECT_EQ(primary["scorer"], "icp_fit");
  EXPECT_EQ(points_of(primary, kExactIcp), 0.4) << primary;
  EXPECT_DOUBLE_EQ(primary["score"].get<double>(), 0.8);
  EXPECT_EQ(primary["recommendation"], "transfer_to_sales");
  ASSERT_EQ(analyses_when(lead, 4).size(), 4u);
  json named = analyze(lead, "?scorer=icp_shadow");
  EXPECT_EQ(points_of(named, kExactIcp), 0.4) << named;

  json analyses = analyses_when(lead, 5);
  ASSERT_EQ(analyses.size(), 5u) << analyses;
  EXPECT_TRUE(analyses[0]["features"]["offer_id"].is_null());
  EXPECT_TRUE(analyses[1]["features"]["offer_id"].is_null());
  for (std::size_t i = 2; i < 5; ++i) {
    EXPECT_EQ(analyses[i]["features"]["offer_id"], offer["id"]) << analyses[i];
    EXPECT_EQ(points_of(analyses[i], kExactIcp), 0.4) << analyses[i];
  }
  EXPECT_EQ(analyses[3]["role"], "shadow");
  EXPECT_EQ(analyses[4]["role"], "adhoc");

  // Another ideal customer: the industry no longer fits.
  json changed = with(with(kOutreachOffer, "ideal_use_cases", {"Fintech"}), "active", true);
  ASSERT_EQ(call("PUT", offer_path(offer), changed).status, 200);
  json other = analyze(lead);
  EXPECT_EQ(points_of(other, kExactIcp), std::nullopt) << other;
  EXPECT_DOUBLE_EQ(other["score"].get<double>(), 0.4);
  ASSERT_EQ(analyses_when(lead, 7).size(), 7u);

  // The fitting offer again, but inactive: scorers see no offer at all.
  ASSERT_EQ(call("PUT", offer_path(offer), kOutreachOffer).status, 200);
  json inactive = analyze(lead);
  EXPECT_EQ(points_of(inactive, kExactIcp), std::nullopt) << inactive;
  analyses = analyses_when(lead, 9);
  ASSERT_EQ(analyses.size(), 9u);
  EXPECT_EQ(analyses[5]["features"]["offer_id"], offer["id"]);
  EXPECT_TRUE(analyses[7]["features"]["offer_id"].is_null());

  // Active once more, then deleted: gone for scorers too.
  ASSERT_EQ(call("PUT", offer_path(offer), with(kOutreachOffer, "active", true)).status, 200);
  EXPECT_EQ(points_of(analyze(lead), kExactIcp), 0.4);
  ASSERT_EQ(call("DELETE", offer_path(offer)).status, 204);
  EXPECT_EQ(points_of(analyze(lead), kExactIcp), std::nullopt);
}

// A second server on the same database, as a second process would be: its own offer cache and
// lead cache. It learns of an offer written through the first within a second, and re-reads the
// offer at most once a second however many analyses it runs.
TEST_F(OfferRoutes, AnotherServerSeesAnOfferChangeWithinASecond) {
  std::atomic<int> reads{0};
  api::OfferCache other_offers([this, &reads, read = api::OfferCache::reader_of(*db)] {
    ++reads;
    return read();
  });
  ASSERT_TRUE(other_offers.load().has_value());
  analysis::LeadCache other_leads;
  analysis::DatabaseAnalysisStore other_store(*db);
  const analysis::Analyzer other_analyzer(
      other_store, api::analyzer_parts(*live_scorers, &other_offers, &other_leads, nullptr));
  api::Server other(
      api::Services{&config, db.get(), live_scorers.get(), &keys, &other_analyzer, &other_offers},
      config.server.host);
  other.start();
  HttpClient other_client(other.port());
  auto analyze_there = [&](const std::string& lead) {
    auto r = other_client.request("POST", lead + "/analyze", manager_key);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  };
  const std::string lead = saas_ceo();
  EXPECT_EQ(points_of(analyze_there(lead), kExactIcp), std::nullopt);

  create_offer(with(kOutreachOffer, "active", true));  // through this server
  const auto written = Clock::now();
  double seen_after = -1;
  while (Clock::now() - written < std::chrono::seconds(3)) {
    if (points_of(analyze_there(lead), kExactIcp)) {
      seen_after = std::chrono::duration<double>(Clock::now() - written).count();
      break;
    }
  }
  ASSERT_GE(seen_after, 0) << "the other server never saw the offer";
  EXPECT_LE(seen_after, 1.5);

  // Analyses for 0.6 s read the offer at most once more.
  const int reads_before = reads;
  int analyses = 0;
  for (const auto start = Clock::now(); Clock::now() - start < std::chrono::milliseconds(600);
       ++analyses)
    EXPECT_EQ(points_of(analyze_there(lead), kExactIcp), 0.4);
  other.stop();
  EXPECT_GT(analyses, 20);
  EXPECT_LE(reads - reads_before, 1) << analyses << " analyses";
}

}  // namespace
}  // namespace leadscore::testing
