// The real binary's scrape and log: after analyses, a failing scorer and a fallback, GET
// /metrics passes `promtool check metrics` (Prometheus' own checker: format, names, units,
// HELP and TYPE), and with log.format json every line the server wrote is a JSON object, none
// with the key.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/served_leadscore.h"

namespace leadscore::testing {
namespace {

std::string request(const std::string& method, const std::string& path, const std::string& key,
                    const std::string& body = "") {
  return method + " " + path + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + key +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// `flaky` (the test plugin: fails for source "error") decides, falling back to the heuristic;
// `lonely` has no fallback; JSON log lines.
std::string metrics_config() {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("leadscore-metrics-" + std::to_string(::getpid()) + ".yaml"))
                               .string();
  std::ofstream(path) << "log: {format: json}\n"
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
  return path;
}

std::string promtool() {
  for (const char* candidate : {"/usr/bin/promtool", "/usr/local/bin/promtool"})
    if (::access(candidate, X_OK) == 0) return candidate;
  return "";
}

// Runs `promtool check metrics` on `scrape`: its exit status and what it said.
std::pair<int, std::string> check_metrics(const std::string& tool, const std::string& scrape) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string in = (dir / ("scrape-" + std::to_string(::getpid()) + ".txt")).string();
  const std::string out = in + ".out";
  std::ofstream(in) << scrape;
  const int status = std::system((tool + " check metrics < " + in + " > " + out + " 2>&1").c_str());
  std::stringstream said;
  said << std::ifstream(out).rdbuf();
  std::remove(in.c_str());
  std::remove(out.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, said.str()};
}

TEST(MetricsServed, ScrapeAfterTrafficPassesPromtoolAndEveryLogLineIsJson) {
  const std::string tool = promtool();
  ASSERT_FALSE(tool.empty()) << "promtool is missing: scripts/install_deps.sh installs it "
                                "(Debian package prometheus)";
  const std::string config = metrics_config();
  ServedLeadscore served({.front_door = false,
                          .open_files = std::nullopt,
                          .env = {{"LEADSCORE_CONFIG", config}},
                          .database_url = std::nullopt});
  const std::string key = served.admin_key();

  for (const char* source : {"ok", "error"}) {
    const std::string created = raw_exchange(
        served.port(),
        request("POST", "/leads", key, std::string(R"({"source":")") + source + "\"}"));
    ASSERT_EQ(status_of(created), 201) << created;
    const auto id = nlohmann::json::parse(body_of(created))["id"].get<std::int64_t>();
    const std::string path = "/leads/" + std::to_string(id);
    for (int i = 0; i < 3; ++i)  // ok answers itself; error fails and falls back
      EXPECT_EQ(status_of(raw_exchange(served.port(), request("POST", path + "/analyze", key))),
                200);
    // No fallback: 503 for the error lead.
    raw_exchange(served.port(), request("POST", path + "/analyze?scorer=lonely", key));
    EXPECT_EQ(status_of(raw_exchange(served.port(), request("GET", path, key))), 200);
  }
  EXPECT_EQ(status_of(raw_exchange(served.port(), request("GET", "/leads/999999", key))), 404);
  EXPECT_EQ(status_of(raw_exchange(served.port(), request("GET", "/nowhere", key))), 404);
  EXPECT_EQ(status_of(raw_exchange(served.port(), request("GET", "/leads", "lsk_wrong"))), 401);

  const std::string answer =
      raw_exchange(served.port(), "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_EQ(status_of(answer), 200) << answer;
  EXPECT_NE(answer.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos)
      << answer.substr(0, answer.find("\r\n\r\n"));
  const std::string scrape = body_of(answer);
  for (const char* series :
       {"leadscore_analyses_total{scorer=\"flaky\"",
        "leadscore_analyses_total{scorer=\"heuristic\"", "outcome=\"fell_back\"",
        "outcome=\"failed\"", "leadscore_scorer_run_duration_seconds_bucket",
        "leadscore_http_requests_total{route=\"/leads/{id}\",method=\"GET\",status=\"404\"}",
        "leadscore_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}",
        "leadscore_db_pool_connections ", "leadscore_queue_depth{queue=\"workers\"}",
        "leadscore_build_info{"})
    EXPECT_NE(scrape.find(series), std::string::npos) << series << "\n" << scrape;

  const auto [status, said] = check_metrics(tool, scrape);
  EXPECT_EQ(status, 0) << said << "\n" << scrape;
  EXPECT_EQ(said.find("problem"), std::string::npos) << said;

  // The log: lines reach the file within a second (the sink writes once a second).
  std::string log;
  for (int i = 0; i < 30 && log.find("\"route\":\"unmatched\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log = served.log();
  }
  std::istringstream lines(log);
  int requests = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto parsed = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(parsed.is_object()) << line;
    EXPECT_TRUE(parsed.contains("time") && parsed.contains("level") && parsed.contains("msg"))
        << line;
    if (parsed["msg"] == "request") {
      ++requests;
      for (const char* field : {"method", "route", "status", "latency_ms", "request_id", "key"})
        EXPECT_TRUE(parsed.contains(field)) << field << " in " << line;
    }
  }
  EXPECT_GE(requests, 14) << log;
  EXPECT_EQ(log.find(key), std::string::npos) << "the admin key was logged";
  EXPECT_EQ(log.find("lsk_wrong"), std::string::npos) << "a key sent was logged";
  std::remove(config.c_str());
}

}  // namespace
}  // namespace leadscore::testing
