#include "engine/scoring/registry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "engine/domain/score_result.h"
#include "engine/scoring/composite_scorer.h"
#include "plugins/heuristic/heuristic_scorer.h"
#include "tests/support/temp_file.h"

namespace leadscore::scoring {
namespace {

using config::AppConfig;
using config::ConfigError;

const std::string kShippedConfig = std::string(LEADSCORE_SOURCE_DIR) + "/config/leadscore.yaml";

class RegistryTest : public ::testing::Test {
 protected:
  AppConfig load(const std::string& yaml) {
    path_ = dir_.write("leadscore.yaml", yaml);
    auto config = config::load_app_config(path_, {});
    EXPECT_TRUE(config.has_value()) << config::to_text(config.error());
    return config.value_or(AppConfig{});
  }
  std::vector<ConfigError> errors_of(const std::string& yaml) {
    auto set = build_scorers(load(yaml));
    EXPECT_FALSE(set.has_value());
    return set ? std::vector<ConfigError>{} : set.error();
  }

  testing::TempDir dir_;
  std::string path_;
};

TEST_F(RegistryTest, ShippedConfigBuildsTheHeuristicAsPrimary) {
  auto config = config::load_app_config(kShippedConfig, {});
  ASSERT_TRUE(config.has_value()) << config::to_text(config.error());
  auto set = build_scorers(*config);
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  EXPECT_EQ(set->primary().name(), "heuristic");
  ASSERT_EQ(set->entries().size(), 3u);
  EXPECT_EQ(set->entries()[0].plugin, "heuristic");
  for (std::size_t lua : {1u, 2u}) {  // rules and icp_fit
    EXPECT_EQ(set->entries()[lua].plugin_path, std::string(LEADSCORE_PLUGIN_DIR) + "/lua.so");
    EXPECT_EQ(set->entries()[lua].role, "");
  }
  EXPECT_EQ(set->entries()[0].role, "primary");
  // From the build's plugin directory, since the shipped config names none.
  EXPECT_EQ(set->entries()[0].plugin_path, std::string(LEADSCORE_PLUGIN_DIR) + "/heuristic.so");
  EXPECT_TRUE(set->shadows().empty());
  // The shipped params state the built-in defaults: same weights, same version.
  EXPECT_EQ(set->primary().version(), heuristic::HeuristicScorer("heuristic").version());
  // Each Lua scorer passes the rule tests of its own script.
  EXPECT_TRUE(run_self_tests(*set, *config).empty())
      << config::to_text(run_self_tests(*set, *config));
}

TEST_F(RegistryTest, DefaultConfigWithoutScoringSectionBuildsTheHeuristic) {
  auto set = build_scorers(load("server:\n  port: 8000\n"));
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  EXPECT_EQ(set->primary().name(), "heuristic");
}

TEST_F(RegistryTest, FindsScorersByName) {
  auto set = build_scorers(load(R"(scoring:
  primary: strict
  scorers:
    lenient:
      plugin: heuristic
    strict:
      plugin: heuristic
      params:
        transfer_min_score: 0.9
)"));
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  EXPECT_EQ(set->primary().name(), "strict");
  ASSERT_NE(set->find("lenient"), nullptr);
  EXPECT_EQ(set->find("lenient")->name(), "lenient");
  EXPECT_EQ(set->find("missing"), nullptr);
  EXPECT_NE(set->find("lenient")->version(), set->find("strict")->version());
  ASSERT_EQ(set->entries().size(), 2u);
  EXPECT_EQ(set->entries()[0].role, "");
  EXPECT_EQ(set->entries()[1].role, "primary");

  Features f;
  f.source = "partner";
  f.stage = domain::LeadStage::Qualified;
  f.activity_count = 3;
  f.business_domain = "example.com";
  // 0.7 + 0.15 + 0.15 + 0.1 = 1.1 -> 1.0 for both; only the thresholds differ.
  auto lenient = set->find("lenient")->score(f);
  auto strict = set->primary().score(f);
  ASSERT_TRUE(lenient && strict);
  EXPECT_EQ(lenient->recommendation, domain::Recommendation::TransferToSales);
  EXPECT_EQ(strict->recommendation, domain::Recommendation::TransferToSales);
}

TEST_F(RegistryTest, UnknownPluginIsPositioned) {
  auto errors = errors_of(R"(scoring:
  primary: h
  scorers:
    h:
      plugin: heuristik
)");
  ASSERT_EQ(errors.size(), 1u) << config::to_text(errors);
  EXPECT_EQ(errors[0].file, path_);
  EXPECT_EQ(errors[0].line, 5);
  EXPECT_EQ(errors[0].column, 15);
  const std::string file = std::string(LEADSCORE_PLUGIN_DIR) + "/heuristik.so";
  EXPECT_EQ(errors[0].message.rfind("scoring.scorers.h.plugin 'heuristik': cannot load plugin "
                                    "module " +
                                        file + ": ",
                                    0),
            0u)
      << errors[0].message;
}

TEST_F(RegistryTest, PrimaryThatNamesNoScorerIsPositioned) {
  auto errors = errors_of(R"(scoring:
  primary: champion
  scorers:
    h:
      plugin: heuristic
)");
  ASSERT_EQ(errors.size(), 1u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 2);
  EXPECT_EQ(errors[0].message,
            "scoring.primary 'champion' names no configured scorer (configured: h)");
}

TEST_F(RegistryTest, EmptyScorersIsPositioned) {
  auto errors = errors_of("server:\n  port: 8000\nscoring:\n  primary: h\n  scorers: {}\n");
  ASSERT_EQ(errors.size(), 1u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 4);
  EXPECT_NE(errors[0].message.find("scoring.scorers is empty"), std::string::npos);
}

TEST_F(RegistryTest, ParamErrorsOfEveryScorerAreReportedTogether) {
  auto errors = errors_of(R"(scoring:
  primary: nope
  scorers:
    a:
      plugin: heuristic
      params:
        bonus: 1
    b:
      plugin: nosuch
    c:
      plugin: heuristic
      params:
        drop_max_score: high
)");
  ASSERT_EQ(errors.size(), 4u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 2);  // in file order
  EXPECT_NE(errors[0].message.find("scoring.primary 'nope'"), std::string::npos);
  EXPECT_EQ(errors[1].line, 7);
  EXPECT_EQ(errors[1].column, 9);
  EXPECT_EQ(errors[1].message, "scoring.scorers.a: unknown key 'bonus' in params");
  EXPECT_EQ(errors[2].line, 9);
  EXPECT_NE(errors[2].message.find("scoring.scorers.b.plugin 'nosuch': cannot load plugin module"),
            std::string::npos);
  EXPECT_EQ(errors[3].line, 13);
  EXPECT_EQ(errors[3].column, 25);
  EXPECT_EQ(errors[3].message,
            "scoring.scorers.c: params.drop_max_score must be a number, got 'high'");
  for (const auto& e : errors) EXPECT_EQ(e.file, path_);
}

TEST_F(RegistryTest, AParamNamingAnUnsetVariableWithoutADefaultIsPositioned) {
  auto errors = errors_of(R"(scoring:
  primary: h
  scorers:
    h:
      plugin: heuristic
      params:
        transfer_min_score: ${LEADSCORE_TEST_UNSET_VARIABLE}
)");
  ASSERT_EQ(errors.size(), 1u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 7);
  EXPECT_EQ(errors[0].column, 29);
  EXPECT_EQ(errors[0].message.rfind("scoring.scorers.h: the environment variable "
                                    "LEADSCORE_TEST_UNSET_VARIABLE is not set",
                                    0),
            0u)
      << errors[0].message;
}

// config/hybrid.yaml: the composite of rules/icp_fit.lua and the llm plugin builds whole, its
// rule tests pass, and it runs on the slow pool, as its LLM part does.
TEST_F(RegistryTest, ShippedHybridConfigBuildsAndIsSlowLikeItsLlmPart) {
  const std::string path = std::string(LEADSCORE_SOURCE_DIR) + "/config/hybrid.yaml";
  auto config = config::load_app_config(path, {});
  ASSERT_TRUE(config.has_value()) << config::to_text(config.error());
  EXPECT_EQ(config->scoring.primary, "hybrid");
  auto set = build_scorers(*config);
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  EXPECT_EQ(set->primary().name(), "hybrid");
  EXPECT_EQ(set->fallback_of(set->primary()), set->find("icp_fit"));
  ASSERT_NE(set->find("llm"), nullptr);
  EXPECT_TRUE(set->find("llm")->slow());
  EXPECT_TRUE(set->primary().slow());
  EXPECT_FALSE(set->find("icp_fit")->slow());
  EXPECT_TRUE(run_self_tests(*set, *config).empty())
      << config::to_text(run_self_tests(*set, *config));
}

// A composite of the heuristic and rules/icp_fit.lua, each scaled to 0..50: the hybrid's shape
// with the heuristic in the LLM's place.
const std::string kBlend = R"(scoring:
  primary: blend
  scorers:
    heuristic:
      plugin: heuristic
    icp_fit:
      plugin: lua
      params:
        script: )" LEADSCORE_SOURCE_DIR R"(/rules/icp_fit.lua
        icp_industries: [Fintech, B2B SaaS]
      fallback: heuristic
    blend:
      composite:
        parts:
          - {scorer: icp_fit, max_points: 50}
          - {scorer: heuristic, max_points: 50}
        bands: [{label: High, min_points: 70}, {label: Medium, min_points: 40}, {label: Low, min_points: 0}]
      fallback: heuristic
      budget_ms: 5000
)";

TEST_F(RegistryTest, ACompositeOfTheHeuristicAndLuaRulesScoresARealLead) {
  auto set = build_scorers(load(kBlend));
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  const Scorer& blend = set->primary();
  EXPECT_EQ(blend.name(), "blend");
  const ScorerEntry* entry = set->entry_of(blend);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->plugin, "composite");
  EXPECT_EQ(entry->plugin_path, "");
  EXPECT_EQ(entry->fallback, "heuristic");
  EXPECT_EQ(entry->budget_ms, 5000);
  EXPECT_EQ(set->fallback_of(blend), set->find("heuristic"));
  // Its version names each part's version: a change of the rules' file shows in history.
  EXPECT_NE(blend.version().find("(icp_fit=" + set->find("icp_fit")->version() +
                                 ",heuristic=" + set->find("heuristic")->version() + ")"),
            std::string::npos)
      << blend.version();

