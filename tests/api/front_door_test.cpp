// The front door as `make run` starts it: nginx in front of leadscore. Its limits answer in
// leadscore's JSON error shape, the import route alone takes large bodies, and the request id
// and the client's address reach leadscore's request log.
#include <gtest/gtest.h>

#include <chrono>
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
