// Work off the reactor: a request held by the database never delays /health, nor does a read
// on the reactor that the database holds past its deadline; concurrent
// handoffs of one lead create exactly one sale; concurrent analyses of one lead all succeed,
// also while others change the lead.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <barrier>
#include <functional>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include "tests/api/api_fixture.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

class Concurrency : public ApiTest {
 protected:
  void configure(config::AppConfig& cfg) override {
    cfg.server.threads = 1;  // one reactor: every connection shares it
    // The shipped worker and connection counts, so that concurrent requests really overlap.
    cfg.server.workers = 32;
    cfg.database.pool_size = 8;
  }

  // Sends `count` requests at once, each from its own connection and thread, released
  // together; the answers in the order of `send`'s index.
  std::vector<HttpResponse> at_once(int count,
                                    const std::function<HttpResponse(HttpClient&, int)>& send) {
    std::vector<HttpResponse> answers(static_cast<std::size_t>(count));
    std::barrier start(count);
    std::vector<std::jthread> threads;
    for (int i = 0; i < count; ++i)
      threads.emplace_back([&, i] {
        HttpClient client(server->port());
        start.arrive_and_wait();
        answers[static_cast<std::size_t>(i)] = send(client, i);
      });
    threads.clear();  // joins
    return answers;
  }
};

// The created_at of every analysis in the lead's history, oldest first.
std::vector<std::string> analysis_times(const json& history) {
  std::vector<std::string> times;
  for (const json& a : history["analyses"]) times.push_back(a["created_at"].get<std::string>());
  return times;
}

