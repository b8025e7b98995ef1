// The shipped hybrid (config/hybrid.yaml: rules/icp_fit.lua 0-50 + the llm plugin's intent
// points 0-50) served over the API against the fake LLM server: the answer adds up both
// layers, the LLM's run is audited in the history, and an LLM that answers nonsense or is down
// leaves the analysis to the hybrid's fallback.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "tests/api/api_fixture.h"
#include "tests/support/fake_llm_server.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

class HybridScorer : public ApiTest {
 protected:
  void SetUp() override {
    llm_ = std::make_unique<FakeLlmServer>();
    // config/hybrid.yaml reads the LLM server's address from the environment.
    ::setenv("LEADSCORE_LLM_BASE_URL", (llm_->base_url() + "/v1").c_str(), 1);
    ApiTest::SetUp();
    ASSERT_EQ(call("POST", "/offers",
                   json{{"name", "AI Outreach Automation"},
                        {"value_props", {"24/7 automated outreach"}},
                        {"ideal_use_cases", {"B2B SaaS", "Fintech"}},
                        {"active", true}})
                  .status,
              201);
  }
  void TearDown() override {
    ApiTest::TearDown();
    llm_.reset();
    ::unsetenv("LEADSCORE_LLM_BASE_URL");
  }
  std::string config_path() const override {
    return std::string(LEADSCORE_SOURCE_DIR) + "/config/hybrid.yaml";
  }
  // A CTO in Fintech: icp_fit gives decision maker role +0.4 and exact ICP industry +0.4.
  std::string analyze_a_cto(const std::string& company) {
    const json lead = create_lead({{"source", "partner"},
                                   {"business_domain", company + ".io"},
                                   {"role", "CTO"},
                                   {"company", company},
                                   {"industry", "Fintech"}});
    return "/leads/" + std::to_string(lead["id"].get<std::int64_t>());
  }

  std::unique_ptr<FakeLlmServer> llm_;
};

TEST_F(HybridScorer, AddsTheRulePointsAndTheLlmsIntentPointsAndAuditsTheLlmsRun) {
  llm_->push(FakeLlmBehaviour::good("High", /*score=*/-1));  // an intent without a score
  const std::string lead = analyze_a_cto("acme");
  const auto r = call("POST", lead + "/analyze");
  ASSERT_EQ(r.status, 200) << r.body;
  const json a = r.json();
  EXPECT_EQ(a["scorer"], "hybrid");
  EXPECT_DOUBLE_EQ(a["score"].get<double>(), (0.8 * 50 + 50) / 100);  // 40 + 50 of 100 points
  EXPECT_EQ(a["intent"], "High");
  EXPECT_EQ(a["recommendation"], "transfer_to_sales");
  double sum = 0;
  for (const auto& c : a["contributions"]) sum += c["points"].get<double>();
  EXPECT_NEAR(sum, a["score"].get<double>(), 1e-9);
  EXPECT_EQ(a["contributions"].back()["points"].get<double>(), 0.5) << a.dump();

  // The LLM was asked once, with the allow-listed fields and the offer, never a date.
  ASSERT_EQ(llm_->request_count(), 1u);
  const std::string body = llm_->requests().front().body;
  EXPECT_NE(body.find("Fintech"), std::string::npos);
  EXPECT_NE(body.find("AI Outreach Automation"), std::string::npos);
  EXPECT_EQ(body.find("created_at"), std::string::npos);

  const json run = call("GET", lead + "/history").json()["analyses"][0];
  EXPECT_EQ(run["scorer"], "hybrid");
  const json audit = run["audit"]["parts"]["llm"];
  ASSERT_TRUE(audit.is_object()) << run.dump();
  EXPECT_FALSE(audit["prompt_version"].get<std::string>().empty());
  EXPECT_EQ(audit["model"], "local-model");
  EXPECT_GT(audit["tokens_in"].get<int>(), 0);
  EXPECT_EQ(audit["tries"], 1);
}

TEST_F(HybridScorer, AnLlmAnsweringNonsenseOrDownLeavesTheAnalysisToTheFallback) {
  llm_->set_default(FakeLlmBehaviour::answer_text("I think this lead is great!"));
  auto r = call("POST", analyze_a_cto("nonsense") + "/analyze");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["scorer"], "icp_fit");
  EXPECT_DOUBLE_EQ(r.json()["score"].get<double>(), 0.8);
  EXPECT_EQ(r.json()["fallback_from"]["scorer"], "hybrid");
  EXPECT_NE(r.json()["fallback_from"]["error"].get<std::string>().find("no JSON object"),
            std::string::npos)
      << r.body;

  llm_->stop();  // connection refused from now on
  r = call("POST", analyze_a_cto("down") + "/analyze");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["scorer"], "icp_fit");
  EXPECT_EQ(r.json()["fallback_from"]["scorer"], "hybrid");
}

}  // namespace
}  // namespace leadscore::testing