  // A CTO in Fintech from a partner, qualified, 8 interactions, with a business domain:
  // icp_fit 0.4 (decision maker) + 0.4 (exact ICP industry), no complete profile: 40 of 50;
  // the heuristic 0.7 + 0.25 + 0.15 + 0.1, clamped to 1: 50 of 50. 90 of 100: High.
  Features lead;
  lead.source = "partner";
  lead.stage = domain::LeadStage::Qualified;
  lead.activity_count = 8;
  lead.business_domain = "fintech.example";
  lead.profile.role = "CTO";
  lead.profile.industry = "Fintech";
  const auto result = blend.score(lead);
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_NEAR(result->score, 0.9, 1e-12);
  EXPECT_EQ(result->intent, "High");
  EXPECT_EQ(result->recommendation, domain::Recommendation::TransferToSales);
  EXPECT_EQ(result->reason.rfind("90 of 100 points (High): icp_fit 40 of 50 (", 0), 0u)
      << result->reason;
  ASSERT_GE(result->contributions.size(), 3u);
  EXPECT_EQ(result->contributions[0].rule, "icp_fit: decision maker role");
  EXPECT_NEAR(result->contributions[0].points, 0.2, 1e-12);
  EXPECT_EQ(result->contributions[1].rule, "icp_fit: exact ICP industry");
  EXPECT_EQ(result->contributions[2].rule.rfind("heuristic: ", 0), 0u);
  EXPECT_TRUE(domain::check(*result).has_value()) << domain::check(*result).error();