TEST_F(Concurrency, HealthAnswersWhileAnotherRequestIsHeld) {
  json lead = create_lead({{"source", "manual"}});
  const std::string id = std::to_string(lead["id"].get<std::int64_t>());

  // Hold the lead's row lock from outside for 2 s, so that the stage change waits on it.
  PGconn* blocker = PQconnectdb(database_url.c_str());
  ASSERT_EQ(PQstatus(blocker), CONNECTION_OK);
  PQclear(PQexec(blocker, "BEGIN"));
  PQclear(PQexec(blocker, ("SELECT * FROM leads WHERE id = " + id + " FOR UPDATE").c_str()));

  auto held = std::async(std::launch::async, [&] {
    HttpClient other(server->port());
    return other.request("PATCH", "/leads/" + id + "/stage", manager_key,
                         R"({"stage":"contacted"})");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  HttpClient probe(server->port());
  double worst = 0;
  for (int i = 0; i < 10; ++i) {
    auto health = probe.request("GET", "/health");
    EXPECT_EQ(health.status, 200);
    worst = std::max(worst, health.seconds);
    auto read = probe.request("GET", "/leads", viewer_key);
    EXPECT_EQ(read.status, 200);
    worst = std::max(worst, read.seconds);
  }
  EXPECT_EQ(held.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "the held request should still be waiting";
  EXPECT_LT(worst, 0.05);
  std::this_thread::sleep_for(std::chrono::milliseconds(1700));
  PQclear(PQexec(blocker, "COMMIT"));
  PQfinish(blocker);
  auto r = held.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_GE(r.seconds, 1.9);
}

TEST_F(Concurrency, ReadsOnTheReactorGiveWayToALockedTable) {
  json lead = create_lead({{"source", "manual"}});
  const std::string path = "/leads/" + std::to_string(lead["id"].get<std::int64_t>());
  ASSERT_EQ(call("GET", path, "", viewer_key).status, 200);  // read on the reactor

  // A table lock from outside holds every read of the table, even one by primary key: the
  // reactor gives its read up at its deadline, a worker reads again, and the reactor serves on.
  PGconn* blocker = PQconnectdb(database_url.c_str());
  ASSERT_EQ(PQstatus(blocker), CONNECTION_OK);
  PQclear(PQexec(blocker, "BEGIN; LOCK TABLE leads IN ACCESS EXCLUSIVE MODE"));
  auto first = std::async(std::launch::async, [&] {
    HttpClient other(server->port());
    return other.request("GET", path, viewer_key);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto second = std::async(std::launch::async, [&] {
    HttpClient other(server->port());
    return other.request("GET", path, viewer_key);
  });
  HttpClient probe(server->port());
  double worst = 0;
  for (int i = 0; i < 10; ++i) {
    auto health = probe.request("GET", "/health");
    EXPECT_EQ(health.status, 200);
    worst = std::max(worst, health.seconds);
  }
  EXPECT_LT(worst, 0.05);
  EXPECT_EQ(first.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "the read should wait for the lock on a worker";
  PQclear(PQexec(blocker, "COMMIT"));
  PQfinish(blocker);
  for (auto* read : {&first, &second}) {
    auto r = read->get();
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["id"], lead["id"]);
  }
  auto count = [&](const std::string& line) {
    const std::string text = logs();
    std::size_t n = 0;
    for (auto at = text.find(line); at != std::string::npos; at = text.find(line, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("a read failed (503); a worker reads again"), 1u) << logs();
  // After the pause, on the connection a worker reconnected meanwhile.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call("GET", path, "", viewer_key).status, 200);
  EXPECT_EQ(count("a read failed"), 1u) << logs();
  EXPECT_EQ(count("connection is not ready"), 0u) << logs();
}

TEST_F(Concurrency, SixteenConcurrentTransfersCreateExactlyOneSale) {
  json lead =
      create_lead({{"source", "partner"}, {"business_domain", "saas"}, {"activity_count", 9}});
  const std::string path = "/leads/" + std::to_string(lead["id"].get<std::int64_t>());
  qualify(lead["id"]);
  ASSERT_EQ(call("POST", path + "/analyze").status, 200);

  std::atomic<bool> go{false};
  std::vector<std::future<HttpResponse>> calls;
  for (int i = 0; i < 16; ++i)
    calls.push_back(std::async(std::launch::async, [&] {
      HttpClient c(server->port());
      while (!go) std::this_thread::yield();
      return c.request("POST", path + "/transfer", manager_key);
    }));
  go = true;
  int created = 0, conflicts = 0;
  for (auto& f : calls) {
    auto r = f.get();
    if (r.status == 201) ++created;
    if (r.status == 409) ++conflicts;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(conflicts, 15);
  EXPECT_EQ(count_rows("sales"), 1);
  EXPECT_EQ(count_rows("stage_events WHERE to_stage = 'transferred'"), 1);
}

TEST_F(Concurrency, ThirtyTwoAnalysesOfOneLeadAllSucceed) {
  constexpr int kAnalyses = 32;
  json lead =
      create_lead({{"source", "partner"}, {"business_domain", "saas"}, {"activity_count", 4}});
  const std::string path = "/leads/" + std::to_string(lead["id"].get<std::int64_t>());

  auto answers = at_once(kAnalyses, [&](HttpClient& c, int) {
    return c.request("POST", path + "/analyze", manager_key);
  });

  std::set<std::string> answered_at;
  for (const auto& answer : answers) {
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.json()["score"], answers[0].json()["score"]);
    answered_at.insert(answer.json()["analyzed_at"].get<std::string>());
  }
  // Every analysis is recorded, and each answer is one of the recorded analyses.
  auto history = call("GET", path + "/history", "", viewer_key).json();
  const auto times = analysis_times(history);
  ASSERT_EQ(times.size(), std::size_t{kAnalyses});
  EXPECT_EQ(answered_at, std::set<std::string>(times.begin(), times.end()));
  // The lead holds the result of the last analysis recorded.
  auto stored = call("GET", path, "", viewer_key).json();
  EXPECT_EQ(stored["ai_analyzed_at"], times.back());
  EXPECT_EQ(stored["ai_score"], history["analyses"].back()["score"]);
  EXPECT_EQ(stored["ai_score"], answers[0].json()["score"]);
}

TEST_F(Concurrency, AnalysesRacingChangesOfTheLeadAreRetriedNotRefused) {
  constexpr int kAnalyzers = 16, kAnalysesEach = 4;
  constexpr int kChangers = 8, kChangesEach = 20;  // half activity, half profile edits
  json lead = create_lead({{"source", "scanner"}, {"business_domain", "fintech"}});
  const std::string path = "/leads/" + std::to_string(lead["id"].get<std::int64_t>());

  std::vector<std::vector<HttpResponse>> analyses(kAnalyzers), changes(kChangers);
  at_once(kAnalyzers + kChangers, [&](HttpClient& c, int i) {
    if (i < kAnalyzers) {
      for (int n = 0; n < kAnalysesEach; ++n)
        analyses[i].push_back(c.request("POST", path + "/analyze", manager_key));
    } else {
      auto& mine = changes[i - kAnalyzers];
      for (int n = 0; n < kChangesEach; ++n)
        mine.push_back(n % 2 == 0
                           ? c.request("POST", path + "/activity", manager_key, "{}")
                           : c.request("PATCH", path, manager_key,
                                       json{{"company", "Acme " + std::to_string(i * 100 + n)}}));
    }
    return HttpResponse{};
  });

  std::set<std::string> answered_at;
  for (const auto& mine : analyses)
    for (const auto& answer : mine) {
      ASSERT_EQ(answer.status, 200) << answer.body;  // never 409, never given up
      answered_at.insert(answer.json()["analyzed_at"].get<std::string>());
    }
  for (const auto& mine : changes)
    for (const auto& answer : mine) ASSERT_EQ(answer.status, 200) << answer.body;

  auto history = call("GET", path + "/history", "", viewer_key).json();
  const auto times = analysis_times(history);
  ASSERT_EQ(times.size(), std::size_t{kAnalyzers * kAnalysesEach});
  EXPECT_EQ(answered_at, std::set<std::string>(times.begin(), times.end()));
  // Each analysis was stored only on the lead as it scored it: in the order they were stored,
  // the activity they saw never goes back.
  std::int64_t seen_activity = 0;
  for (const json& a : history["analyses"]) {
    const auto activity = a["features"]["activity_count"].get<std::int64_t>();
    EXPECT_GE(activity, seen_activity) << a.dump();
    seen_activity = activity;
  }
  auto stored = call("GET", path, "", viewer_key).json();
  EXPECT_EQ(stored["activity_count"], kChangers * kChangesEach / 2);
  EXPECT_EQ(stored["ai_analyzed_at"], times.back());
  EXPECT_EQ(stored["ai_score"], history["analyses"].back()["score"]);
}

}  // namespace
}  // namespace leadscore::testing
