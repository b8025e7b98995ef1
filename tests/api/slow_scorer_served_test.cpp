// The real binary with a slow scorer (a plugin flagged LS_PLUGIN_SLOW): `leadscore serve` builds
// the slow-scorer pool, a hanging run is answered by its fallback before the connection's header
// timeout while /health answers at once, and a stop waits for the plugin call still running.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/support/served_leadscore.h"

namespace leadscore::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string request(const std::string& method, const std::string& path, const std::string& key,
                    const std::string& body = "") {
  return method + " " + path + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + key +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// A config whose primary, `llm`, takes 2500 ms and falls back to the heuristic.
std::string slow_config(const std::string& server) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("leadscore-slow-" + std::to_string(::getpid()) + ".yaml"))
                               .string();
  std::ofstream(path) << server
                      << "scoring:\n"
                         "  primary: llm\n"
                         "  scorers:\n"
                         "    heuristic:\n"
                         "      plugin: heuristic\n"
                         "    llm:\n"
                         "      plugin: " TEST_PLUGIN_DIR
                         "/test_slow.so\n"
                         "      params: {sleep_ms: 2500}\n"
                         "      fallback: heuristic\n";
  return path;
}

std::int64_t create_lead(const ServedLeadscore& served) {
  const std::string created = raw_exchange(
      served.port(), request("POST", "/leads", served.admin_key(), R"({"source":"partner"})"));
  EXPECT_EQ(status_of(created), 201) << created;
  const auto body = nlohmann::json::parse(body_of(created), nullptr, false);
  return body.is_object() ? body.value("id", std::int64_t{0}) : 0;
}

TEST(SlowScorerServed, AHangingRunIsAnsweredByItsFallbackBeforeTheHeaderTimeout) {
  const std::string path =
      slow_config("server: {header_timeout_ms: 4000, request_timeout_ms: 2000}\n");
  ServedLeadscore::Options options;
  options.env["LEADSCORE_CONFIG"] = path;
  ServedLeadscore served(options);
  const std::string key = served.admin_key();
  const std::int64_t id = create_lead(served);

  std::string analyzed;
  double analyzed_ms = 0;
  std::thread analysis([&] {
    const auto start = Clock::now();
    analyzed = raw_exchange(served.port(),
                            request("POST", "/leads/" + std::to_string(id) + "/analyze", key), 10s);
    analyzed_ms = ms_since(start);
  });
  std::this_thread::sleep_for(300ms);
  const auto start = Clock::now();
  const std::string health = raw_exchange(served.port(), "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
  const double health_ms = ms_since(start);
  analysis.join();

  EXPECT_EQ(status_of(health), 200);
  EXPECT_LT(health_ms, 50.0);
  ASSERT_EQ(status_of(analyzed), 200) << analyzed;  // never the header timeout's 408
  const auto body = nlohmann::json::parse(body_of(analyzed));
  EXPECT_EQ(body["scorer"], "heuristic");
  EXPECT_EQ(body["fallback_from"]["scorer"], "llm");
  EXPECT_GT(analyzed_ms, 1500.0);
  EXPECT_LT(analyzed_ms, 3000.0);
  std::printf(
      "[ measured ] served: a hanging slow run answered by its fallback after %.0f ms "
      "(header timeout 4000 ms); /health beside it %.1f ms\n",
      analyzed_ms, health_ms);

  // The plugin call given up on still runs; a stop waits for it, then the server exits.
  const auto [status, took] = served.terminate(5s);
  EXPECT_EQ(status, 0) << served.log();
  EXPECT_NE(served.log().find("slow-scorer pool: 8 threads, 8 queued runs"), std::string::npos)
      << served.log();
  std::remove(path.c_str());
}

TEST(SlowScorerServed, AStopEndsTheWaitForASlowRunAtOnce) {
  // The default timeouts: a slow run would be waited for up to 28 s.
  const std::string path = slow_config("");
  ServedLeadscore::Options options;
  options.env["LEADSCORE_CONFIG"] = path;
  ServedLeadscore served(options);
  const std::int64_t id = create_lead(served);
  std::string analyzed;
  std::thread analysis([&] {
    analyzed = raw_exchange(
        served.port(),
        request("POST", "/leads/" + std::to_string(id) + "/analyze", served.admin_key()), 30s);
  });
  std::this_thread::sleep_for(300ms);
  // The worker stops waiting at once; the stop then waits only for the plugin call running.
  const auto [status, took] = served.terminate(10s);
  analysis.join();
  EXPECT_EQ(status, 0) << served.log();
  EXPECT_LT(took, 4s) << served.log();
  const int answered = status_of(analyzed);
  EXPECT_TRUE(answered == 200 || answered == 503 || answered == 0) << analyzed;
  std::printf("[ measured ] a stop with a slow run in flight took %lld ms (answer %d)\n",
              static_cast<long long>(took.count()), answered);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace leadscore::testing