  // A manual lead with nothing else: icp_fit 0, the heuristic 0.4 - 0.2 = 0.2: 10 of 100.
  Features cold;
  cold.source = "manual";
  const auto low = blend.score(cold);
  ASSERT_TRUE(low.has_value()) << low.error();
  EXPECT_NEAR(low->score, 0.1, 1e-12);
  EXPECT_EQ(low->intent, "Low");
  EXPECT_EQ(low->recommendation, domain::Recommendation::DropLead);
}

TEST_F(RegistryTest, ACompositeIsNeitherAPluginNorHasParams) {
  path_ = dir_.write("leadscore.yaml", R"(scoring:
  primary: c
  scorers:
    c:
      plugin: heuristic
      composite: {parts: [{scorer: h, max_points: 1}]}
    d:
      composite: {parts: [{scorer: h, max_points: 1}]}
      params: {x: 1}
    e:
      fallback: h
)");
  auto config = config::load_app_config(path_, {});
  ASSERT_FALSE(config.has_value());
  const auto& errors = config.error();
  ASSERT_EQ(errors.size(), 3u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 5);
  EXPECT_EQ(errors[0].message,
            "scoring.scorers.c has both `plugin` and `composite`: a scorer is an instance of a "
            "plugin or a composite of other scorers");
  EXPECT_EQ(errors[1].line, 9);
  EXPECT_EQ(errors[1].message,
            "scoring.scorers.d.params: a composite has no params (each of its parts has its own)");
  EXPECT_EQ(errors[2].line, 11);
  EXPECT_EQ(errors[2].message,
            "missing key 'plugin' in scoring.scorers.e (or 'composite', for a composite of "
            "other scorers)");
}

TEST_F(RegistryTest, CompositePartsMustNameScorersThatCanRun) {
  auto errors = errors_of(R"(scoring:
  primary: c
  scorers:
    h:
      plugin: heuristic
    broken:
      plugin: nosuch
    bad:
      composite: {parts: []}
    c:
      composite:
        parts:
          - {scorer: h, max_points: 10}
          - {scorer: ghost, max_points: 10}
          - {scorer: broken, max_points: 10}
          - {scorer: bad, max_points: 10}
)");
  ASSERT_EQ(errors.size(), 5u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 7);  // the module's own error
  EXPECT_EQ(errors[1].line, 9);  // bad's own error
  EXPECT_EQ(errors[1].message,
            "scoring.scorers.bad.composite.parts is empty: a composite needs "
            "at least one part");
  EXPECT_EQ(errors[2].line, 14);
  EXPECT_EQ(errors[2].column, 22);
  EXPECT_EQ(errors[2].message,
            "scoring.scorers.c.composite.parts[1].scorer 'ghost' names no configured scorer");
  EXPECT_EQ(errors[3].line, 15);
  EXPECT_EQ(errors[3].message,
            "scoring.scorers.c.composite.parts[2] 'broken' cannot run: that scorer has errors of "
            "its own (reported at it)");
  EXPECT_EQ(errors[4].line, 16);
  EXPECT_EQ(errors[4].message,
            "scoring.scorers.c.composite.parts[3] 'bad' cannot run: that scorer has errors of "
            "its own (reported at it)");
  for (const auto& e : errors) EXPECT_EQ(e.file, path_);
}

TEST_F(RegistryTest, ACompositeThatContainsItselfIsRefusedAtThePartThatLeadsBack) {
  auto errors = errors_of(R"(scoring:
  primary: a
  scorers:
    h:
      plugin: heuristic
    a:
      composite:
        parts:
          - {scorer: a, max_points: 10}
          - {scorer: b, max_points: 10}
    b:
      composite:
        parts: [{scorer: h, max_points: 10}, {scorer: a, max_points: 10}]
)");
  ASSERT_EQ(errors.size(), 3u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 9);
  EXPECT_EQ(errors[0].message, "scoring.scorers.a.composite.parts[0] names the composite itself");
  EXPECT_EQ(errors[1].line, 10);
  EXPECT_EQ(errors[1].message,
            "scoring.scorers.a.composite.parts[1] 'b' contains a again: a -> b -> a");
  EXPECT_EQ(errors[2].line, 13);
  EXPECT_EQ(errors[2].column, 55);
  EXPECT_EQ(errors[2].message,
            "scoring.scorers.b.composite.parts[1] 'a' contains b again: b -> a -> b");
}

TEST_F(RegistryTest, ACompositeReachedAgainThroughAPartsFallbackIsRefused) {
  // When rules fails inside hybrid, its fallback answers for it there: hybrid again, forever.
  auto errors = errors_of(R"(scoring:
  primary: hybrid
  scorers:
    h:
      plugin: heuristic
    rules:
      plugin: heuristic
      fallback: hybrid
    hybrid:
      composite:
        parts: [{scorer: h, max_points: 50}, {scorer: rules, max_points: 50}]
)");
  ASSERT_EQ(errors.size(), 1u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 11);
  EXPECT_EQ(errors[0].message,
            "scoring.scorers.hybrid.composite.parts[1] 'rules' contains hybrid again: hybrid -> "
            "rules -> hybrid (fallback)");
}

TEST_F(RegistryTest, CompositesOfCompositesAndTheirPartsFallbacksAreWired) {
  auto set = build_scorers(load(R"(scoring:
  primary: outer
  shadow: [inner]
  scorers:
    outer:
      composite:
        parts: [{scorer: inner, weight: 1}, {scorer: flaky, weight: 3}]
    inner:
      composite:
        parts: [{scorer: h, max_points: 10}]
      fallback: h
    flaky:
      plugin: heuristic
      fallback: h
      budget_ms: 100
    h:
      plugin: heuristic
)"));
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  ASSERT_EQ(set->entries().size(), 4u);  // in the file's order
  EXPECT_EQ(set->entries()[0].scorer->name(), "outer");
  EXPECT_EQ(set->entries()[0].role, "primary");
  EXPECT_EQ(set->entries()[1].role, "shadow");
  const auto* outer = dynamic_cast<const CompositeScorer*>(&set->primary());
  ASSERT_NE(outer, nullptr);
  EXPECT_EQ(outer->max_points(), 4);
  ASSERT_EQ(outer->parts().size(), 2u);
  const auto& inner_runners = outer->parts()[0].runners;
  ASSERT_EQ(inner_runners.size(), 2u);  // inner, then its fallback h
  EXPECT_EQ(inner_runners[0].scorer, set->find("inner"));
  EXPECT_EQ(inner_runners[1].scorer, set->find("h"));
  const auto& flaky_runners = outer->parts()[1].runners;
  ASSERT_EQ(flaky_runners.size(), 2u);
  EXPECT_EQ(flaky_runners[0].scorer, set->find("flaky"));
  EXPECT_EQ(flaky_runners[0].budget_ms, 100);
  EXPECT_EQ(flaky_runners[1].budget_ms, 0);
  const auto result = outer->score(Features{});
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_TRUE(domain::check(*result).has_value());
}

// A scorer that is not a plugin, for the set's own checks.
class NamedScorer final : public Scorer {
 public:
  explicit NamedScorer(std::string name) : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  const std::string& version() const override { return name_; }
  std::expected<ScoreResult, std::string> score(const Features&) const override {
    return std::unexpected(std::string("not for scoring"));
  }

 private:
  std::string name_;
};

TEST(ScorerSet, RefusesAPrimaryOutsideTheSet) {
  std::vector<ScorerEntry> entries;
  entries.push_back({});
  entries.back().scorer = std::make_unique<NamedScorer>("a");
  EXPECT_THROW(ScorerSet(std::move(entries), "b"), std::invalid_argument);
}

// A scorer named `name` that falls back to `fallback` ("" for none).
ScorerEntry named_entry(const std::string& name, const std::string& fallback = "") {
  ScorerEntry e;
  e.scorer = std::make_unique<NamedScorer>(name);
  e.fallback = fallback;
  return e;
}

TEST(ScorerSet, RefusesFallbackCyclesAndUnknownFallbacks) {
  {
    std::vector<ScorerEntry> entries;
    entries.push_back(named_entry("a", "b"));
    entries.push_back(named_entry("b", "a"));
    EXPECT_THROW(ScorerSet(std::move(entries), "a"), std::invalid_argument);
  }
  {
    std::vector<ScorerEntry> entries;
    entries.push_back(named_entry("a", "zzz"));
    EXPECT_THROW(ScorerSet(std::move(entries), "a"), std::invalid_argument);
  }
}

TEST(ScorerSet, RolesComeFromPrimaryAndShadows) {
  std::vector<ScorerEntry> entries;
  entries.push_back(named_entry("a", "c"));
  entries.push_back(named_entry("b"));
  entries.push_back(named_entry("c"));
  const ScorerSet set(std::move(entries), "a", {"b"});
  EXPECT_EQ(set.entries()[0].role, "primary");
  EXPECT_EQ(set.entries()[1].role, "shadow");
  EXPECT_EQ(set.entries()[2].role, "");
  ASSERT_EQ(set.shadows().size(), 1u);
  EXPECT_EQ(set.shadows()[0], set.find("b"));
  EXPECT_EQ(set.fallback_of(set.primary()), set.find("c"));
  EXPECT_EQ(set.fallback_of(*set.find("b")), nullptr);
  EXPECT_EQ(set.entry_of(*set.find("c"))->scorer.get(), set.find("c"));
}

const std::string kTestPlugins = TEST_PLUGIN_DIR;

TEST_F(RegistryTest, PluginsDirIsRelativeToTheConfigFile) {
  std::filesystem::create_directories(dir_.path() / "modules");
  std::filesystem::copy_file(std::string(LEADSCORE_PLUGIN_DIR) + "/example.so",
                             dir_.path() / "modules" / "example.so");
  auto config = load(R"(plugins:
  dir: modules
scoring:
  primary: e
  scorers:
    e:
      plugin: example
      params:
        min_activity: 2
)");
  EXPECT_EQ(config.plugins.dir, (dir_.path() / "modules").string());
  auto set = build_scorers(config);
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  EXPECT_EQ(set->entries()[0].plugin_path, (dir_.path() / "modules" / "example.so").string());
  EXPECT_EQ(set->primary().version(), "1.0+min2");
}

TEST_F(RegistryTest, APluginWithASlashIsAModulePathRelativeToTheConfigFile) {
  std::filesystem::copy_file(std::string(LEADSCORE_PLUGIN_DIR) + "/example.so",
                             dir_.path() / "my_scorer.so");
  auto set = build_scorers(load(R"(scoring:
  primary: e
  scorers:
    e:
      plugin: ./my_scorer.so
)"));
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  EXPECT_EQ(set->entries()[0].plugin_path, (dir_.path() / "my_scorer.so").string());
}

TEST_F(RegistryTest, ModuleProblemsNameTheFileAtThePluginLine) {
  auto errors = errors_of(R"(scoring:
  primary: a
  scorers:
    a:
      plugin: )" + kTestPlugins +
                          R"(/test_wrong_abi.so
    b:
      plugin: )" + kTestPlugins +
                          R"(/test_no_entry.so
    c:
      plugin: )" + kTestPlugins +
                          R"(/test_wrong_abi.so
)");
  ASSERT_EQ(errors.size(), 3u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 5);
  EXPECT_EQ(errors[0].message, "scoring.scorers.a.plugin '" + kTestPlugins +
                                   "/test_wrong_abi.so': plugin module " + kTestPlugins +
                                   "/test_wrong_abi.so: was built for plugin ABI version 999, "
                                   "this engine implements version 1 (rebuild it)");
  EXPECT_EQ(errors[1].line, 7);
  EXPECT_NE(errors[1].message.find("test_no_entry.so: has no symbol leadscore_plugin"),
            std::string::npos);
  EXPECT_EQ(errors[2].line, 9);  // the same module, reported for each scorer using it
}

