// Background scoring jobs across processes: two `leadscore serve` on one database share one
// job and score every lead exactly once; a server killed in the middle of a job (SIGKILL)
// leaves it interrupted, and resuming it scores only the leads not yet scored.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/support/served_leadscore.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kLeads = 2000;

ServedLeadscore::Options job_server(const std::optional<std::string>& database_url = {}) {
  ServedLeadscore::Options options;
  options.env["LEADSCORE_CONFIG"] =
      std::string(LEADSCORE_SOURCE_DIR) + "/tests/api/jobs_served.yaml";
  options.database_url = database_url;
  return options;
}

std::string request(const std::string& method, const std::string& path, const std::string& key,
                    const std::string& type = "", const std::string& body = "") {
  std::string text =
      method + " " + path + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + key + "\r\n";
  if (!type.empty()) text += "Content-Type: " + type + "\r\n";
  return text + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

json call(const ServedLeadscore& s, const std::string& method, const std::string& path,
          const std::string& type = "", const std::string& body = "") {
  const auto answer = raw_exchange(s.port(), request(method, path, s.admin_key(), type, body), 30s);
  return json::parse(body_of(answer), nullptr, false);
}

// The first column of the first row of `sql` on `url`, as a number.
std::int64_t number(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  PGresult* res = PQexec(conn, sql.c_str());
  std::int64_t n = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0
                       ? std::stoll(PQgetvalue(res, 0, 0))
                       : -1;
  PQclear(res);
  PQfinish(conn);
  return n;
}

void import_leads(const ServedLeadscore& s) {
  std::string csv = "source,name\n";
  for (int i = 0; i < kLeads; ++i) csv += "manual,Lead " + std::to_string(i) + "\n";
  const json imported = call(s, "POST", "/leads/import", "text/csv", csv);
  ASSERT_EQ(imported.value("created", 0), kLeads) << imported.dump();
}

// The job once `until` holds of it, or after 60 s.
template <typename Until>
json wait_for(const ServedLeadscore& s, std::int64_t id, Until until) {
  json job;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  do {
    job = call(s, "GET", "/jobs/" + std::to_string(id));
    if (until(job)) break;
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return job;
}

// Each selected lead has exactly one stored analysis by the job.
void expect_each_lead_scored_once(const std::string& url, std::int64_t id) {
  const std::string actor = "'job " + std::to_string(id) + " (admin)'";
  EXPECT_EQ(number(url, "SELECT count(DISTINCT lead_id) FROM analyses WHERE actor = " + actor +
                            " AND result IS NOT NULL"),
            kLeads);
  EXPECT_EQ(number(url, "SELECT count(*) FROM (SELECT lead_id FROM analyses WHERE actor = " +
                            actor + " GROUP BY lead_id HAVING count(*) > 1) AS twice"),
            0);
  EXPECT_EQ(number(url, "SELECT count(*) FROM leads WHERE ai_score IS NULL"), 0);
}

TEST(ServedJobs, TwoServersShareOneJobAndScoreEachLeadOnce) {
  ServedLeadscore a(job_server());
  ServedLeadscore b(job_server(a.database_url()));
  import_leads(a);
  const json created =
      call(a, "POST", "/jobs/score", "application/json", R"({"filter": {"unscored": true}})");
  ASSERT_EQ(created.value("total", 0), kLeads) << created.dump();
  const auto id = created["id"].get<std::int64_t>();
  const json job = wait_for(a, id, [](const json& j) { return j["status"] == "done"; });
  ASSERT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["done"], kLeads);
  EXPECT_EQ(job["failed"], 0);
  expect_each_lead_scored_once(a.database_url(), id);
  // Both servers claimed leads of it.
  EXPECT_EQ(number(a.database_url(),
                   "SELECT count(DISTINCT split_part(claimed_by, ':', 2)) FROM job_batches"),
            2);
  EXPECT_EQ(call(b, "GET", "/jobs/" + std::to_string(id))["done"], kLeads);
}

TEST(ServedJobs, AKilledServersJobIsInterruptedAndResumesWithoutScoringTwice) {
  std::string url;
  std::int64_t id = 0;
  {
    ServedLeadscore a(job_server());
    url = a.database_url();
    import_leads(a);
    const json created = call(a, "POST", "/jobs/score", "application/json", R"({"filter": {}})");
    ASSERT_EQ(created.value("total", 0), kLeads) << created.dump();
    id = created["id"].get<std::int64_t>();
    const json half = wait_for(a, id, [](const json& j) { return j.value("done", 0) >= 300; });
    ASSERT_EQ(half["status"], "running") << half.dump();
    a.kill_now();
  }
  const auto stopped_at = number(url, "SELECT done FROM jobs");
  ASSERT_LT(stopped_at, kLeads);
  std::this_thread::sleep_for(1500ms);  // past the lease: no server is running the job

  ServedLeadscore b(job_server(url));
  const std::string path = "/jobs/" + std::to_string(id);
  EXPECT_EQ(call(b, "GET", path)["status"], "interrupted");
  EXPECT_NE(b.log().find("interrupted"), std::string::npos);
  const json resumed = call(b, "POST", path + "/resume");
  ASSERT_EQ(resumed["status"], "running") << resumed.dump();
  const json job = wait_for(b, id, [](const json& j) { return j["status"] == "done"; });
  ASSERT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["done"], kLeads);
  EXPECT_EQ(job["failed"], 0);
  expect_each_lead_scored_once(url, id);
}

}  // namespace
}  // namespace leadscore::testing
