// Operating leadscore over the API: GET /metrics counts what happened (requests by route
// template, analyses by scorer and outcome, LLM-free scorers' latency), bounded labels, the
// switch that turns it off; the request log as JSON lines; request ids stored on the analyses
// and stage events a request caused.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <thread>

#include "api/http_metrics.h"
#include "api/request_log.h"
#include "tests/api/api_fixture.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

// `flaky` (the test plugin: fails for source "error") decides, falling back to the heuristic;
// `lonely` (the same plugin) has no fallback.
constexpr const char* kScorersYaml =
    "sources: [scanner, partner, manual, ok, error]\n"
    "scoring:\n"
    "  primary: flaky\n"
    "  scorers:\n"
    "    heuristic:\n"
    "      plugin: heuristic\n"
    "    flaky:\n"
    "      plugin: " TEST_PLUGIN_DIR
    "/test_good.so\n"
    "      fallback: heuristic\n"
    "    lonely:\n"
    "      plugin: " TEST_PLUGIN_DIR "/test_good.so\n";

// The value of the sample `series` (its name and labels exactly as rendered) in a scrape;
// 0 when the scrape has none.
double sample(const std::string& scrape, const std::string& series) {
  std::istringstream lines(scrape);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(series + " ")) continue;
    double value = 0;
    const std::string text = line.substr(series.size() + 1);
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
  }
  return 0;
}

// The names of the label sets of `metric` in a scrape (each sample line's `{...}`).
std::vector<std::string> label_sets(const std::string& scrape, const std::string& metric) {
  std::vector<std::string> sets;
  std::istringstream lines(scrape);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(metric + "{")) sets.push_back(line.substr(0, line.rfind(' ')));
  return sets;
}

std::string analyses_series(const std::string& scorer, const std::string& version,
                            const std::string& outcome) {
  return "leadscore_analyses_total{scorer=\"" + scorer + "\",scorer_version=\"" + version +
         "\",outcome=\"" + outcome + "\"}";
}