TEST_F(RegistryTest, PluginParamErrorsPointAtTheirLine) {
  auto errors = errors_of(R"(scoring:
  primary: e
  scorers:
    e:
      plugin: example
      params:
        min_activity: 0
    t:
      plugin: )" + kTestPlugins +
                          R"(/test_good.so
      params:
        refuse: yes
)");
  ASSERT_EQ(errors.size(), 3u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 7);
  EXPECT_EQ(errors[0].column, 23);
  EXPECT_EQ(errors[0].message, "scoring.scorers.e: min_activity must be an integer in 1..1000");
  EXPECT_EQ(errors[1].line, 10);  // no position: the `params` key
  EXPECT_EQ(errors[1].message, "scoring.scorers.t: and a second problem without a position");
  EXPECT_EQ(errors[2].line, 11);
  EXPECT_EQ(errors[2].message, "scoring.scorers.t: refused as asked");
}

TEST_F(RegistryTest, FallbacksAndShadowsAreWired) {
  auto set = build_scorers(load(R"(scoring:
  primary: main
  shadow: [challenger]
  scorers:
    main:
      plugin: )" + kTestPlugins +
                                R"(/test_good.so
      fallback: safe
      budget_ms: 250
    challenger:
      plugin: heuristic
      params:
        transfer_min_score: 0.8
    safe:
      plugin: heuristic
)"));
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  EXPECT_EQ(set->fallback_of(set->primary()), set->find("safe"));
  ASSERT_EQ(set->shadows().size(), 1u);
  EXPECT_EQ(set->shadows()[0], set->find("challenger"));
  EXPECT_EQ(set->entries()[0].role, "primary");
  EXPECT_EQ(set->entries()[0].fallback, "safe");
  EXPECT_EQ(set->entries()[0].budget_ms, 250);
  EXPECT_EQ(set->entries()[1].role, "shadow");
  EXPECT_EQ(set->entries()[2].role, "");
}

