// The fixture of the tests of the LLM scorer as a plugin module (llm.so) through the engine's
// loader against the fake LLM server on loopback: params for an instance against the server,
// instances destroyed after the test, one run with its answer, error and audit read back.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "engine/scoring/plugin_scorer.h"
#include "plugins/support/lead_features.h"
#include "tests/support/fake_llm_server.h"
#include "tests/support/temp_file.h"

namespace leadscore::llm::plugin_test {

using leadscore::testing::FakeLlmBehaviour;
using leadscore::testing::FakeLlmServer;
using nlohmann::json;
using scoring::PluginModule;
using scoring::PluginScorer;

inline constexpr const char* kKeyEnv = "LEADSCORE_TEST_LLM_KEY";
inline constexpr const char* kKey = "sk-test-9f8e7d6c5b4a3210-secret";

inline std::shared_ptr<const PluginModule> module() {
  static auto loaded = PluginModule::load(std::string(LEADSCORE_PLUGIN_DIR) + "/llm.so");
  EXPECT_TRUE(loaded.has_value()) << loaded.error();
  return loaded ? *loaded : nullptr;
}

inline plugin::Features a_lead() {
  plugin::Features lead;
  lead.source = "partner";
  lead.stage = plugin::Stage::Qualified;
  lead.activity_count = 4;
  lead.business_domain = "acme.io";
  for (std::string_view name : plugin::kNamedProfileFields) lead.set_field(name, std::nullopt);
  lead.set_field("name", "Ada Secretname");
  lead.set_field("email", "ada@private.example");
  lead.set_field("role", "Head of Sales Ops");
  lead.set_field("company", "Acme");
  lead.set_field("industry", "logistics");
  lead.set_field("bio", "Writes about her family");
  lead.set_field("phone", "+1 555 0100");
  return lead;
}

inline constexpr const char* kOffer =
    R"({"id": 77, "name": "RouteWise", "description": "internal-only note",
        "value_props": ["cuts empty miles"], "ideal_use_cases": ["fleet operators"]})";

struct ScoreRun {
  int rc = LS_ERROR;
  std::string error;
  json audit;
  std::string audit_text;
  double score = -1;
  std::string recommendation, reason, intent;
  std::vector<std::pair<std::string, double>> contributions;
  std::chrono::milliseconds elapsed{0};
};

class LlmPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv(kKeyEnv, kKey, 1);
    dir_.write("prompt.txt", "version: t-1\nQualify this lead.\n{{lead}}\nOffer: {{offer}}\n");
  }
  void TearDown() override {
    for (auto& [instance, by] : instances_) by->table().destroy(instance);
  }

  json params(json extra = json::object()) const {
    json p = {{"provider", "openai"},   {"base_url", server_.base_url() + "/v1"},
              {"model", "test-model"},  {"api_key_env", kKeyEnv},
              {"prompt", "prompt.txt"}, {"backoff", {{"initial_ms", 20}, {"max_ms", 80}}},
              {"deadline_ms", 3000}};
    for (auto& [key, value] : extra.items()) {
      if (value.is_null())
        p.erase(key);
      else
        p[key] = value;
    }
    return p;
  }

  // An instance made by `by` (llm.so, or another loaded copy of it), destroyed after the test.
  ls_instance* make(const json& p, std::shared_ptr<const PluginModule> by = module()) {
    char err[1024] = {};
    ls_instance* instance =
        by->table().create(p.dump().c_str(), dir_.path().c_str(), err, sizeof err);
    EXPECT_NE(instance, nullptr) << err;
    if (instance != nullptr) instances_.emplace_back(instance, std::move(by));
    return instance;
  }

  // Destroys an instance before the test ends (as the engine does when a reload replaced it).
  void drop(ls_instance* instance) {
    const auto by = made_by(instance);
    std::erase_if(instances_, [&](const auto& made) { return made.first == instance; });
    by->table().destroy(instance);
  }

  std::string create_error(const json& p) {
    char err[1024] = {};
    ls_instance* instance =
        module()->table().create(p.dump().c_str(), dir_.path().c_str(), err, sizeof err);
    if (instance != nullptr) instances_.emplace_back(instance, module());
    return instance == nullptr ? std::string(err) : std::string("(created)");
  }

  std::shared_ptr<const PluginModule> made_by(ls_instance* instance) const {
    for (const auto& [made, by] : instances_)
      if (made == instance) return by;
    return module();
  }

  ScoreRun run(ls_instance* instance, const plugin::Features& lead = a_lead(),
               const char* offer = kOffer) const {
    const plugin::CFeatures features(lead, offer);
    ls_result out{};
    out.struct_size = sizeof out;
    char err[1024] = {};
    const auto start = std::chrono::steady_clock::now();
    ScoreRun r;
    r.rc = made_by(instance)->table().score(instance, &features.get(), &out, err, sizeof err);
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    r.error = err;
    if (out.audit_json != nullptr) {
      r.audit_text = out.audit_json;
      r.audit = json::parse(r.audit_text, nullptr, false);
    }
    if (r.rc == LS_OK) {
      r.score = out.score;
      r.recommendation = out.recommendation;
      r.reason = out.reason;
      r.intent = out.intent != nullptr ? out.intent : "";
      for (std::size_t i = 0; i < out.contribution_count; ++i)
        r.contributions.emplace_back(out.contributions[i].rule, out.contributions[i].points);
    }
    return r;
  }

  std::string host() const { return "127.0.0.1:" + std::to_string(server_.port()); }

  FakeLlmServer server_;
  leadscore::testing::TempDir dir_;
  std::vector<std::pair<ls_instance*, std::shared_ptr<const PluginModule>>> instances_;
};

}  // namespace leadscore::llm::plugin_test
