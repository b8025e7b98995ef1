// What the LLM scorer keeps beyond one instance (plugins/llm/upstream_state.h): which params
// name the same upstream and the same budget, and the budget's state file read and written.
#include "plugins/llm/upstream_state.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/temp_file.h"

namespace leadscore::llm {
namespace {

LlmParams an_upstream() {
  LlmParams p;
  p.provider = Provider::OpenAi;
  p.base_url = "http://127.0.0.1:1/v1";
  p.model = "state-test-model";
  p.api_key_env = "STATE_TEST_KEY";
  return p;
}

TEST(LlmUpstreamState, TheSameProviderUrlAndModelShareOneBreakerAndCache) {
  const LlmParams p = an_upstream();
  LlmParams other_limits = p;
  other_limits.breaker_failures = 1;
  other_limits.cache_ttl_s = 5;
  other_limits.api_key_env = "ANOTHER_KEY";
  EXPECT_EQ(upstream_state(p), upstream_state(other_limits));
  for (auto change : {+[](LlmParams& q) { q.model = "other"; },
                      +[](LlmParams& q) { q.base_url = "http://127.0.0.1:2/v1"; },
                      +[](LlmParams& q) { q.provider = Provider::Anthropic; }}) {
    LlmParams changed = p;
    change(changed);
    EXPECT_NE(upstream_state(p), upstream_state(changed));
  }
}

TEST(LlmUpstreamState, TheBudgetIsTheKeysAtOneUrlWhateverTheModel) {
  const LlmParams p = an_upstream();
  LlmParams other_model = p;
  other_model.model = "other";
  other_model.tokens_per_day = 5;
  EXPECT_EQ(budget_state(p), budget_state(other_model));
  for (auto change : {+[](LlmParams& q) { q.api_key_env = "ANOTHER_KEY"; },
                      +[](LlmParams& q) { q.base_url = "http://127.0.0.1:2/v1"; },
                      +[](LlmParams& q) { q.budget_state_file = "/nonexistent/spend.json"; }}) {
    LlmParams changed = p;
    change(changed);
    EXPECT_NE(budget_state(p), budget_state(changed));
  }
}

TEST(LlmBudgetFile, AMissingFileIsNoCount) {
  leadscore::testing::TempDir dir;
  auto read = read_budget_file(dir.path() / "spend.json");
  ASSERT_TRUE(read) << read.error();
  EXPECT_FALSE(*read);
}

TEST(LlmBudgetFile, WritesAndReadsTheDaysCount) {
  leadscore::testing::TempDir dir;
  const auto file = dir.path() / "spend.json";
  const WallTime evening{std::chrono::seconds(1'796'342'340)};  // 2026-12-03 23:59 UTC
  ASSERT_TRUE(write_budget_file(file, {utc_day(evening), 1234}));
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "{\"day\":\"2026-12-03\",\"tokens_used\":1234}\n");
  auto read = read_budget_file(file);
  ASSERT_TRUE(read && *read);
  EXPECT_EQ((*read)->day, utc_day(evening));
  EXPECT_EQ((*read)->tokens_used, 1234);
}

TEST(LlmBudgetFile, SaysWhatIsWrongWithACorruptFile) {
  leadscore::testing::TempDir dir;
  const std::pair<const char*, const char*> cases[] = {
      {"{\"day\": \"2026-12", "it is not a JSON object"},
      {"[1]", "it is not a JSON object"},
      {R"({"tokens_used": 5})", "its \"day\" is not a date YYYY-MM-DD"},
      {R"({"day": "2026-02-30", "tokens_used": 5})", "its \"day\" is not a date YYYY-MM-DD"},
      {R"({"day": "2026-12-03x", "tokens_used": 5})", "its \"day\" is not a date YYYY-MM-DD"},
      {R"({"day": "2026-12-03", "tokens_used": 1.5})",
       "its \"tokens_used\" is not a whole number of 0 or more"},
      {R"({"day": "2026-12-03"})", "its \"tokens_used\" is not a whole number of 0 or more"}};
  for (const auto& [text, problem] : cases) {
    auto read = read_budget_file(dir.write("spend.json", text));
    ASSERT_FALSE(read) << text;
    EXPECT_EQ(read.error(), problem) << text;
  }
}

TEST(LlmBudgetFile, AFileInAMissingDirectoryCannotBeWritten) {
  leadscore::testing::TempDir dir;
  auto written = write_budget_file(dir.path() / "missing" / "spend.json", {1, 2});
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error(), "cannot write it: No such file or directory");
}

}  // namespace
}  // namespace leadscore::llm
