// Background scoring jobs over real HTTP: a job from creation to done (each lead scored once,
// through the analysis pipeline, with the job as the actor), progress, listing, cancel,
// resume, bad input naming its field, and who may do what.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/api/api_fixture.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class JobRoutes : public ApiTest {
 protected:
  void configure(config::AppConfig& c) override {
    c.jobs.batch_size = 8;
    c.jobs.poll_ms = 50;
  }

  std::int64_t create_job(const json& body) {
    auto r = call("POST", "/jobs/score", body);
    EXPECT_EQ(r.status, 202) << r.body;
    return r.json().value("id", std::int64_t{0});
  }

  // The job once its status is no longer queued or running (or after 30 s).
  json finished(std::int64_t id) {
    json job;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    do {
      job = call("GET", "/jobs/" + std::to_string(id), "", viewer_key).json();
      if (job["status"] != "queued" && job["status"] != "running") break;
      std::this_thread::sleep_for(20ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return job;
  }

  std::int64_t count(const std::string& from_where) { return count_rows(from_where); }
};

// A server whose runners are off: jobs stay queued until cancelled.
class IdleJobRoutes : public JobRoutes {
 protected:
  void configure(config::AppConfig& c) override { c.jobs.runners = 0; }
};

TEST_F(JobRoutes, ScoresEveryUnscoredLeadOnceThroughThePipeline) {
  for (int i = 0; i < 40; ++i) create_lead({{"source", i % 2 ? "partner" : "manual"}});
  const json scored = create_lead({{"source", "manual"}});
  ASSERT_EQ(call("POST", "/leads/" + std::to_string(scored["id"].get<int>()) + "/analyze").status,
            200);

  auto created = call("POST", "/jobs/score", json{{"filter", {{"unscored", true}}}});
  ASSERT_EQ(created.status, 202) << created.body;
  EXPECT_EQ(created.json()["total"], 40);
  const auto id = created.json()["id"].get<std::int64_t>();
  const json job = finished(id);
  EXPECT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["done"], 40);
  EXPECT_EQ(job["failed"], 0);
  EXPECT_EQ(job["created_by"], "manager");
  EXPECT_EQ(job["filter"], json({{"unscored", true}}));
  EXPECT_TRUE(job["scorer"].is_null());
  EXPECT_TRUE(job["started_at"].is_string());
  EXPECT_TRUE(job["finished_at"].is_string());
  EXPECT_GT(job["rate"].get<double>(), 0);
  EXPECT_TRUE(job["eta_seconds"].is_null());

  const std::string actor = "job " + std::to_string(id) + " (manager)";
  EXPECT_EQ(count("analyses WHERE actor = '" + actor + "'"), 40);
  EXPECT_EQ(count("(SELECT lead_id FROM analyses WHERE actor = '" + actor +
                  "' GROUP BY lead_id HAVING count(*) > 1) AS twice"),
            0);
  EXPECT_EQ(count("leads WHERE ai_score IS NULL"), 0);
}

TEST_F(JobRoutes, ANamedScorerRunsAdHoc) {
  for (int i = 0; i < 5; ++i) create_lead({{"source", "manual"}});
  const auto id = create_job({{"filter", json::object()}, {"scorer", "heuristic"}});
  const json job = finished(id);
  EXPECT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["scorer"], "heuristic");
  EXPECT_EQ(job["done"], 5);
}

TEST_F(JobRoutes, ListsJobsPagedLikeLeads) {
  create_job({{"filter", json::object()}});
  create_job({{"filter", {{"source", "scanner"}}}});
  auto first = call("GET", "/jobs?limit=1", "", viewer_key);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(first.json()["items"].size(), 1u);
  ASSERT_TRUE(first.json()["next_cursor"].is_string());
  auto second =
      call("GET", "/jobs?limit=1&cursor=" + first.json()["next_cursor"].get<std::string>(), "",
           viewer_key);
  ASSERT_EQ(second.json()["items"].size(), 1u);
  EXPECT_EQ(second.json()["items"][0]["filter"], json({{"source", "scanner"}}));
  EXPECT_EQ(call("GET", "/jobs/999", "", viewer_key).status, 404);
}

