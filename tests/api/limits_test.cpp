// The limits a shared service enforces itself, over real HTTP: requests per API key
// (rate_limit) and which web origins may call the API (server.cors).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/api/api_fixture.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

constexpr const char* kCrm = "https://crm.example.com";

class RateLimited : public ApiTest {
 protected:
  void configure(config::AppConfig& c) override {
    c.rate_limit.per_key = config::TokenBucketConfig{0.5, 3};
    c.rate_limit.per_role["admin"] = config::TokenBucketConfig{1000, 1000};
  }
};

TEST_F(RateLimited, ABurstPassesThenTheKeyIsAnswered429WithRetryAfter) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(call("GET", "/leads", "", viewer_key).status, 200) << i;
  auto refused = call("GET", "/leads", "", viewer_key);
  ASSERT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.error_code(), "rate_limited");
  const json error = refused.json()["error"];
  EXPECT_NE(error["message"].get<std::string>().find("0.5 requests a second (burst 3)"),
            std::string::npos)
      << error;
  EXPECT_EQ(refused.headers["retry-after"], "2");
  EXPECT_EQ(error["details"]["retry_after_seconds"], 2);
  EXPECT_EQ(error["details"]["burst"], 3);
  EXPECT_FALSE(refused.headers["x-request-id"].empty());
  // A refused request did nothing: a refused write writes nothing either.
  for (int i = 0; i < 3; ++i) call("POST", "/leads", json{{"source", "manual"}}, manager_key);
  auto write = call("POST", "/leads", json{{"source", "manual"}}, manager_key);
  EXPECT_EQ(write.status, 429);
  EXPECT_EQ(count_rows("leads"), 3);
}

TEST_F(RateLimited, TheKeyIsServedAgainOnceRetryAfterHasPassed) {
  HttpResponse refused;
  for (int i = 0; i < 4 && refused.status != 429; ++i)
    refused = call("GET", "/leads", "", viewer_key);
  ASSERT_EQ(refused.status, 429);
  const int wait = std::stoi(refused.headers["retry-after"]);
  ASSERT_GE(wait, 1);
  std::this_thread::sleep_for(std::chrono::seconds(wait));
  EXPECT_EQ(call("GET", "/leads", "", viewer_key).status, 200);
}

TEST_F(RateLimited, OneKeysExhaustionLimitsNoOtherKeyNorThePublicRoutes) {
  for (int i = 0; i < 10 && call("GET", "/leads", "", viewer_key).status != 429; ++i) {
  }
  EXPECT_EQ(call("GET", "/leads", "", analyst_key).status, 200);
  EXPECT_EQ(call("GET", "/leads", "", manager_key).status, 200);
  // The admin role has its own, larger limit.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(call("GET", "/leads", "", admin_key).status, 200) << i;
  // Public routes need no key and count against none.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(client->request("GET", "/health").status, 200) << i;
  EXPECT_EQ(call("GET", "/leads", "", viewer_key).status, 429);
  // An unknown key is refused 401 as before, not 429.
  EXPECT_EQ(client->request("GET", "/leads", "lsk_not_a_key").status, 401);
}

class Cors : public ApiTest {
 protected:
  void configure(config::AppConfig& c) override { c.server.cors.allowed_origins = {kCrm}; }

  HttpResponse from(const std::string& origin, const std::string& method, const std::string& path,
                    const std::string& key, std::map<std::string, std::string> headers = {}) {
    headers["Origin"] = origin;
    return client->request(method, path, key, "", headers);
  }
};

TEST_F(Cors, APreflightFromAnAllowedOriginIsAnswered204WithWhatThePathTakes) {
  auto preflight = from(kCrm, "OPTIONS", "/leads/12", "",
                        {{"Access-Control-Request-Method", "PATCH"},
                         {"Access-Control-Request-Headers", "authorization,content-type"}});
  ASSERT_EQ(preflight.status, 204) << preflight.body;
  EXPECT_EQ(preflight.headers["access-control-allow-origin"], kCrm);
  EXPECT_EQ(preflight.headers["access-control-allow-methods"], "GET, PATCH, DELETE, OPTIONS");
  EXPECT_EQ(preflight.headers["access-control-allow-headers"],
            "Authorization, Content-Type, X-Request-Id");
  EXPECT_EQ(preflight.headers["access-control-max-age"], "600");
  EXPECT_EQ(preflight.headers["vary"], "Origin");
  EXPECT_EQ(preflight.headers["allow"], "GET, PATCH, DELETE, OPTIONS");
  EXPECT_TRUE(preflight.body.empty());
  // Every path of the route table answers one, the public ones and the nested ones too.
  for (const char* path : {"/leads", "/leads/7/activity", "/leads/7/sale", "/sales", "/health",
                           "/admin/keys/crm", "/jobs/score"}) {
    auto r = from(kCrm, "OPTIONS", path, "", {{"Access-Control-Request-Method", "GET"}});
    EXPECT_EQ(r.status, 204) << path;
    EXPECT_EQ(r.headers["access-control-allow-origin"], kCrm) << path;
  }
}