TEST_F(RegistryTest, FallbackAndShadowMistakesArePositioned) {
  auto errors = errors_of(R"(scoring:
  primary: a
  shadow:
    - nobody
    - a
    - d
    - d
  scorers:
    a:
      plugin: heuristic
      fallback: b
    b:
      plugin: heuristic
      fallback: c
    c:
      plugin: heuristic
      fallback: a
    d:
      plugin: heuristic
      fallback: ghost
)");
  ASSERT_EQ(errors.size(), 7u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 4);
  EXPECT_EQ(errors[0].message, "scoring.shadow[0] 'nobody' names no configured scorer");
  EXPECT_EQ(errors[1].line, 5);
  EXPECT_EQ(errors[1].message,
            "scoring.shadow[1] 'a' is the primary scorer: a shadow runs beside it");
  EXPECT_EQ(errors[2].line, 7);
  EXPECT_EQ(errors[2].message, "scoring.shadow[3] repeats 'd'");
  EXPECT_EQ(errors[3].line, 11);
  EXPECT_EQ(errors[3].message, "scoring.scorers.a.fallback makes a cycle: a -> b -> c -> a");
  EXPECT_EQ(errors[4].line, 14);
  EXPECT_EQ(errors[4].message, "scoring.scorers.b.fallback makes a cycle: b -> c -> a -> b");
  EXPECT_EQ(errors[5].line, 17);
  EXPECT_EQ(errors[6].line, 20);
  EXPECT_EQ(errors[6].column, 17);
  EXPECT_EQ(errors[6].message, "scoring.scorers.d.fallback 'ghost' names no configured scorer");
}