TEST_F(JobRoutes, BadInputIsRefusedNamingTheField) {
  auto field_of = [&](const std::string& body) {
    auto r = call("POST", "/jobs/score", body);
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
    EXPECT_EQ(r.error_code(), "validation_error") << r.body;
    return r.json()["error"]["details"].value("field", std::string());
  };
  EXPECT_EQ(field_of("{}"), "filter");
  EXPECT_EQ(field_of(R"({"filter": []})"), "filter");
  EXPECT_EQ(field_of(R"({"filter": {"stage": "won"}})"), "filter.stage");
  EXPECT_EQ(field_of(R"({"filter": {"stage": 1}})"), "filter.stage");
  EXPECT_EQ(field_of(R"({"filter": {"source": "nowhere"}})"), "filter.source");
  EXPECT_EQ(field_of(R"({"filter": {"min_score": "0.5"}})"), "filter.min_score");
  EXPECT_EQ(field_of(R"({"filter": {"max_score": 2}})"), "filter.max_score");
  EXPECT_EQ(field_of(R"({"filter": {"min_score": 0.8, "max_score": 0.2}})"), "filter.min_score");
  EXPECT_EQ(field_of(R"({"filter": {"recommendation": "maybe"}})"), "filter.recommendation");
  EXPECT_EQ(field_of(R"({"filter": {"unscored": "yes"}})"), "filter.unscored");
  EXPECT_EQ(field_of(R"({"filter": {}, "scorer": "oracle"})"), "scorer");
  EXPECT_EQ(field_of(R"({"filter": {}, "scorer": 3})"), "scorer");
  EXPECT_EQ(call("POST", "/jobs/score", R"({"filter": {"colour": "red"}})").status, 400);
  EXPECT_EQ(call("POST", "/jobs/score", R"({"filter": {}, "priority": 1})").status, 400);
  EXPECT_EQ(call("POST", "/jobs/score", "not json").status, 400);
  EXPECT_EQ(call("GET", "/jobs/abc", "", viewer_key).status, 400);
  EXPECT_EQ(count_rows("jobs"), 0);
}

TEST_F(JobRoutes, ViewersReadJobsAndManagersRunThem) {
  const json body{{"filter", json::object()}};
  EXPECT_EQ(call("POST", "/jobs/score", body, viewer_key).status, 403);
  EXPECT_EQ(call("POST", "/jobs/score", body, analyst_key).status, 403);
  EXPECT_EQ(client->request("POST", "/jobs/score", "", body.dump()).status, 401);
  const auto id = create_job(body);
  const std::string path = "/jobs/" + std::to_string(id);
  EXPECT_EQ(call("GET", path, "", viewer_key).status, 200);
  EXPECT_EQ(call("GET", "/jobs", "", viewer_key).status, 200);
  EXPECT_EQ(call("DELETE", path, "", viewer_key).status, 403);
  EXPECT_EQ(call("POST", path + "/resume", "", viewer_key).status, 403);
  EXPECT_EQ(call("POST", "/jobs/score", body, admin_key).status, 202);
}

TEST_F(IdleJobRoutes, CancelStopsAQueuedJobOnce) {
  for (int i = 0; i < 3; ++i) create_lead({{"source", "manual"}});
  const auto id = create_job({{"filter", json::object()}});
  const std::string path = "/jobs/" + std::to_string(id);
  EXPECT_EQ(call("GET", path, "", viewer_key).json()["status"], "queued");
  auto cancelled = call("DELETE", path);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(cancelled.json()["status"], "cancelled");
  EXPECT_EQ(cancelled.json()["done"], 0);
  auto again = call("DELETE", path);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.error_code(), "conflict");
  EXPECT_EQ(call("POST", path + "/resume").status, 409);
  EXPECT_EQ(call("DELETE", "/jobs/999").status, 404);
  EXPECT_EQ(call("POST", "/jobs/999/resume").status, 404);
}

TEST_F(IdleJobRoutes, ResumeContinuesAnInterruptedJob) {
  for (int i = 0; i < 3; ++i) create_lead({{"source", "manual"}});
  const auto id = create_job({{"filter", json::object()}});
  // As a server that went away leaves it.
  execute_sql("UPDATE jobs SET status = 'interrupted'");
  const std::string path = "/jobs/" + std::to_string(id);
  ASSERT_EQ(call("GET", path, "", viewer_key).json()["status"], "interrupted");
  auto resumed = call("POST", path + "/resume");
  ASSERT_EQ(resumed.status, 202) << resumed.body;
  EXPECT_EQ(resumed.json()["status"], "running");
  EXPECT_EQ(call("POST", path + "/resume").status, 409);
}

}  // namespace
}  // namespace leadscore::testing