TEST_F(Cors, AnOriginNotAllowedGetsNoCorsHeaders) {
  for (const char* origin : {"https://evil.example.com", "https://crm.example.com.evil.net",
                             "http://crm.example.com", "null"}) {
    auto preflight =
        from(origin, "OPTIONS", "/leads", "", {{"Access-Control-Request-Method", "POST"}});
    EXPECT_EQ(preflight.status, 204) << origin;
    EXPECT_EQ(preflight.headers.count("access-control-allow-origin"), 0u) << origin;
    EXPECT_EQ(preflight.headers.count("access-control-allow-methods"), 0u) << origin;
    auto read = from(origin, "GET", "/leads", viewer_key);
    EXPECT_EQ(read.status, 200) << origin;
    EXPECT_EQ(read.headers.count("access-control-allow-origin"), 0u) << origin;
    EXPECT_EQ(read.headers["vary"], "Origin") << origin;
  }
}

TEST_F(Cors, AnswersToAnAllowedOriginCarryItErrorsIncluded) {
  auto read = from(kCrm, "GET", "/leads", viewer_key);
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(read.headers["access-control-allow-origin"], kCrm);
  EXPECT_EQ(read.headers["access-control-expose-headers"], "X-Request-Id, Retry-After");
  EXPECT_EQ(read.headers["vary"], "Origin");
  const std::vector<std::tuple<std::string, std::string, std::string, long>> errors{
      {"GET", "/leads", "", 401},                    // no key
      {"POST", "/leads", viewer_key, 403},           // the role may not
      {"GET", "/leads/424242", viewer_key, 404},     // no such lead
      {"GET", "/leads?stage=won", viewer_key, 400},  // bad input
      {"GET", "/no/such/route", viewer_key, 404},    // no route
  };
  for (const auto& [method, path, key, status] : errors) {
    auto r = from(kCrm, method, path, key);
    EXPECT_EQ(r.status, status) << method << " " << path << " " << r.body;
    EXPECT_EQ(r.headers["access-control-allow-origin"], kCrm) << method << " " << path;
    EXPECT_EQ(r.headers["vary"], "Origin") << method << " " << path;
  }
  // A request without an Origin (not from a browser page) gets none.
  auto plain = call("GET", "/leads", "", viewer_key);
  EXPECT_EQ(plain.headers.count("access-control-allow-origin"), 0u);
}

class CorsAnyOrigin : public ApiTest {
 protected:
  void configure(config::AppConfig& c) override { c.server.cors.allowed_origins = {"*"}; }
};

TEST_F(CorsAnyOrigin, EveryOriginIsAllowedWithAStar) {
  auto r = client->request("GET", "/leads", viewer_key, "", {{"Origin", "https://any.example"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["access-control-allow-origin"], "*");
  auto preflight = client->request(
      "OPTIONS", "/leads", "", "",
      {{"Origin", "https://other.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.headers["access-control-allow-origin"], "*");
  EXPECT_EQ(preflight.headers["access-control-allow-methods"], "POST, GET, OPTIONS");
}

class NoCors : public ApiTest {};

TEST_F(NoCors, ByDefaultNoOriginIsAllowedAndOptionsSaysOnlyWhatAPathTakes) {
  auto preflight = client->request("OPTIONS", "/sales/3/stage", "", "",
                                   {{"Origin", kCrm}, {"Access-Control-Request-Method", "PATCH"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.headers["allow"], "PATCH, OPTIONS");
  EXPECT_EQ(preflight.headers.count("access-control-allow-origin"), 0u);
  auto read = client->request("GET", "/leads", viewer_key, "", {{"Origin", kCrm}});
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.headers.count("access-control-allow-origin"), 0u);
  EXPECT_EQ(read.headers.count("vary"), 0u);
  // A path of no route is still 404 for OPTIONS.
  EXPECT_EQ(client->request("OPTIONS", "/no/such/route").status, 404);
}

}  // namespace
}  // namespace leadscore::testing
