// The front door as `make run` starts it: nginx in front of leadscore. Its limits answer in
// leadscore's JSON error shape, the import route alone takes large bodies, and the request id
// and the client's address reach leadscore's request log. Browsers' preflights, CORS headers and
// rate-limit refusals pass through it unchanged.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/support/served_leadscore.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

json error_of(const std::string& answer) {
  const json body = json::parse(body_of(answer), nullptr, false);
  return body.is_object() && body.contains("error") ? body["error"] : json();
}

class FrontDoor : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ServedLeadscore::Options options;
    options.front_door = true;
    served_ = new ServedLeadscore(options);
  }
  static void TearDownTestSuite() {
    delete served_;
    served_ = nullptr;
  }
  static std::string post(const std::string& path, const std::string& type,
                          const std::string& body) {
    return "POST " + path + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
           served_->admin_key() + "\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  static ServedLeadscore* served_;
};

ServedLeadscore* FrontDoor::served_ = nullptr;

TEST_F(FrontDoor, ALongRequestLineIsRefusedInJsonAtOnce) {
  const std::string answer = raw_exchange(
      served_->front_port(), "GET /" + std::string(3 << 20, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(status_of(answer), 414) << answer.substr(0, 200);
  EXPECT_EQ(error_of(answer)["code"], "uri_too_long");
}

TEST_F(FrontDoor, ALongHeaderIsRefusedInJson) {
  const std::string answer = raw_exchange(
      served_->front_port(),
      "GET /health HTTP/1.1\r\nHost: t\r\nX-Long: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(status_of(answer), 431) << answer.substr(0, 200);
  EXPECT_EQ(error_of(answer)["code"], "header_too_large");
}

TEST_F(FrontDoor, MalformedFramingIsRefusedInJson) {
  for (const std::string length : {"-1", "12345678901234567890123"}) {
    const std::string answer =
        raw_exchange(served_->front_port(),
                     "POST /leads HTTP/1.1\r\nHost: t\r\nContent-Length: " + length + "\r\n\r\n");
    EXPECT_EQ(status_of(answer), 400) << length << ": " << answer.substr(0, 200);
    EXPECT_EQ(error_of(answer)["code"], "bad_request") << length;
  }
}

TEST_F(FrontDoor, OnlyTheImportRouteTakesBodiesLargerThanTheJsonLimit) {
  // 2 MiB: above server.max_body_bytes (1 MiB), below server.max_import_bytes (16 MiB).
  std::string csv = "source,bio\n";
  while (csv.size() < (2u << 20)) csv += "manual," + std::string(900, 'b') + "\n";
  const std::string json_route =
      raw_exchange(served_->front_port(), post("/leads", "application/json", csv));
  EXPECT_EQ(status_of(json_route), 413) << json_route.substr(0, 200);
  EXPECT_EQ(error_of(json_route)["code"], "payload_too_large");
  // The import route reads it (its rows are refused for their bio's length, by leadscore).
  const std::string import = raw_exchange(
      served_->front_port(), post("/leads/import", "text/csv", csv), std::chrono::seconds(30));
  EXPECT_NE(status_of(import), 413) << import.substr(0, 300);
  EXPECT_NE(status_of(import), 0);
}

TEST_F(FrontDoor, TheRequestIdAndTheClientAddressReachTheRequestLog) {
  const std::string answer =
      raw_exchange(served_->front_port(),
                   "GET /health HTTP/1.1\r\nHost: t\r\nX-Request-Id: door-check-7\r\n\r\n");
  ASSERT_EQ(status_of(answer), 200) << answer;
  EXPECT_NE(answer.find("X-Request-Id: door-check-7"), std::string::npos) << answer;
  // Without one, nginx makes one and leadscore answers with it.
  const std::string made =
      raw_exchange(served_->front_port(), "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_NE(made.find("X-Request-Id: "), std::string::npos) << made;
  std::string log;
  for (int i = 0; i < 20 && log.find("rid=door-check-7") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log = served_->log();
  }
  EXPECT_NE(log.find("GET /health 200"), std::string::npos);
  EXPECT_NE(log.find("rid=door-check-7 client=127.0.0.1"), std::string::npos) << log;
}

// The value of header `name` in a raw answer's head ("" when it has none).
std::string header_of(const std::string& answer, std::string name) {
  std::string head = answer.substr(0, answer.find("\r\n\r\n") + 2);
  std::ranges::transform(head, head.begin(), [](unsigned char c) { return std::tolower(c); });
  std::ranges::transform(name, name.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::size_t at = head.find("\r\n" + name + ":");
  if (at == std::string::npos) return "";
  std::size_t begin = at + name.size() + 3;
  while (begin < head.size() && head[begin] == ' ') ++begin;
  // The value as sent (header values keep their case).
  return answer.substr(begin, head.find("\r\n", begin) - begin);
}

TEST(FrontDoorWithLimits, PassesPreflightsCorsHeadersAndRateLimitRefusals) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("leadscore-limits-" + std::to_string(::getpid()) + ".yaml"))
                               .string();
  std::ofstream(path) << "server:\n  cors:\n    allowed_origins: [https://crm.example.com]\n"
                         "rate_limit:\n  per_key: {rate_per_s: 0.5, burst: 2}\n";
  ServedLeadscore::Options options;
  options.front_door = true;
  options.env["LEADSCORE_CONFIG"] = path;
  ServedLeadscore served(options);
  const std::string origin = "Origin: https://crm.example.com\r\n";

  const std::string preflight =
      raw_exchange(served.front_port(),
                   "OPTIONS /leads/5 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + origin +
                       "Access-Control-Request-Method: PATCH\r\n"
                       "Access-Control-Request-Headers: authorization, content-type\r\n\r\n");
  EXPECT_EQ(status_of(preflight), 204) << preflight;
  EXPECT_EQ(header_of(preflight, "Access-Control-Allow-Origin"), "https://crm.example.com")
      << preflight;
  EXPECT_EQ(header_of(preflight, "Access-Control-Allow-Methods"), "GET, PATCH, DELETE, OPTIONS");
  EXPECT_EQ(header_of(preflight, "Access-Control-Allow-Headers"),
            "Authorization, Content-Type, X-Request-Id");
  EXPECT_EQ(header_of(preflight, "Access-Control-Max-Age"), "600");

  const std::string read = "GET /leads HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + origin +
                           "Authorization: Bearer " + served.admin_key() + "\r\n\r\n";
  std::string answer;
  for (int i = 0; i < 3; ++i) {
    answer = raw_exchange(served.front_port(), read);
    if (status_of(answer) == 429) break;
    EXPECT_EQ(status_of(answer), 200) << answer;
    EXPECT_EQ(header_of(answer, "Access-Control-Allow-Origin"), "https://crm.example.com");
    EXPECT_EQ(header_of(answer, "Vary"), "Origin");
  }
  ASSERT_EQ(status_of(answer), 429) << answer;
  EXPECT_EQ(error_of(answer)["code"], "rate_limited");
  const std::string retry_after = header_of(answer, "Retry-After");
  EXPECT_TRUE(retry_after == "1" || retry_after == "2") << answer;
  EXPECT_EQ(header_of(answer, "Access-Control-Allow-Origin"), "https://crm.example.com");
  std::filesystem::remove(path);
}

TEST(FrontDoorAlone, AnswersUnavailableInJsonWhenLeadscoreIsDown) {
  ServedLeadscore::Options options;
  options.front_door = true;
  ServedLeadscore served(options);
  ASSERT_EQ(served.terminate(std::chrono::seconds(5)).first, 0);
  const std::string answer =
      raw_exchange(served.front_port(), "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(status_of(answer), 503) << answer;
  EXPECT_EQ(error_of(answer)["code"], "unavailable");
}

}  // namespace
}  // namespace leadscore::testing
