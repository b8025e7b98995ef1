// Work off the reactor: a request held by the database never delays /health; concurrent
// handoffs of one lead create exactly one sale.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <future>
#include <thread>

#include "tests/api/api_fixture.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

class Concurrency : public ApiTest {
 protected:
  void configure(config::AppConfig& cfg) override {
    cfg.server.threads = 1;  // one reactor: every connection shares it
  }
};

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
    return other.request("PATCH", "/leads/" + id + "/stage", manager_key, R"({"stage":"contacted"})");
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

TEST_F(Concurrency, SixteenConcurrentTransfersCreateExactlyOneSale) {
  json lead = create_lead({{"source", "partner"}, {"business_domain", "saas"}, {"activity_count", 9}});
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

}  // namespace
}  // namespace leadscore::testing