TEST_F(RegistryTest, AScorerCannotFallBackToItself) {
  path_ = dir_.write("leadscore.yaml", R"(scoring:
  primary: a
  scorers:
    a:
      plugin: heuristic
      fallback: a
)");
  auto config = config::load_app_config(path_, {});
  ASSERT_FALSE(config.has_value());
  ASSERT_EQ(config.error().size(), 1u) << config::to_text(config.error());
  EXPECT_EQ(config.error()[0].line, 6);
  EXPECT_EQ(config.error()[0].message, "scoring.scorers.a.fallback names the scorer itself");
}

TEST_F(RegistryTest, NewKeysAreCheckedForShape) {
  path_ = dir_.write("leadscore.yaml", R"(plugins:
  dir: ""
  cache: 1
scoring:
  primary: a
  shadow: b
  scorers:
    a:
      plugin: heuristic
      budget_ms: 0
      fallback: [b]
)");
  auto config = config::load_app_config(path_, {});
  ASSERT_FALSE(config.has_value());
  const std::string text = config::to_text(config.error());
  ASSERT_EQ(config.error().size(), 5u) << text;
  EXPECT_EQ(config.error()[0].line, 2);
  EXPECT_EQ(config.error()[0].message, "plugins.dir must be a directory, got ''");
  EXPECT_EQ(config.error()[1].line, 3);
  EXPECT_EQ(config.error()[2].line, 6);  // shadow must be a list
  EXPECT_EQ(config.error()[3].line, 10);
  EXPECT_EQ(config.error()[4].line, 11);
}

