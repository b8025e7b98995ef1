// What the LLM scorer keeps beyond one instance (plugins/llm/upstream_state.h), through llm.so
// against the fake LLM server: a reload destroys the instances and makes new ones from the same
// loaded module, and the new instance of the same upstream continues the breaker, the cache and
// the day's token budget, while a changed identity starts fresh (also through the engine's own
// build_scorers, as a reload runs it). budget.state_file keeps the
// day's count over a restart (a fresh copy of the module: fresh memory), tolerating a missing,
// stale, corrupt or unwritable file.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "engine/config/app_config.h"
#include "engine/config/config_error.h"
#include "engine/scoring/registry.h"
#include "tests/plugins/llm/llm_plugin_fixture.h"

namespace leadscore::llm {
namespace {

using namespace plugin_test;  // NOLINT(google-build-using-namespace): the fixture's names

// Today's UTC date as the state file writes it.
std::string today() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &utc);
  return text;
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class LlmSharedState : public LlmPlugin {
 protected:
  // llm.so loaded again from a copy of its file: a module with memory of its own, as after a
  // restart of the service (or a reload that loads a rebuilt llm.so).
  std::shared_ptr<const PluginModule> restarted_module() {
    const auto copy = dir_.path() / ("llm-" + std::to_string(++copies_) + ".so");
    std::filesystem::copy_file(std::string(LEADSCORE_PLUGIN_DIR) + "/llm.so", copy);
    auto loaded = PluginModule::load(copy.string());
    EXPECT_TRUE(loaded) << loaded.error();
    return loaded ? *loaded : nullptr;
  }

  json open_breaker_params() const {
    return params({{"max_retries", 0}, {"breaker", {{"failures", 2}, {"cooldown_s", 60}}}});
  }

  // Opens the breaker of the upstream of `p` with two failed runs.
  void open_breaker(const json& p) {
    ls_instance* first = make(p);
    server_.push(FakeLlmBehaviour::error_status(500));
    server_.push(FakeLlmBehaviour::error_status(500));
    ASSERT_EQ(run(first).rc, LS_ERROR);
    ASSERT_EQ(run(first).audit["breaker"], "open");
    drop(first);
  }

  int copies_ = 0;
};

TEST_F(LlmSharedState, AnOpenBreakerOutlivesAReload) {
  open_breaker(open_breaker_params());
  // The instance the reload made: refused at once, without a call.
  ls_instance* reloaded = make(open_breaker_params());
  const ScoreRun r = run(reloaded);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_TRUE(r.error.starts_with(
      "llm: the circuit breaker is open after 2 failed runs in a row; the next try goes in "))
      << r.error;
  EXPECT_EQ(r.audit["breaker"], "open");
  EXPECT_EQ(r.audit["tries"], 0);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(LlmSharedState, TheNewInstanceMadeBesideTheOldSharesItsBreaker) {
  // The engine's order: the new scorers are built while the old still serve, then the old go.
  ls_instance* old_instance = make(open_breaker_params());
  ls_instance* new_instance = make(open_breaker_params());
  server_.set_default(FakeLlmBehaviour::error_status(500));
  EXPECT_EQ(run(old_instance).rc, LS_ERROR);
  EXPECT_EQ(run(old_instance).audit["breaker"], "open");
  drop(old_instance);
  EXPECT_EQ(run(new_instance).audit["tries"], 0);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(LlmSharedState, TheEnginesReloadKeepsAnOpenBreaker) {
  // As LiveScorers::reload does it: the config read again, the new scorer set built while the
  // old one still serves, then the old one dropped.
  const std::string path =
      dir_.write("leadscore.yaml",
                 "scoring:\n  primary: llm\n  scorers:\n    llm:\n      plugin: llm\n"
                 "      params: " +
                     open_breaker_params().dump() + "\n");
  auto config = config::load_app_config(path, {});
  ASSERT_TRUE(config) << config::to_text(config.error());
  auto serving =
      std::make_unique<scoring::ScorerSet>(std::move(scoring::build_scorers(*config).value()));
  domain::Features lead;
  lead.source = "partner";
  server_.push(FakeLlmBehaviour::error_status(500));
  server_.push(FakeLlmBehaviour::error_status(500));
  EXPECT_FALSE(serving->primary().score(lead));
  EXPECT_FALSE(serving->primary().score(lead));  // the breaker opens
  auto reloaded = scoring::build_scorers(*config);
  ASSERT_TRUE(reloaded) << config::to_text(reloaded.error());
  serving.reset();
  auto refused = reloaded->primary().score(lead);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("the circuit breaker is open after 2 failed runs in a row"),
            std::string::npos)
      << refused.error();
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(LlmSharedState, AnotherModelProviderOrBaseUrlStartsWithAClosedBreaker) {
  open_breaker(open_breaker_params());
  json other_model = open_breaker_params();
  other_model["model"] = "another-model";
  json anthropic = open_breaker_params();
  anthropic["provider"] = "anthropic";
  anthropic["base_url"] = server_.base_url();
  json other_url = open_breaker_params();
  other_url["base_url"] = "http://localhost:" + std::to_string(server_.port()) + "/v1";
  for (const json& p : {other_model, anthropic, other_url}) {
    const ScoreRun r = run(make(p));
    EXPECT_EQ(r.rc, LS_OK) << p["provider"] << " " << p["base_url"] << " " << p["model"] << ": "
                           << r.error;
    EXPECT_EQ(r.audit["breaker"], "closed");
  }
  EXPECT_EQ(server_.request_count(), 5u);
}

TEST_F(LlmSharedState, AReloadThatRaisesTheBreakersLimitClosesIt) {
  open_breaker(open_breaker_params());
  json lenient = open_breaker_params();
  lenient["breaker"]["failures"] = 5;  // 2 failed runs in a row are under 5
  const ScoreRun r = run(make(lenient));
  EXPECT_EQ(r.rc, LS_OK) << r.error;
  EXPECT_EQ(r.audit["breaker"], "closed");
}

TEST_F(LlmSharedState, ASpentBudgetOutlivesAReload) {
  const json p = params({{"budget", {{"tokens_per_day", 150}}}});
  ls_instance* first = make(p);
  EXPECT_EQ(run(first).rc, LS_OK);  // 120 tokens
  EXPECT_EQ(run(first).rc, LS_OK);  // 240: spent
  drop(first);
  ls_instance* reloaded = make(p);
  const ScoreRun r = run(reloaded);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_EQ(r.error,
            "llm: the token budget of 150 tokens per day is spent; runs fail until the UTC day "
            "changes");
  // A reload that raises the limit lets runs through again, counting on from 240.
  ls_instance* raised = make(params({{"budget", {{"tokens_per_day", 300}}}}));
  EXPECT_EQ(run(raised).rc, LS_OK);  // 360
  EXPECT_EQ(run(raised).rc, LS_ERROR);
  EXPECT_EQ(server_.request_count(), 3u);
}

TEST_F(LlmSharedState, TheBudgetIsTheKeysWhateverTheModel) {
  ls_instance* first = make(params({{"budget", {{"tokens_per_day", 150}}}}));
  EXPECT_EQ(run(first).rc, LS_OK);
  EXPECT_EQ(run(first).rc, LS_OK);  // 240: spent
  // Another model billed to the same key: the same day's count.
  EXPECT_EQ(run(make(params({{"model", "other"}, {"budget", {{"tokens_per_day", 150}}}}))).rc,
            LS_ERROR);
  // Another key is another account: its own count.
  ::setenv("LEADSCORE_TEST_LLM_OTHER_KEY", "sk-other", 1);
  ls_instance* other_key = make(params(
      {{"api_key_env", "LEADSCORE_TEST_LLM_OTHER_KEY"}, {"budget", {{"tokens_per_day", 150}}}}));
  EXPECT_EQ(run(other_key).rc, LS_OK);
  EXPECT_EQ(server_.request_count(), 3u);
}

TEST_F(LlmSharedState, TheCacheOutlivesAReloadAndScoresWithTheNewPoints) {
  server_.push(FakeLlmBehaviour::good("Medium", -1, "continue_qualification", "Unclear fit."));
  ls_instance* first = make(params({{"cache_ttl_s", 60}}));
  const ScoreRun before = run(first);
  ASSERT_EQ(before.rc, LS_OK) << before.error;
  EXPECT_EQ(before.score, 30.0 / 50);
  drop(first);
  ls_instance* reloaded = make(params({{"cache_ttl_s", 60}, {"intent_points", {{"Medium", 40}}}}));
  const ScoreRun after = run(reloaded);
  ASSERT_EQ(after.rc, LS_OK) << after.error;
  EXPECT_EQ(after.audit["cached"], true);
  EXPECT_EQ(after.score, 40.0 / 50);  // the cached verdict, with the reloaded points
  EXPECT_EQ(after.reason, "Unclear fit.");
  EXPECT_EQ(server_.request_count(), 1u);
  // Without a cache of its own, an instance never reads the shared one.
  EXPECT_EQ(run(make(params())).audit["cached"], false);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(LlmSharedState, AShorterTtlAfterAReloadIgnoresOlderAnswers) {
  ls_instance* first = make(params({{"cache_ttl_s", 60}}));
  ASSERT_EQ(run(first).rc, LS_OK);
  drop(first);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  ls_instance* reloaded = make(params({{"cache_ttl_s", 0.05}}));
  EXPECT_EQ(run(reloaded).audit["cached"], false);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(LlmSharedState, TheDaysTokensAreKeptInTheStateFile) {
  ls_instance* llm =
      make(params({{"budget", {{"tokens_per_day", 1000}, {"state_file", "spend.json"}}}}));
  ASSERT_EQ(run(llm).rc, LS_OK);
  EXPECT_EQ(json::parse(read_text(dir_.path() / "spend.json")),
            json({{"day", today()}, {"tokens_used", 120}}));
  ASSERT_EQ(run(llm).rc, LS_OK);
  EXPECT_EQ(json::parse(read_text(dir_.path() / "spend.json"))["tokens_used"], 240);
  // Written whole by a rename: no temporary file is left beside it.
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

TEST_F(LlmSharedState, ARestartContinuesTheDaysCountFromTheStateFile) {
  const json p = params({{"budget", {{"tokens_per_day", 150}, {"state_file", "spend.json"}}}});
  ls_instance* before = make(p);
  EXPECT_EQ(run(before).rc, LS_OK);
  EXPECT_EQ(run(before).rc, LS_OK);  // 240: spent
  drop(before);
  const ScoreRun r = run(make(p, restarted_module()));
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_EQ(r.error,
            "llm: the token budget of 150 tokens per day is spent; runs fail until the UTC day "
            "changes");
  EXPECT_EQ(server_.request_count(), 2u);
  // Without the file, the restarted module's memory starts the day at 0.
  EXPECT_EQ(run(make(params({{"budget", {{"tokens_per_day", 150}}}}), restarted_module())).rc,
            LS_OK);
}

TEST_F(LlmSharedState, TwoModulesWithOneStateFileAddUp) {
  // An older build still finishing its runs beside the newer one: neither overwrites the
  // other's tokens.
  const json p = params({{"budget", {{"tokens_per_day", 1000}, {"state_file", "spend.json"}}}});
  ls_instance* older = make(p);
  ls_instance* newer = make(p, restarted_module());
  ASSERT_EQ(run(older).rc, LS_OK);
  ASSERT_EQ(run(newer).rc, LS_OK);
  ASSERT_EQ(run(older).rc, LS_OK);
  EXPECT_EQ(json::parse(read_text(dir_.path() / "spend.json"))["tokens_used"], 360);
}

TEST_F(LlmSharedState, AStateFileOfAnotherDayStartsTheDayAtZero) {
  dir_.write("spend.json", R"({"day": "2001-01-01", "tokens_used": 999999})");
  ls_instance* llm =
      make(params({{"budget", {{"tokens_per_day", 150}, {"state_file", "spend.json"}}}}));
  ASSERT_EQ(run(llm).rc, LS_OK);
  EXPECT_EQ(json::parse(read_text(dir_.path() / "spend.json")),
            json({{"day", today()}, {"tokens_used", 120}}));
}

TEST_F(LlmSharedState, TodaysCountInTheStateFileIsSpentAtOnce) {
  dir_.write("spend.json", json({{"day", today()}, {"tokens_used", 150}}).dump());
  ls_instance* llm =
      make(params({{"budget", {{"tokens_per_day", 150}, {"state_file", "spend.json"}}}}));
  EXPECT_EQ(run(llm).rc, LS_ERROR);
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(LlmSharedState, ACorruptStateFileStartsAtZeroAndSaysWhy) {
  for (const char* corrupt :
       {"{\"day\": \"2026-1", "[]", R"({"day": "yesterday", "tokens_used": 1})",
        R"({"day": "2026-12-03", "tokens_used": -5})"}) {
    SCOPED_TRACE(corrupt);
    const std::string name = "spend-" + std::to_string(++copies_) + ".json";
    dir_.write(name, corrupt);
    ::testing::internal::CaptureStderr();
    ls_instance* llm = make(params({{"budget", {{"tokens_per_day", 150}, {"state_file", name}}}}));
    const std::string said = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(said.find("leadscore llm: budget.state_file " + (dir_.path() / name).string() + ": "),
              std::string::npos)
        << said;
    EXPECT_NE(said.find("; counting today's tokens from 0"), std::string::npos) << said;
    ASSERT_EQ(run(llm).rc, LS_OK);
    EXPECT_EQ(json::parse(read_text(dir_.path() / name)),
              json({{"day", today()}, {"tokens_used", 120}}));
  }
}

TEST_F(LlmSharedState, AnUnwritableStateFileKeepsCountingInMemory) {
  const json p =
      params({{"budget", {{"tokens_per_day", 150}, {"state_file", "missing-dir/spend.json"}}}});
  ls_instance* llm = make(p);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run(llm).rc, LS_OK);
  EXPECT_EQ(run(llm).rc, LS_OK);  // 240: spent, in memory
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("missing-dir/spend.json: cannot write it: "), std::string::npos) << said;
  EXPECT_EQ(said.find("cannot write", said.find("cannot write") + 1), std::string::npos)
      << "said once:\n"
      << said;
  EXPECT_EQ(run(llm).rc, LS_ERROR);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(LlmSharedState, AStateFileParamMustBeAText) {
  EXPECT_NE(create_error(params({{"budget", {{"state_file", 5}}}}))
                .find("params.budget.state_file must be a non-empty text"),
            std::string::npos);
}

}  // namespace
}  // namespace leadscore::llm