class Metrics : public ApiTest {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "leadscore_metrics_" + std::to_string(::getpid()) + ".yaml";
    std::ofstream(path_) << kScorersYaml;
    ApiTest::SetUp();
  }
  void TearDown() override {
    ApiTest::TearDown();
    std::remove(path_.c_str());
  }
  std::string config_path() const override { return path_; }

  std::string scrape() {
    auto r = client->request("GET", "/metrics");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  json analyze(std::int64_t id, const std::string& query = "") {
    auto r = call("POST", "/leads/" + std::to_string(id) + "/analyze" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }

  std::string path_;
};

TEST_F(Metrics, ServedInPrometheusTextFormatWithoutAKey) {
  auto r = client->request("GET", "/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("# HELP leadscore_http_requests_total "), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE leadscore_http_requests_total counter"), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE leadscore_http_request_duration_seconds histogram"),
            std::string::npos);
  EXPECT_NE(r.body.find("# TYPE leadscore_db_pool_connections gauge"), std::string::npos);
  EXPECT_NE(r.body.find("leadscore_build_info{version=\""), std::string::npos);
  EXPECT_GE(sample(r.body, "leadscore_db_pool_connections"), config.database.pool_size);
}

TEST_F(Metrics, CountsEveryAnalysisUnderItsScorerAndOutcome) {
  const std::int64_t ok = create_lead({{"source", "ok"}})["id"];
  const std::string version = analyze(ok)["scorer_version"];
  const std::string before = scrape();
  constexpr int kAnalyses = 5;
  for (int i = 0; i < kAnalyses; ++i) analyze(ok);
  const std::string after = scrape();
  const auto delta = [&](const std::string& series) {
    return sample(after, series) - sample(before, series);
  };
  EXPECT_EQ(delta(analyses_series("flaky", version, "ok")), kAnalyses);
  EXPECT_EQ(delta(analyses_series("flaky", version, "failed")), 0);
  EXPECT_EQ(delta("leadscore_scorer_run_duration_seconds_count{scorer=\"flaky\"}"), kAnalyses);
  EXPECT_EQ(delta("leadscore_http_requests_total{route=\"/leads/{id}/analyze\",method=\"POST\","
                  "status=\"200\"}"),
            kAnalyses);
}

TEST_F(Metrics, AFailedRunAndTheFallbackThatAnsweredAreCountedApart) {
  const std::int64_t id = create_lead({{"source", "error"}})["id"];
  const std::string before = scrape();
  const json answer = analyze(id);
  ASSERT_EQ(answer["scorer"], "heuristic");
  const std::string heuristic_version = answer["scorer_version"];
  // lonely has no fallback: its failure answers 503.
  EXPECT_EQ(call("POST", "/leads/" + std::to_string(id) + "/analyze?scorer=lonely").status, 503);
  const json runs = call("GET", "/leads/" + std::to_string(id) + "/history").json()["analyses"];
  ASSERT_EQ(runs.size(), 3u) << runs.dump();  // flaky failed, the heuristic answered, lonely failed
  const std::string flaky_version = runs[0]["scorer_version"];
  const std::string lonely_version = runs[2]["scorer_version"];
  const std::string after = scrape();
  const auto delta = [&](const std::string& series) {
    return sample(after, series) - sample(before, series);
  };
  EXPECT_EQ(delta(analyses_series("flaky", flaky_version, "failed")), 1);
  EXPECT_EQ(delta(analyses_series("heuristic", heuristic_version, "fell_back")), 1);
  EXPECT_EQ(delta(analyses_series("heuristic", heuristic_version, "ok")), 0);
  EXPECT_EQ(delta(analyses_series("lonely", lonely_version, "failed")), 1);
  EXPECT_EQ(delta("leadscore_http_requests_total{route=\"/leads/{id}/analyze\",method=\"POST\","
                  "status=\"503\"}"),
            1);
}

TEST_F(Metrics, A404OfAKnownRouteCountsUnderItsTemplate) {
  const std::string series =
      "leadscore_http_requests_total{route=\"/leads/{id}\",method=\"GET\",status=\"404\"}";
  const double before = sample(scrape(), series);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(call("GET", "/leads/" + std::to_string(900000 + i)).status, 404);
  const std::string after = scrape();
  EXPECT_EQ(sample(after, series) - before, 3);
  EXPECT_EQ(after.find("/leads/900000"), std::string::npos);
}

TEST_F(Metrics, UnknownPathsAddNoLabels) {
  call("GET", "/no-such-route-0");
  const std::string before = scrape();
  const auto sets_before = label_sets(before, "leadscore_http_requests_total");
  for (int i = 1; i <= 5; ++i)
    EXPECT_EQ(call("GET", "/no-such-route-" + std::to_string(i)).status, 404);
  const std::string after = scrape();
  const auto sets_after = label_sets(after, "leadscore_http_requests_total");
  // The scrape itself may add its own series (GET /metrics 200) once; nothing else is new.
  for (const auto& set : sets_after)
    EXPECT_TRUE(std::ranges::find(sets_before, set) != sets_before.end() ||
                set.find("/metrics") != std::string::npos)
        << set;
  EXPECT_EQ(after.find("no-such-route"), std::string::npos);
  const std::string unmatched =
      "leadscore_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}";
  EXPECT_EQ(sample(after, unmatched) - sample(before, unmatched), 5);
}

TEST_F(Metrics, AFamilyKeepsAtMostItsCapacityOfLabelSets) {
  metrics::CounterFamily family(
      "test_bounded_total", "A test family.", {"name"},
      [] { return std::make_unique<metrics::Counter>(); }, 4);
  for (int i = 0; i < 10; ++i) family.with({"n" + std::to_string(i)}).inc();
  std::string out;
  family.render(out);
  EXPECT_EQ(label_sets(out, "test_bounded_total").size(), 5u) << out;  // 4 and "other"
  EXPECT_EQ(sample(out, "test_bounded_total{name=\"other\"}"), 6);
}

// A background job's analyses carry "job:<id>" as their request id, and its leads are counted.
class JobMetrics : public ApiTest {
 protected:
  void configure(config::AppConfig& c) override {
    c.jobs.batch_size = 4;
    c.jobs.poll_ms = 50;
  }
};

TEST_F(JobMetrics, AJobsAnalysesCarryItsIdAndItsLeadsAreCounted) {
  std::vector<std::int64_t> leads;
  for (int i = 0; i < 6; ++i) leads.push_back(create_lead({{"source", "partner"}})["id"]);
  const auto scrape_now = [&] { return client->request("GET", "/metrics").body; };
  const std::string done_series = "leadscore_job_leads_total{outcome=\"done\"}";
  const double before = sample(scrape_now(), done_series);
  auto created = call("POST", "/jobs/score", json{{"filter", {{"unscored", true}}}});
  ASSERT_EQ(created.status, 202) << created.body;
  const std::int64_t job = created.json()["id"];
  json status;
  for (int i = 0; i < 1500; ++i) {
    status = call("GET", "/jobs/" + std::to_string(job)).json();
    if (status["status"] != "queued" && status["status"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(status["status"], "done") << status.dump();
  for (std::int64_t id : leads) {
    const json history = call("GET", "/leads/" + std::to_string(id) + "/history").json();
    ASSERT_EQ(history["analyses"].size(), 1u) << history.dump();
    EXPECT_EQ(history["analyses"][0]["request_id"], "job:" + std::to_string(job));
  }
  EXPECT_EQ(sample(scrape_now(), done_series) - before, 6);
  // The runner marks the job done, then leaves it: running again reads 0 soon after.
  double running = 1;
  for (int i = 0; i < 100 && running != 0; ++i) {
    running = sample(scrape_now(), "leadscore_jobs_running");
    if (running != 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(running, 0);
}

class MetricsOff : public ApiTest {
 protected:
  void configure(config::AppConfig& c) override { c.metrics.enabled = false; }
};

TEST_F(MetricsOff, TheScrapeAnswers404) {
  auto r = call("GET", "/metrics");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("metrics.enabled"), std::string::npos) << r.body;
}

// The request log as JSON lines, through the formatter the server installs.
class JsonRequestLog : public ApiTest {
 protected:
  void configure(config::AppConfig& c) override { c.log.format = "json"; }
  void SetUp() override {
    ApiTest::SetUp();
    spdlog::default_logger()->set_formatter(api::log_formatter(api::LogFormat::Json));
  }
  // Every line logged so far, parsed; fails the test on a line that is not a JSON object.
  std::vector<json> lines() {
    std::vector<json> out;
    std::istringstream text(logs());
    for (std::string line; std::getline(text, line);) {
      json parsed = json::parse(line, nullptr, false);
      EXPECT_TRUE(parsed.is_object()) << line;
      if (parsed.is_object()) out.push_back(std::move(parsed));
    }
    return out;
  }
  // The request line of `request_id`; null when there is none yet.
  json request_line(const std::string& request_id) {
    for (int i = 0; i < 100; ++i) {
      for (json& line : lines())
        if (line.value("msg", "") == "request" && line.value("request_id", "") == request_id)
          return line;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return nullptr;
  }
};

TEST_F(JsonRequestLog, EachRequestIsOneJsonLineWithItsFieldsAndNeverTheKey) {
  const std::int64_t id = create_lead({{"source", "scanner"}})["id"];
  auto r = call("GET", "/leads/" + std::to_string(id));
  ASSERT_EQ(r.status, 200);
  const json line = request_line(r.headers["x-request-id"]);
  ASSERT_TRUE(line.is_object()) << logs();
  EXPECT_EQ(line["method"], "GET");
  EXPECT_EQ(line["route"], "/leads/{id}");
  EXPECT_EQ(line["path"], "/leads/" + std::to_string(id));
  EXPECT_EQ(line["status"], 200);
  EXPECT_TRUE(line["latency_ms"].is_number());
  EXPECT_EQ(line["key"], "manager");
  EXPECT_EQ(line["level"], "info");
  EXPECT_TRUE(line["time"].is_string());

  auto refused = call("GET", "/leads", "", "lsk_not_a_key_at_all");
  EXPECT_EQ(refused.status, 401);
  const json refusal = request_line(refused.headers["x-request-id"]);
  ASSERT_TRUE(refusal.is_object()) << logs();
  EXPECT_EQ(refusal["status"], 401);
  EXPECT_TRUE(refusal["key"].is_null());

  const std::string all = logs();
  for (const std::string& key : {manager_key, std::string("lsk_not_a_key_at_all")})
    EXPECT_EQ(all.find(key), std::string::npos) << "the key " << key << " was logged";
}

TEST_F(JsonRequestLog, AnErrorLineCarriesItsRequestId) {
  // An internal error: the history's table has gone.
  const std::int64_t id = create_lead({{"source", "scanner"}})["id"];
  execute_sql("ALTER TABLE analyses RENAME TO analyses_gone");
  auto r = call("GET", "/leads/" + std::to_string(id) + "/history");
  ASSERT_EQ(r.status, 500) << r.body;
  const std::string rid = r.headers.at("x-request-id");
  bool found = false;
  for (int i = 0; i < 100 && !found; ++i) {
    for (const json& line : lines())
      found = found || (line["level"] == "error" && line.value("request_id", "") == rid &&
                        line.value("msg", "").find("analyses") != std::string::npos);
    if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(found) << logs();
}

TEST_F(JsonRequestLog, TheRequestIdOnTheStoredAnalysisIsTheAnswersHeader) {
  auto created = client->request("POST", "/leads", manager_key, R"({"source":"scanner"})",
                                 {{"X-Request-Id", "made-by-client.7"}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.headers["x-request-id"], "made-by-client.7");
  const std::int64_t id = created.json()["id"];
  const std::string path = "/leads/" + std::to_string(id);
  auto moved = call("PATCH", path + "/stage", json{{"stage", "contacted"}});
  ASSERT_EQ(moved.status, 200);
  auto analyzed = call("POST", path + "/analyze");
  ASSERT_EQ(analyzed.status, 200);
  // An id a client sends that is not sane is replaced.
  auto insane = client->request("POST", path + "/analyze", manager_key, "",
                                {{"X-Request-Id", "has spaces and \"quotes\""}});
  ASSERT_EQ(insane.status, 200);
  EXPECT_NE(insane.headers["x-request-id"], "has spaces and \"quotes\"");

  const json history = call("GET", path + "/history").json();
  ASSERT_EQ(history["stage_events"].size(), 2u) << history.dump();
  EXPECT_EQ(history["stage_events"][0]["request_id"], "made-by-client.7");
  EXPECT_EQ(history["stage_events"][1]["request_id"], moved.headers["x-request-id"]);
  ASSERT_GE(history["analyses"].size(), 2u) << history.dump();
  EXPECT_EQ(history["analyses"][0]["request_id"], analyzed.headers["x-request-id"]);
  EXPECT_EQ(history["analyses"][1]["request_id"], insane.headers["x-request-id"]);
}

}  // namespace
}  // namespace leadscore::testing