// A config with a Lua scorer of rules/default.lua whose rule test expects `expected` for a cold
// scanner lead (the rules say drop_lead), and the heuristic, whose plugin has no self test.
std::string lua_scorer_with_tests(const testing::TempDir& dir, const std::string& expected) {
  const std::string tests = dir.write("default.yaml", "script: " LEADSCORE_SOURCE_DIR
                                                      "/rules/default.lua\n"
                                                      "cases:\n"
                                                      "  - name: cold scanner lead\n"
                                                      "    lead: {source: scanner, stage: new}\n"
                                                      "    expect: {recommendation: " +
                                                          expected + "}\n");
  return "scoring:\n"
         "  primary: heuristic\n"
         "  scorers:\n"
         "    heuristic:\n"
         "      plugin: heuristic\n"
         "    rules:\n"
         "      plugin: lua\n"
         "      params:\n"
         "        script: " LEADSCORE_SOURCE_DIR
         "/rules/default.lua\n"
         "        tests: " +
         tests + "\n";
}

TEST_F(RegistryTest, SelfTestsReportAFailingRuleTestAtItsLineNamingTheScorer) {
  const AppConfig config = load(lua_scorer_with_tests(dir_, "transfer_to_sales"));
  auto set = build_scorers(config);
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  const auto errors = run_self_tests(*set, config);
  ASSERT_EQ(errors.size(), 1u) << config::to_text(errors);
  EXPECT_EQ(errors[0].file, (dir_.path() / "default.yaml").string());
  EXPECT_EQ(errors[0].line, 3);
  EXPECT_NE(errors[0].message.find("scoring.scorers.rules: rule test 'cold scanner lead' failed"),
            std::string::npos)
      << errors[0].message;
}

