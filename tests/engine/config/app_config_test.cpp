#include "engine/config/app_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/temp_file.h"

namespace leadscore::config {
namespace {

using testing::TempDir;

const std::string kShippedConfig = std::string(LEADSCORE_SOURCE_DIR) + "/config/leadscore.yaml";

class AppConfigTest : public ::testing::Test {
 protected:
  // Loads `yaml` from a file of its own, with no environment overrides.
  std::expected<AppConfig, std::vector<ConfigError>> load(const std::string& yaml,
                                                          EnvOverrides env = {}) {
    path_ = dir_.write("leadscore.yaml", yaml);
    return load_app_config(path_, env);
  }
  // The errors of a config that must fail.
  std::vector<ConfigError> errors_of(const std::string& yaml, EnvOverrides env = {}) {
    auto result = load(yaml, env);
    EXPECT_FALSE(result.has_value()) << "expected errors for:\n" << yaml;
    return result ? std::vector<ConfigError>{} : result.error();
  }

  TempDir dir_;
  std::string path_;
};

// The one error whose message contains `text`; fails the test when there is not exactly one.
ConfigError find_error(const std::vector<ConfigError>& errors, const std::string& text) {
  std::vector<ConfigError> found;
  for (const auto& e : errors)
    if (e.message.find(text) != std::string::npos) found.push_back(e);
  EXPECT_EQ(found.size(), 1u) << "looking for '" << text << "' in:\n" << to_text(errors);
  return found.empty() ? ConfigError{} : found.front();
}

TEST_F(AppConfigTest, ShippedConfigLoadsCleanly) {
  auto config = load_app_config(kShippedConfig, {});
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  EXPECT_EQ(config->path, kShippedConfig);
  EXPECT_EQ(config->scoring.primary, "heuristic");
  ASSERT_EQ(config->scoring.scorers.size(), 3u);
  EXPECT_EQ(config->scoring.scorers[0].name, "heuristic");
  EXPECT_EQ(config->scoring.scorers[0].plugin, "heuristic");
  EXPECT_TRUE(config->scoring.scorers[0].params.IsMap());
  // The analysts' Lua rules, runnable by name, falling back to the heuristic.
  EXPECT_EQ(config->scoring.scorers[1].name, "rules");
  EXPECT_EQ(config->scoring.scorers[1].plugin, "lua");
  EXPECT_EQ(config->scoring.scorers[1].fallback, "heuristic");
  // The hybrid rule layer, which reads the active offer.
  EXPECT_EQ(config->scoring.scorers[2].name, "icp_fit");
  EXPECT_EQ(config->scoring.scorers[2].plugin, "lua");
  EXPECT_EQ(config->scoring.scorers[2].fallback, "heuristic");
}

TEST_F(AppConfigTest, ShippedConfigStatesTheBuiltInDefaults) {
  auto config = load_app_config(kShippedConfig, {});
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  const AppConfig defaults;
  EXPECT_EQ(config->server.host, defaults.server.host);
  EXPECT_EQ(config->server.port, defaults.server.port);
  EXPECT_EQ(config->server.threads, defaults.server.threads);
  EXPECT_EQ(config->server.workers, defaults.server.workers);
  EXPECT_EQ(config->server.queue_limit, defaults.server.queue_limit);
  EXPECT_EQ(config->server.slow_workers, defaults.server.slow_workers);
  EXPECT_EQ(config->server.slow_queue, defaults.server.slow_queue);
  EXPECT_EQ(config->server.max_body_bytes, defaults.server.max_body_bytes);
  EXPECT_EQ(config->server.request_timeout_ms, defaults.server.request_timeout_ms);
  EXPECT_EQ(config->server.header_timeout_ms, defaults.server.header_timeout_ms);
  EXPECT_EQ(config->server.idle_timeout_ms, defaults.server.idle_timeout_ms);
  EXPECT_EQ(config->server.expose_directly, defaults.server.expose_directly);
  EXPECT_EQ(config->server.docs_dir, defaults.server.docs_dir);
  EXPECT_EQ(config->database.url, defaults.database.url);
  EXPECT_EQ(config->database.pool_size, defaults.database.pool_size);
  EXPECT_EQ(config->log.level, defaults.log.level);
  EXPECT_EQ(config->log.requests, defaults.log.requests);
  EXPECT_EQ(config->handoff.min_score, defaults.handoff.min_score);
  EXPECT_EQ(config->sources, defaults.sources);
  EXPECT_EQ(config->jobs.runners, defaults.jobs.runners);
  EXPECT_EQ(config->jobs.batch_size, defaults.jobs.batch_size);
  EXPECT_EQ(config->jobs.in_flight, defaults.jobs.in_flight);
  EXPECT_EQ(config->jobs.lease_ms, defaults.jobs.lease_ms);
  EXPECT_EQ(config->jobs.poll_ms, defaults.jobs.poll_ms);
}

TEST_F(AppConfigTest, ReadsTheJobsSectionAndRefusesWhatIsOutOfRange) {
  auto config = load(
      "jobs:\n  runners: 0\n  batch_size: 10\n  in_flight: 1\n  lease_ms: 1000\n"
      "  poll_ms: 50\n");
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  EXPECT_EQ(config->jobs.runners, 0);
  EXPECT_EQ(config->jobs.batch_size, 10);
  EXPECT_EQ(config->jobs.in_flight, 1);
  EXPECT_EQ(config->jobs.lease_ms, 1000);
  EXPECT_EQ(config->jobs.poll_ms, 50);
  const auto errors = errors_of("jobs:\n  runners: 65\n  lease_ms: 10\n  speed: 3\n");
  EXPECT_EQ(find_error(errors, "runners").line, 2);
  EXPECT_EQ(find_error(errors, "lease_ms").line, 3);
  EXPECT_EQ(find_error(errors, "speed").line, 4);
}

TEST_F(AppConfigTest, CorsAndRateLimitsAreOffByDefaultAndInTheShippedConfig) {
  auto shipped = load_app_config(kShippedConfig, {});
  ASSERT_TRUE(shipped.has_value()) << to_text(shipped.error());
  EXPECT_FALSE(shipped->server.cors.enabled());
  EXPECT_FALSE(shipped->rate_limit.enabled());
  EXPECT_EQ(shipped->server.cors.allowed_headers, AppConfig().server.cors.allowed_headers);
  EXPECT_EQ(shipped->server.cors.max_age_s, AppConfig().server.cors.max_age_s);
}

TEST_F(AppConfigTest, ReadsCorsAndRefusesWhatIsNotAnOrigin) {
  auto config = load(
      "server:\n  cors:\n    allowed_origins: [\"https://crm.example.com\", "
      "\"http://127.0.0.1:3000\"]\n    allowed_headers: [Authorization]\n    max_age_s: 60\n");
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  EXPECT_EQ(config->server.cors.allowed_origins,
            (std::vector<std::string>{"https://crm.example.com", "http://127.0.0.1:3000"}));
  EXPECT_EQ(config->server.cors.allowed_headers, std::vector<std::string>{"Authorization"});
  EXPECT_EQ(config->server.cors.max_age_s, 60);
  auto any = load("server: {cors: {allowed_origins: [\"*\"]}}\n");
  ASSERT_TRUE(any.has_value()) << to_text(any.error());
  EXPECT_TRUE(any->server.cors.enabled());

  const auto errors = errors_of(
      "server:\n  cors:\n    allowed_origins:\n      - https://crm.example.com/app\n"
      "      - crm.example.com\n    allowed_headers: [\"X Bad\"]\n    max_age_s: -1\n"
      "    origins: []\n");
  EXPECT_EQ(find_error(errors, "server.cors.allowed_origins[0]").line, 4);
  EXPECT_EQ(find_error(errors, "server.cors.allowed_origins[1]").line, 5);
  EXPECT_EQ(find_error(errors, "server.cors.allowed_headers[0]").line, 6);
  EXPECT_EQ(find_error(errors, "max_age_s").line, 7);
  EXPECT_EQ(find_error(errors, "origins'").line, 8);
}

TEST_F(AppConfigTest, ReadsRateLimitsPerKeyAndPerRole) {
  auto config = load(
      "rate_limit:\n  per_key: {rate_per_s: 2.5, burst: 10}\n  per_role:\n"
      "    admin: {rate_per_s: 100, burst: 200}\n");
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  ASSERT_TRUE(config->rate_limit.per_key);
  EXPECT_EQ(config->rate_limit.per_key->rate_per_s, 2.5);
  EXPECT_EQ(config->rate_limit.per_key->burst, 10);
  ASSERT_EQ(config->rate_limit.per_role.count("admin"), 1u);
  EXPECT_EQ(config->rate_limit.per_role.at("admin").burst, 200);
  auto role_only = load("rate_limit: {per_role: {viewer: {rate_per_s: 1, burst: 1}}}\n");
  ASSERT_TRUE(role_only.has_value()) << to_text(role_only.error());
  EXPECT_TRUE(role_only->rate_limit.enabled());
  EXPECT_FALSE(role_only->rate_limit.per_key);

  const auto errors = errors_of(
      "rate_limit:\n  per_key:\n    rate_per_s: 0\n    burst: 1.5\n  per_role:\n"
      "    owner: {rate_per_s: 1, burst: 1}\n    viewer: {burst: 3}\n");
  EXPECT_EQ(find_error(errors, "rate_per_s must").line, 3);
  EXPECT_EQ(find_error(errors, "burst").line, 4);
  EXPECT_EQ(find_error(errors, "unknown role 'owner'").line, 6);
  EXPECT_EQ(find_error(errors, "missing key 'rate_per_s' in rate_limit.per_role.viewer").line, 7);
}

TEST_F(AppConfigTest, DocsDirIsRelativeToTheConfigFileAndNeverEmpty) {
  auto relative = load("server:\n  docs_dir: ../web/node_modules\n");
  ASSERT_TRUE(relative.has_value()) << to_text(relative.error());
  EXPECT_EQ(
      relative->server.docs_dir,
      (std::filesystem::path(path_).parent_path().parent_path() / "web/node_modules").string());
  auto absolute = load("server:\n  docs_dir: /usr/share/leadscore/docs\n");
  ASSERT_TRUE(absolute.has_value()) << to_text(absolute.error());
  EXPECT_EQ(absolute->server.docs_dir, "/usr/share/leadscore/docs");
  EXPECT_EQ(find_error(errors_of("server:\n  docs_dir: ''\n"), "docs_dir").line, 2);
}

TEST_F(AppConfigTest, EmptyFileGivesDefaults) {
  auto config = load("");
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  EXPECT_EQ(config->server.host, "127.0.0.1");
  EXPECT_EQ(config->server.port, 8000);
  EXPECT_EQ(config->server.threads, 2);
  EXPECT_EQ(config->server.workers, 32);
  EXPECT_EQ(config->server.queue_limit, 1024);
  EXPECT_EQ(config->server.max_body_bytes, 1048576u);
  EXPECT_EQ(config->server.request_timeout_ms, 10000);
  EXPECT_EQ(config->database.url, "");
  EXPECT_EQ(config->database.pool_size, 8);
  EXPECT_EQ(config->log.level, "info");
  EXPECT_TRUE(config->log.requests);
  EXPECT_EQ(config->handoff.min_score, 0.6);
  EXPECT_EQ(config->sources, (std::vector<std::string>{"scanner", "partner", "manual"}));
  // Without a scoring section: the built-in heuristic with its default params.
  EXPECT_EQ(config->scoring.primary, "heuristic");
  ASSERT_EQ(config->scoring.scorers.size(), 1u);
  EXPECT_EQ(config->scoring.scorers[0].plugin, "heuristic");
}

TEST_F(AppConfigTest, AbsentKeysKeepDefaultsBesideGivenOnes) {
  auto config = load("server:\n  port: 9000\nlog:\n  level: debug\n");
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  EXPECT_EQ(config->server.port, 9000);
  EXPECT_EQ(config->server.workers, 32);
  EXPECT_EQ(config->log.level, "debug");
  EXPECT_TRUE(config->log.requests);
}

TEST_F(AppConfigTest, ReadsEveryKey) {
  auto config = load(R"(
server: {host: 0.0.0.0, port: 8080, threads: 4, workers: 16, queue_limit: 10, max_body_bytes: 4096, request_timeout_ms: 500, header_timeout_ms: 2000, idle_timeout_ms: 5000, expose_directly: true}
database: {url: "postgresql://localhost/x", pool_size: 3}
log: {level: warn, requests: false}
handoff: {min_score: 0.75}
sources: [web, fair]
scoring:
  primary: b
  scorers:
    a: {plugin: heuristic}
    b:
      plugin: heuristic
      params: {other_source_points: 0.1}
)");
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  EXPECT_EQ(config->server.host, "0.0.0.0");
  EXPECT_EQ(config->server.port, 8080);
  EXPECT_EQ(config->server.threads, 4);
  EXPECT_EQ(config->server.workers, 16);
  EXPECT_EQ(config->server.queue_limit, 10);
  EXPECT_EQ(config->server.max_body_bytes, 4096u);
  EXPECT_EQ(config->server.request_timeout_ms, 500);
  EXPECT_EQ(config->server.header_timeout_ms, 2000);
  EXPECT_EQ(config->server.idle_timeout_ms, 5000);
  EXPECT_TRUE(config->server.expose_directly);
  EXPECT_EQ(config->database.url, "postgresql://localhost/x");
  EXPECT_EQ(config->database.pool_size, 3);
  EXPECT_EQ(config->log.level, "warn");
  EXPECT_FALSE(config->log.requests);
  EXPECT_EQ(config->handoff.min_score, 0.75);
  EXPECT_EQ(config->sources, (std::vector<std::string>{"web", "fair"}));
  EXPECT_EQ(config->scoring.primary, "b");
  ASSERT_EQ(config->scoring.scorers.size(), 2u);
  EXPECT_EQ(config->scoring.scorers[0].name, "a");  // file order
  EXPECT_EQ(config->scoring.scorers[1].name, "b");
  EXPECT_EQ(config->scoring.scorers[1].params["other_source_points"].Scalar(), "0.1");
  EXPECT_EQ(config->scoring.primary_position.line, 8);
  EXPECT_EQ(config->scoring.scorers[1].position.line, 11);
  EXPECT_EQ(config->scoring.scorers[1].plugin_position.line, 12);
}

TEST_F(AppConfigTest, UnknownKeyNamesTheKeyAndItsLine) {
  auto errors = errors_of("server:\n  port: 8000\n  prot: 8001\n");
  ASSERT_EQ(errors.size(), 1u) << to_text(errors);
  EXPECT_EQ(errors[0].file, path_);
  EXPECT_EQ(errors[0].line, 3);
  EXPECT_EQ(errors[0].column, 3);
  EXPECT_NE(errors[0].message.find("unknown key 'prot' in server"), std::string::npos)
      << errors[0].message;
  EXPECT_NE(errors[0].message.find("did you mean 'port'"), std::string::npos) << errors[0].message;
  EXPECT_EQ(errors[0].to_text(), path_ + ":3:3: " + errors[0].message);
}

TEST_F(AppConfigTest, TheRetiredRulesTestsKeySaysWhereRuleTestsGoNow) {
  auto errors = errors_of("server:\n  port: 8000\nrules:\n  tests: ../rules/tests\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 4);
  EXPECT_NE(errors[0].message.find("rules.tests is no longer read: name each Lua scorer's rule "
                                   "tests in its params"),
            std::string::npos)
      << errors[0].message;
}

TEST_F(AppConfigTest, UnknownTopLevelKeyIsAnError) {
  auto errors = errors_of("server:\n  port: 8000\ncache:\n  size: 3\n");
  auto e = find_error(errors, "unknown key 'cache' at the top level");
  EXPECT_EQ(e.line, 3);
}

TEST_F(AppConfigTest, UnknownKeyInNestedSectionsIsAnError) {
  auto errors = errors_of(R"(scoring:
  primary: h
  shadows: x
  scorers:
    h:
      plugin: heuristic
      weight: 2
)");
  EXPECT_EQ(find_error(errors, "unknown key 'shadows' in scoring").line, 3);
  EXPECT_EQ(find_error(errors, "unknown key 'weight' in scoring.scorers.h").line, 7);
}

TEST_F(AppConfigTest, WrongTypeNamesTheKeyAndItsLine) {
  auto errors = errors_of("log:\n  level: info\nserver:\n  port: eighty\n");
  ASSERT_EQ(errors.size(), 1u) << to_text(errors);
  EXPECT_EQ(errors[0].line, 4);
  EXPECT_EQ(errors[0].column, 9);
  EXPECT_NE(errors[0].message.find("server.port must be an integer"), std::string::npos)
      << errors[0].message;
}

TEST_F(AppConfigTest, QuotedNumberIsNotAnInteger) {
  auto errors = errors_of("server:\n  port: \"8000\"\n");
  EXPECT_EQ(find_error(errors, "server.port must be an integer").line, 2);
}

TEST_F(AppConfigTest, FractionIsNotAnInteger) {
  auto errors = errors_of("server:\n  workers: 2.5\n");
  EXPECT_EQ(find_error(errors, "server.workers must be an integer").line, 2);
}

TEST_F(AppConfigTest, MissingValuePointsAtItsKey) {
  auto errors = errors_of("server:\n  port:\n  threads: 2\n");
  auto e = find_error(errors, "server.port must be an integer, got nothing");
  EXPECT_EQ(e.line, 2);
}

TEST_F(AppConfigTest, OutOfRangeValuesAreErrors) {
  auto errors = errors_of(R"(server:
  port: 70000
  threads: 0
  max_body_bytes: -5
database:
  pool_size: 100000
handoff:
  min_score: 1.5
)");
  EXPECT_EQ(find_error(errors, "server.port must be between 1 and 65535, got 70000").line, 2);
  EXPECT_EQ(find_error(errors, "server.threads must be between 1").line, 3);
  EXPECT_EQ(find_error(errors, "server.max_body_bytes must be between").line, 4);
  EXPECT_EQ(find_error(errors, "database.pool_size must be between").line, 6);
  EXPECT_EQ(find_error(errors, "handoff.min_score must be between 0 and 1, got 1.5").line, 8);
  EXPECT_EQ(errors.size(), 5u) << to_text(errors);
}

TEST_F(AppConfigTest, ARequestMustBeAnsweredBeforeItsConnectionTimesOut) {
  auto errors = errors_of("server:\n  request_timeout_ms: 5000\n  header_timeout_ms: 5000\n");
  find_error(errors, "server.request_timeout_ms (5000) must be below server.header_timeout_ms");
  errors = errors_of("server:\n  header_timeout_ms: 5000\n  idle_timeout_ms: 4000\n");
  find_error(errors, "server.idle_timeout_ms (4000) must be at least server.header_timeout_ms");
  EXPECT_TRUE(load("server:\n  request_timeout_ms: 999\n  header_timeout_ms: 1000\n"
                   "  idle_timeout_ms: 1000\n")
                  .has_value());
}

TEST_F(AppConfigTest, BlankHostIsAnError) {
  auto errors = errors_of("server:\n  host: \"\"\n");
  EXPECT_EQ(find_error(errors, "server.host must be an address or host name").line, 2);
}

TEST_F(AppConfigTest, HugeIntegerIsOutOfRangeNotACrash) {
  auto errors = errors_of("server:\n  port: 99999999999999999999999\n");
  EXPECT_EQ(find_error(errors, "server.port must be between 1 and 65535").line, 2);
}

TEST_F(AppConfigTest, WrongTypesOfEveryKind) {
  auto errors = errors_of(R"(server: 8000
database:
  url: [a, b]
log:
  level: verbose
  requests: maybe
handoff:
  min_score: high
sources: scanner
)");
  EXPECT_EQ(find_error(errors, "server must be a mapping").line, 1);
  EXPECT_EQ(find_error(errors, "database.url must be a string").line, 3);
  EXPECT_EQ(
      find_error(errors, "log.level must be one of trace, debug, info, warn, error, off").line, 5);
  EXPECT_EQ(find_error(errors, "log.requests must be true or false").line, 6);
  EXPECT_EQ(find_error(errors, "handoff.min_score must be a number").line, 8);
  EXPECT_EQ(find_error(errors, "sources must be a list").line, 9);
  EXPECT_EQ(errors.size(), 6u) << to_text(errors);
}

TEST_F(AppConfigTest, SeveralErrorsAreReportedTogetherInFileOrder) {
  auto errors = errors_of(R"(server:
  prot: 8000
  workers: many
database:
  pool_size: 0
log:
  level: loud
)");
  ASSERT_EQ(errors.size(), 4u) << to_text(errors);
  std::vector<int> lines;
  for (const auto& e : errors) lines.push_back(e.line);
  EXPECT_EQ(lines, (std::vector<int>{2, 3, 5, 7}));
  for (const auto& e : errors) EXPECT_EQ(e.file, path_);
  const std::string text = to_text(errors);
  EXPECT_NE(text.find(":2:3: unknown key 'prot' in server"), std::string::npos) << text;
  EXPECT_NE(text.find(":3:12: server.workers must be an integer"), std::string::npos) << text;
}

TEST_F(AppConfigTest, DuplicateKeyIsAnError) {
  auto errors = errors_of("server:\n  port: 1\n  port: 2\n");
  EXPECT_EQ(find_error(errors, "duplicate key 'port' in server").line, 3);
}

TEST_F(AppConfigTest, SourcesMustBePlainUniqueNames) {
  auto errors = errors_of("sources:\n  - scanner\n  - Big Fair\n  - scanner\n");
  EXPECT_EQ(find_error(errors, "sources[1] must be").line, 3);
  EXPECT_EQ(find_error(errors, "sources[2] repeats source 'scanner'").line, 4);
  EXPECT_EQ(find_error(errors_of("sources: []\n"), "at least one").line, 1);
}

TEST_F(AppConfigTest, YamlSyntaxErrorHasItsLine) {
  auto errors = errors_of("server:\n  port: 8000\nsources: [a, b\nlog:\n  level: info\n");
  ASSERT_EQ(errors.size(), 1u) << to_text(errors);
  EXPECT_EQ(errors[0].file, path_);
  EXPECT_GT(errors[0].line, 0);
  EXPECT_NE(errors[0].message.find("YAML syntax error"), std::string::npos) << errors[0].message;
}

TEST_F(AppConfigTest, BadIndentationIsASyntaxErrorWithItsLine) {
  auto errors = errors_of("server:\n  port: 8000\n    threads: 2\n");
  ASSERT_EQ(errors.size(), 1u) << to_text(errors);
  EXPECT_EQ(errors[0].line, 3);
  EXPECT_NE(errors[0].message.find("YAML syntax error"), std::string::npos);
}

TEST_F(AppConfigTest, DocumentMustBeAMapping) {
  auto errors = errors_of("- a\n- b\n");
  find_error(errors, "the document must be a mapping");
}

TEST_F(AppConfigTest, MissingFileNamesTheFile) {
  const std::string missing = (dir_.path() / "nope.yaml").string();
  auto result = load_app_config(missing, {});
  ASSERT_FALSE(result.has_value());
  ASSERT_EQ(result.error().size(), 1u);
  EXPECT_EQ(result.error()[0].file, missing);
  EXPECT_NE(result.error()[0].to_text().find(missing), std::string::npos);
  EXPECT_NE(result.error()[0].message.find("No such file"), std::string::npos)
      << result.error()[0].message;
}

TEST_F(AppConfigTest, DirectoryIsNotAConfigFile) {
  auto result = load_app_config(dir_.path().string(), {});
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error()[0].message.find("directory"), std::string::npos);
}

TEST_F(AppConfigTest, ScoringNeedsPrimaryAndScorers) {
  auto errors = errors_of("scoring:\n  primary: h\n");
  EXPECT_EQ(find_error(errors, "missing key 'scorers' in scoring").line, 2);
  errors = errors_of("scoring:\n  scorers:\n    h: {plugin: heuristic}\n");
  EXPECT_EQ(find_error(errors, "missing key 'primary' in scoring").line, 2);
}

TEST_F(AppConfigTest, ScorerNeedsAPluginAndMappingParams) {
  auto errors = errors_of(R"(scoring:
  primary: a
  scorers:
    a:
      params: {x: 1}
    b:
    c:
      plugin: heuristic
      params: [1, 2]
    "bad name":
      plugin: heuristic
)");
  EXPECT_EQ(find_error(errors, "missing key 'plugin' in scoring.scorers.a").line, 5);
  EXPECT_EQ(find_error(errors, "scoring.scorers.b needs a `plugin`").line, 6);
  EXPECT_EQ(find_error(errors, "scoring.scorers.c.params must be a mapping").line, 9);
  EXPECT_EQ(find_error(errors, "scorer name 'bad name'").line, 10);
}

TEST_F(AppConfigTest, EmptyScorersAreLeftToTheRegistry) {
  // Whether a scorer set can be built is build_scorers' question; loading only reads shape.
  auto config = load("scoring:\n  primary: h\n  scorers: {}\n");
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  EXPECT_TRUE(config->scoring.scorers.empty());
}

TEST_F(AppConfigTest, PortFromEnvironmentWinsOverTheFile) {
  EnvOverrides env;
  env.port = "9100";
  auto config = load("server:\n  port: 8000\n", env);
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  EXPECT_EQ(config->server.port, 9100);
}

TEST_F(AppConfigTest, DatabaseUrlFromEnvironmentWinsOverTheFile) {
  EnvOverrides env;
  env.database_url = "postgresql://env/db";
  auto config = load("database:\n  url: postgresql://file/db\n", env);
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  EXPECT_EQ(config->database.url, "postgresql://env/db");
}

TEST_F(AppConfigTest, EmptyDatabaseUrlWithoutEnvironmentIsAllowed) {
  auto config = load("database:\n  url: \"\"\n");
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  EXPECT_EQ(config->database.url, "");
}

TEST_F(AppConfigTest, BadPortInEnvironmentNamesPort) {
  for (const char* bad : {"abc", "0", "65536", "80x", "-1", " 80", "99999999999"}) {
    EnvOverrides env;
    env.port = bad;
    auto errors = errors_of("", env);
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_TRUE(errors[0].message.starts_with("PORT ")) << errors[0].message;
    EXPECT_NE(errors[0].message.find(bad), std::string::npos) << errors[0].message;
    EXPECT_NE(errors[0].to_text().find("environment"), std::string::npos);
  }
}

TEST_F(AppConfigTest, EnvironmentErrorsJoinFileErrors) {
  EnvOverrides env;
  env.port = "http";
  auto errors = errors_of("server:\n  prot: 1\n", env);
  EXPECT_EQ(errors.size(), 2u) << to_text(errors);
  find_error(errors, "unknown key 'prot'");
  find_error(errors, "PORT must be an integer");
}

TEST(EnvOverrides, ReadsPortAndDatabaseUrlAndTreatsEmptyAsUnset) {
  ::setenv("PORT", "8123", 1);
  ::setenv("DATABASE_URL", "postgresql://h/d", 1);
  auto env = EnvOverrides::from_environment();
  EXPECT_EQ(env.port, "8123");
  EXPECT_EQ(env.database_url, "postgresql://h/d");
  ::setenv("PORT", "", 1);
  ::unsetenv("DATABASE_URL");
  env = EnvOverrides::from_environment();
  EXPECT_EQ(env.port, std::nullopt);
  EXPECT_EQ(env.database_url, std::nullopt);
  ::unsetenv("PORT");
}

TEST(ConfigErrorText, OmitsUnknownPosition) {
  EXPECT_EQ((ConfigError{"a.yaml", 3, 7, "bad"}).to_text(), "a.yaml:3:7: bad");
  EXPECT_EQ((ConfigError{"a.yaml", 3, 0, "bad"}).to_text(), "a.yaml:3: bad");
  EXPECT_EQ((ConfigError{"a.yaml", 0, 0, "bad"}).to_text(), "a.yaml: bad");
  EXPECT_EQ(to_text({{"a", 1, 1, "x"}, {"b", 2, 2, "y"}}), "a:1:1: x\nb:2:2: y\n");
}

TEST_F(AppConfigTest, SlowPoolIsReadAndHeldToHalfOfTheWorkers) {
  auto config = load("server: {workers: 40, slow_workers: 4, slow_queue: 10}\n");
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  EXPECT_EQ(config->server.slow_workers, 4);
  EXPECT_EQ(config->server.slow_queue, 10);
  auto size = slow_pool_size(config->server);
  EXPECT_EQ(size.threads, 4);
  EXPECT_EQ(size.queue, 10);
  EXPECT_FALSE(size.clamped);
  // The defaults, 8 threads and 64 queued, with the default 32 workers: 16 may wait.
  size = slow_pool_size(ServerConfig{});
  EXPECT_EQ(size.threads, 8);
  EXPECT_EQ(size.queue, 8);
  EXPECT_TRUE(size.clamped);
  ServerConfig one;
  one.workers = 1;
  EXPECT_EQ(slow_pool_size(one).threads, 1);
  EXPECT_EQ(slow_pool_size(one).queue, 0);
  EXPECT_EQ(
      find_error(errors_of("server: {slow_workers: 0}\n"), "server.slow_workers must be").line, 1);
}

TEST_F(AppConfigTest, SlowRunsEndBeforeTheConnectionTimesOut) {
  ServerConfig server;  // header 30 s, idle 60 s
  EXPECT_EQ(slow_run_limit_ms(server), 28000);
  server.header_timeout_ms = 3000;
  EXPECT_EQ(slow_run_limit_ms(server), 1000);
  server.header_timeout_ms = 1000;  // answers stop at once: no slow run can be waited for
  EXPECT_EQ(slow_run_limit_ms(server), 0);
  server.header_timeout_ms = 30000;
  server.idle_timeout_ms = 10000;  // the shorter of the two counts
  EXPECT_EQ(slow_run_limit_ms(server), 8000);
}

}  // namespace
}  // namespace leadscore::config