TEST_F(RegistryTest, SelfTestsPassWhenTheRulesPassAndSkipPluginsWithoutOne) {
  const AppConfig config = load(lua_scorer_with_tests(dir_, "drop_lead"));
  auto set = build_scorers(config);
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  EXPECT_TRUE(run_self_tests(*set, config).empty());
}

TEST_F(RegistryTest, ASelfTestProblemWithoutAFileIsAtTheScorersParams) {
  const AppConfig config = load(
      "scoring:\n"
      "  primary: t\n"
      "  scorers:\n"
      "    t:\n"
      "      plugin: " +
      kTestPlugins +
      "/test_good.so\n"
      "      params: {mode: self_test_breaks}\n");
  auto set = build_scorers(config);
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  const auto errors = run_self_tests(*set, config);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, path_);
  EXPECT_EQ(errors[0].line, 6);
  EXPECT_EQ(errors[0].message, "scoring.scorers.t: the tests could not run");
}

TEST_F(RegistryTest, ASlowScorersBudgetMustEndBeforeTheRequestMustBeAnswered) {
  const std::string slow = std::string(TEST_PLUGIN_DIR) + "/test_slow.so";
  // header_timeout_ms 5000: answers are sent until 4000 ms, slow runs waited for until 3000.
  const std::string head =
      "server: {header_timeout_ms: 5000, request_timeout_ms: 1000}\n"
      "scoring:\n  primary: llm\n  scorers:\n    llm:\n      plugin: " +
      slow + "\n";
  const auto errors = errors_of(head + "      budget_ms: 3000\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 5);
  EXPECT_NE(errors[0].message.find("scoring.scorers.llm.budget_ms (3000) must be below 3000 ms "
                                   "for a slow scorer (plugin test is flagged LS_PLUGIN_SLOW)"),
            std::string::npos)
      << errors[0].message;
  auto set = build_scorers(load(head + "      budget_ms: 2999\n"));
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  EXPECT_TRUE(set->primary().slow());
  // A scorer that is not slow runs on the request's worker and may have any budget.
  const std::string fast = std::string(TEST_PLUGIN_DIR) + "/test_good.so";
  EXPECT_TRUE(build_scorers(load("server: {header_timeout_ms: 5000, request_timeout_ms: 1000}\n"
                                 "scoring:\n  primary: t\n  scorers:\n    t:\n      plugin: " +
                                 fast + "\n      budget_ms: 9000\n"))
                  .has_value());
}

}  // namespace
}  // namespace leadscore::scoring
