#include "engine/config/app_config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

#include "engine/config/yaml_reader.h"

namespace leadscore::config {
namespace {

constexpr std::array<std::string_view, 6> kLogLevels{"trace", "debug", "info",
                                                     "warn",  "error", "off"};
constexpr std::array<std::string_view, 4> kRoles{"viewer", "manager", "analyst", "admin"};
constexpr std::array<std::string_view, 2> kLogFormats{"text", "json"};
constexpr std::string_view kEnvironment = "<environment>";

// Lead sources and scorer names end up in URLs, CSV files and the database: keep them plain.
bool is_plain_name(std::string_view name, bool allow_upper_and_dot) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                    (allow_upper_and_dot && ((c >= 'A' && c <= 'Z') || c == '.'));
    if (!ok) return false;
  }
  return true;
}

// An origin as browsers send it: http(s)://host[:port], nothing after; or "*".
bool is_origin(std::string_view origin) {
  if (origin == "*") return true;
  std::string_view rest;
  if (origin.starts_with("https://"))
    rest = origin.substr(8);
  else if (origin.starts_with("http://"))
    rest = origin.substr(7);
  else
    return false;
  if (rest.empty() || rest.size() > 253) return false;
  for (unsigned char c : rest) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                    c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

// A header name: an HTTP token.
bool is_header_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) &&
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos)
      return false;
  return true;
}

void read_cors(YamlMap cors, CorsConfig& out) {
  std::vector<std::string> origins;
  if (cors.read("allowed_origins", origins)) {
    const YAML::Node list = cors.value("allowed_origins");
    bool ok = true;
    for (std::size_t i = 0; i < origins.size(); ++i) {
      if (is_origin(origins[i])) continue;
      cors.errors().add(value_position(list[i], cors.key_position("allowed_origins")),
                        cors.key_path("allowed_origins") + "[" + std::to_string(i) +
                            "] must be \"*\" or an origin such as https://crm.example.com "
                            "(lower-case scheme://host[:port], no path), got '" +
                            origins[i] + "'");
      ok = false;
    }
    if (ok) out.allowed_origins = std::move(origins);
  }
  std::vector<std::string> headers;
  if (cors.read("allowed_headers", headers)) {
    const YAML::Node list = cors.value("allowed_headers");
    bool ok = true;
    for (std::size_t i = 0; i < headers.size(); ++i) {
      if (is_header_name(headers[i])) continue;
      cors.errors().add(value_position(list[i], cors.key_position("allowed_headers")),
                        cors.key_path("allowed_headers") + "[" + std::to_string(i) +
                            "] must be a header name, got '" + headers[i] + "'");
      ok = false;
    }
    if (ok) out.allowed_headers = std::move(headers);
  }
  cors.read("max_age_s", out.max_age_s, {0, 86'400});
  cors.finish();
}

std::string resolve_path(const std::string& config_dir, const std::string& path);

void read_server(YamlMap server, const std::string& config_dir, ServerConfig& out) {
  std::string host = out.host;
  if (server.read("host", host)) {
    if (host.empty() || host.find_first_of(" \t\r\n") != std::string::npos)
      server.error("host", "server.host must be an address or host name, got '" + host + "'");
    else
      out.host = std::move(host);
  }
  server.read("port", out.port, {1, 65535});
  server.read("threads", out.threads, {1, 64});
  server.read("workers", out.workers, {1, 1024});
  server.read("queue_limit", out.queue_limit, {1, 1'000'000});
  server.read("max_body_bytes", out.max_body_bytes, {1024, 64 << 20});
  server.read("max_import_bytes", out.max_import_bytes, {1024, 256 << 20});
  server.read("request_timeout_ms", out.request_timeout_ms, {1, 600'000});
  server.read("header_timeout_ms", out.header_timeout_ms, {1000, 3'600'000});
  server.read("idle_timeout_ms", out.idle_timeout_ms, {1000, 3'600'000});
  server.read("expose_directly", out.expose_directly);
  server.read("slow_workers", out.slow_workers, {1, 1024});
  server.read("slow_queue", out.slow_queue, {0, 1'000'000});
  read_cors(server.map("cors"), out.cors);
  std::string docs_dir;
  if (server.read("docs_dir", docs_dir)) {
    if (docs_dir.empty())
      server.error("docs_dir", "server.docs_dir must be a directory, got ''");
    else
      out.docs_dir = resolve_path(config_dir, docs_dir);
  }
  if (out.request_timeout_ms >= out.header_timeout_ms)
    server.error("request_timeout_ms",
                 "server.request_timeout_ms (" + std::to_string(out.request_timeout_ms) +
                     ") must be below server.header_timeout_ms (" +
                     std::to_string(out.header_timeout_ms) +
                     "): a request must be answered before the connection times out");
  if (out.idle_timeout_ms < out.header_timeout_ms)
    server.error("idle_timeout_ms",
                 "server.idle_timeout_ms (" + std::to_string(out.idle_timeout_ms) +
                     ") must be at least server.header_timeout_ms (" +
                     std::to_string(out.header_timeout_ms) +
                     "): a connection whose answer took that long would otherwise be closed as "
                     "idle as soon as it is answered");
  server.finish();
}

void read_database(YamlMap database, DatabaseConfig& out) {
  database.read("url", out.url);
  database.read("pool_size", out.pool_size, {1, 256});
  database.finish();
}

void read_jobs(YamlMap jobs, JobsConfig& out) {
  jobs.read("runners", out.runners, {0, 64});
  jobs.read("batch_size", out.batch_size, {1, 10'000});
  jobs.read("in_flight", out.in_flight, {1, 256});
  jobs.read("lease_ms", out.lease_ms, {1000, 3'600'000});
  jobs.read("poll_ms", out.poll_ms, {10, 60'000});
  jobs.finish();
}

// One item of webhooks.endpoints.
void read_webhook(const YAML::Node& node, const std::string& path, Position at, YamlErrors& errors,
                  std::vector<WebhookConfig>& out) {
  YamlMap map(node, path, errors, at);
  if (!map.present()) {
    if (node.IsNull()) errors.add(at, path + " must be a mapping with name, url, events, secret");
    return;
  }
  WebhookConfig hook;
  hook.position = map.position();
  if (map.require("name") && map.read("name", hook.name) && !is_plain_name(hook.name, false))
    map.error("name",
              path + ".name must be 1 to 64 of a-z, 0-9, '_' or '-', got '" + hook.name + "'");
  if (map.require("url") && map.read("url", hook.url) &&
      !(hook.url.starts_with("http://") || hook.url.starts_with("https://")))
    map.error("url", path + ".url must be an http:// or https:// URL, got '" + hook.url + "'");
  std::vector<std::string> events;
  if (map.require("events") && map.read("events", events)) {
    const YAML::Node list = map.value("events");
    if (events.empty()) map.error("events", path + ".events must name at least one event");
    for (std::size_t i = 0; i < events.size(); ++i) {
      const Position event_at = value_position(list[i], map.key_position("events"));
      const auto type = domain::parse_event_type(events[i]);
      const std::string what = path + ".events[" + std::to_string(i) + "]";
      if (!type)
        errors.add(event_at, what + " is not an event: '" + events[i] +
                                 "' (lead.transferred, sale.stage_changed, sale.paid, "
                                 "sale.lost, analysis.completed)");
      else if (std::ranges::find(hook.events, *type) != hook.events.end())
        errors.add(event_at, what + " repeats '" + events[i] + "'");
      else
        hook.events.push_back(*type);
    }
  }
  // The signing key, written out or named by an environment variable: exactly one of the two.
  const bool literal = map.has("secret");
  const bool from_env = map.has("secret_env");
  if (literal && from_env) {
    map.error("secret_env", path + " has both `secret` and `secret_env`: give one");
  } else if (literal) {
    if (map.read("secret", hook.secret) && hook.secret.empty())
      map.error("secret", path + ".secret must not be empty");
  } else if (from_env) {
    std::string variable;
    if (map.read("secret_env", variable)) {
      const char* value = variable.empty() ? nullptr : std::getenv(variable.c_str());
      if (value == nullptr || *value == '\0')
        map.error("secret_env", path + ".secret_env names the environment variable '" + variable +
                                    "', which is not set (or empty)");
      else
        hook.secret = value;
    }
  } else {
    errors.add(map.position(),
               "missing key 'secret' in " + path + " (or 'secret_env', naming a variable)");
  }
  map.finish();
  out.push_back(std::move(hook));
}

void read_webhooks(YamlMap webhooks, WebhooksConfig& out) {
  webhooks.read("timeout_ms", out.timeout_ms, {100, 600'000});
  webhooks.read("backoff_start_ms", out.backoff_start_ms, {1, 3'600'000});
  webhooks.read("backoff_max_ms", out.backoff_max_ms, {1, 86'400'000});
  webhooks.read("give_up_after_ms", out.give_up_after_ms, {1, 30LL * 86'400'000});
  webhooks.read("dispatchers", out.dispatchers, {1, 64});
  webhooks.read("poll_ms", out.poll_ms, {10, 60'000});
  if (out.backoff_max_ms < out.backoff_start_ms)
    webhooks.error("backoff_max_ms", "webhooks.backoff_max_ms (" +
                                         std::to_string(out.backoff_max_ms) +
                                         ") must be at least webhooks.backoff_start_ms (" +
                                         std::to_string(out.backoff_start_ms) + ")");
  const YAML::Node endpoints = webhooks.value("endpoints");
  if (endpoints.IsDefined() && !endpoints.IsNull()) {
    const Position list_at = webhooks.key_position("endpoints");
    if (!endpoints.IsSequence()) {
      webhooks.error("endpoints",
                     "webhooks.endpoints must be a list of webhooks, got " + describe(endpoints));
    } else {
      std::set<std::string, std::less<>> names;
      for (std::size_t i = 0; i < endpoints.size(); ++i) {
        const std::string path = "webhooks.endpoints[" + std::to_string(i) + "]";
        const std::size_t before = out.endpoints.size();
        read_webhook(endpoints[i], path, value_position(endpoints[i], list_at), webhooks.errors(),
                     out.endpoints);
        if (out.endpoints.size() > before && !out.endpoints.back().name.empty() &&
            !names.insert(out.endpoints.back().name).second)
          webhooks.errors().add(
              out.endpoints.back().position,
              path + " repeats the webhook name '" + out.endpoints.back().name + "'");
      }
    }
  }
  webhooks.finish();
}

void read_log(YamlMap log, LogConfig& out) {
  log.read_one_of("level", out.level, kLogLevels);
  log.read("requests", out.requests);
  log.read_one_of("format", out.format, kLogFormats);
  log.finish();
}

std::optional<TokenBucketConfig> read_bucket(YamlMap bucket) {
  if (!bucket.present()) return std::nullopt;
  TokenBucketConfig out;
  const bool has_rate = bucket.require("rate_per_s") &&
                        bucket.read("rate_per_s", out.rate_per_s, {0.001, 1'000'000.0});
  const bool has_burst = bucket.require("burst") && bucket.read("burst", out.burst, {1, 1'000'000});
  bucket.finish();
  if (!has_rate || !has_burst) return std::nullopt;
  return out;
}

void read_rate_limit(YamlMap rate_limit, RateLimitConfig& out) {
  if (!rate_limit.present()) return;
  out.per_key = read_bucket(rate_limit.map("per_key"));
  YamlMap roles = rate_limit.map("per_role");
  if (roles.present()) {
    for (const auto& entry : roles.entries()) {
      if (std::ranges::find(kRoles, entry.key) == kRoles.end()) {
        roles.errors().add(entry.key_position, roles.path() + " names unknown role '" + entry.key +
                                                   "' (roles: viewer, manager, analyst, admin)");
        continue;
      }
      auto bucket = read_bucket(
          YamlMap(entry.value, roles.key_path(entry.key), roles.errors(), entry.key_position));
      if (bucket) out.per_role[entry.key] = *bucket;
    }
  }
  roles.finish();
  rate_limit.finish();
}

void read_metrics(YamlMap metrics, MetricsConfig& out) {
  metrics.read("enabled", out.enabled);
  metrics.finish();
}

void read_handoff(YamlMap handoff, domain::HandoffPolicy& out) {
  handoff.read("min_score", out.min_score, {0.0, 1.0});
  handoff.finish();
}

void read_sources(YamlMap& root, std::vector<std::string>& out) {
  std::vector<std::string> sources;
  if (!root.read("sources", sources)) return;
  const YAML::Node list = root.value("sources");
  bool ok = true;
  if (sources.empty()) {
    root.error("sources", "sources must name at least one lead source");
    ok = false;
  }
  std::set<std::string, std::less<>> seen;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const std::string what = "sources[" + std::to_string(i) + "]";
    const Position at = value_position(list[i], root.key_position("sources"));
    if (!is_plain_name(sources[i], false)) {
      root.errors().add(
          at, what + " must be 1 to 64 of a-z, 0-9, '_' or '-', got '" + sources[i] + "'");
      ok = false;
    } else if (!seen.insert(sources[i]).second) {
      root.errors().add(at, what + " repeats source '" + sources[i] + "'");
      ok = false;
    }
  }
  if (ok) out = std::move(sources);
}

void read_scorer(const YamlMap::Entry& entry, const std::string& path, YamlErrors& errors,
                 std::vector<ScorerConfig>& out) {
  ScorerConfig scorer;
  scorer.name = entry.key;
  scorer.position = entry.key_position;
  const std::string scorer_path = path + "." + entry.key;
  if (!is_plain_name(scorer.name, true))
    errors.add(entry.key_position, "scorer name '" + scorer.name + "' in " + path +
                                       " must be 1 to 64 of a-z, A-Z, 0-9, '_', '-' or '.'");
  YamlMap map(entry.value, scorer_path, errors, entry.key_position);
  if (!map.present()) {
    if (entry.value.IsNull()) errors.add(entry.key_position, scorer_path + " needs a `plugin`");
    return;
  }
  // A plugin's instance or a composite of other scorers: exactly one of the two.
  const bool composite = map.has("composite");
  if (composite) {
    scorer.composite_position = map.key_position("composite");
    scorer.composite = map.value("composite");
    if (map.has("plugin"))
      map.error("plugin", scorer_path +
                              " has both `plugin` and `composite`: a scorer is an instance of a "
                              "plugin or a composite of other scorers");
    if (map.has("params"))
      map.error("params",
                scorer_path + ".params: a composite has no params (each of its parts has its own)");
  } else if (!map.has("plugin")) {
    errors.add(map.position(), "missing key 'plugin' in " + scorer_path +
                                   " (or 'composite', for a composite of other scorers)");
  } else {
    map.read("plugin", scorer.plugin);
    scorer.plugin_position = map.value_position("plugin");
    if (map.value("plugin").IsScalar() && scorer.plugin.empty())
      map.error("plugin", scorer_path + ".plugin must name a plugin module, got ''");
  }
  if (map.read("fallback", scorer.fallback)) {
    scorer.fallback_position = map.value_position("fallback");
    if (scorer.fallback == scorer.name)
      map.error("fallback", scorer_path + ".fallback names the scorer itself");
  }
  map.read("budget_ms", scorer.budget_ms, {1, 600'000});
  // The plugin reads its own params; here only their shape is checked.
  const YAML::Node params = map.value("params");
  scorer.params_position = map.has("params") ? map.key_position("params") : entry.key_position;
  if (composite) {
    // refused above
  } else if (params.IsDefined() && !params.IsNull() && !params.IsMap()) {
    map.error("params", scorer_path + ".params must be a mapping, got " + describe(params));
  } else if (params.IsDefined()) {
    scorer.params = params;
  }
  map.finish();
  out.push_back(std::move(scorer));
}

void read_scoring(YamlMap scoring, ScoringConfig& out) {
  if (!scoring.present()) return;  // the defaults stand
  out = ScoringConfig{};
  out.position = scoring.position();
  if (scoring.require("primary")) {
    scoring.read("primary", out.primary);
    out.primary_position = scoring.value_position("primary");
  }
  if (scoring.require("scorers")) {
    YamlMap map = scoring.map("scorers");
    // An empty `scorers:` is left to build_scorers, which says what is missing.
    if (map.present())
      for (const auto& entry : map.entries())
        read_scorer(entry, map.path(), scoring.errors(), out.scorers);
    map.finish();
  }
  if (scoring.read("shadow", out.shadow)) {
    const YAML::Node list = scoring.value("shadow");
    for (std::size_t i = 0; i < out.shadow.size(); ++i)
      out.shadow_positions.push_back(value_position(list[i], scoring.key_position("shadow")));
  }
  scoring.finish();
}

// `experiments`: a list of {name, salt, arms: [{name, scorer, weight}], min_n, active}. Names
// (of experiments, and of arms within one) are plain and unique; each arm's scorer is one of
// `scorers`; weights are above 0; at most one experiment is active, so that a lead is in one
// experiment at a time and its arm alone chooses its primary scorer.
void read_experiments(YamlMap& root, const ScoringConfig& scoring,
                      std::vector<domain::Experiment>& out) {
  const YAML::Node list = root.value("experiments");
  if (!list.IsDefined() || list.IsNull()) return;
  YamlErrors& errors = root.errors();
  const Position list_at = root.key_position("experiments");
  if (!list.IsSequence()) {
    root.error("experiments", "experiments must be a list of experiments, got " + describe(list));
    return;
  }
  std::set<std::string, std::less<>> names;
  std::optional<std::string> active_one;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = "experiments[" + std::to_string(i) + "]";
    YamlMap map(list[i], path, errors, value_position(list[i], list_at));
    if (!map.present()) {  // a value of another kind is reported by YamlMap itself
      if (list[i].IsNull())
        errors.add(value_position(list[i], list_at),
                   path + " must be a mapping with name, salt, arms");
      continue;
    }
    const std::size_t before = errors.size();
    domain::Experiment experiment;
    if (map.require("name") && map.read("name", experiment.name)) {
      if (!is_plain_name(experiment.name, false))
        map.error("name", path + ".name must be 1 to 64 of a-z, 0-9, '_' or '-', got '" +
                              experiment.name + "'");
      else if (!names.insert(experiment.name).second)
        map.error("name", path + " repeats the experiment name '" + experiment.name + "'");
    }
    if (map.require("salt") && map.read("salt", experiment.salt) && experiment.salt.empty())
      map.error("salt", path + ".salt must not be empty");
    map.read("min_n", experiment.min_n, {1, 1'000'000});
    map.read("active", experiment.active);
    const YAML::Node arms = map.value("arms");
    const Position arms_at = map.has("arms") ? map.key_position("arms") : map.position();
    if (!arms.IsDefined() || arms.IsNull()) {
      errors.add(map.position(), "missing key 'arms' in " + path);
    } else if (!arms.IsSequence() || arms.size() < 2) {
      map.error("arms", path + ".arms must be a list of at least two arms, got " +
                            (arms.IsSequence() ? "one" : describe(arms)));
    } else {
      std::set<std::string, std::less<>> arm_names;
      for (std::size_t a = 0; a < arms.size(); ++a) {
        const std::string arm_path = path + ".arms[" + std::to_string(a) + "]";
        YamlMap arm_map(arms[a], arm_path, errors, value_position(arms[a], arms_at));
        if (!arm_map.present()) {
          if (arms[a].IsNull())
            errors.add(value_position(arms[a], arms_at),
                       arm_path + " must be a mapping with name, scorer, weight");
          continue;
        }
        domain::ExperimentArm arm;
        if (arm_map.require("name") && arm_map.read("name", arm.name)) {
          if (!is_plain_name(arm.name, false))
            arm_map.error(
                "name",
                arm_path + ".name must be 1 to 64 of a-z, 0-9, '_' or '-', got '" + arm.name + "'");
          else if (!arm_names.insert(arm.name).second)
            arm_map.error("name", arm_path + " repeats the arm name '" + arm.name + "'");
        }
        if (arm_map.require("scorer") && arm_map.read("scorer", arm.scorer) &&
            std::ranges::none_of(scoring.scorers,
                                 [&](const ScorerConfig& s) { return s.name == arm.scorer; }))
          arm_map.error("scorer", arm_path + ".scorer '" + arm.scorer +
                                      "' is not a scorer of scoring.scorers");
        if (arm_map.require("weight")) arm_map.read("weight", arm.weight, {1e-9, 1e9});
        arm_map.finish();
        experiment.arms.push_back(std::move(arm));
      }
    }
    if (experiment.active && !experiment.name.empty()) {
      if (active_one)
        errors.add(map.position(), path + " ('" + experiment.name +
                                       "') is active while experiment '" + *active_one +
                                       "' is too: at most one experiment is active at a time "
                                       "(set `active: false` on the others)");
      else
        active_one = experiment.name;
    }
    map.finish();
    if (errors.size() == before) out.push_back(std::move(experiment));
  }
}

// A relative path is relative to the config file's directory, not to the working directory.
std::string resolve_path(const std::string& config_dir, const std::string& path) {
  const std::filesystem::path p(path);
  return (p.is_absolute() ? p : std::filesystem::path(config_dir) / p).lexically_normal().string();
}

void read_plugins(YamlMap plugins, const std::string& config_dir, PluginsConfig& out) {
  std::string dir;
  if (plugins.read("dir", dir)) {
    out.dir_position = plugins.value_position("dir");
    if (dir.empty())
      plugins.error("dir", "plugins.dir must be a directory, got ''");
    else
      out.dir = resolve_path(config_dir, dir);
  }
  plugins.finish();
}

// `rules.tests` named rule tests that a reload ran whichever scorers were configured, each file
// on the script it named. Each Lua scorer now names its own (params.tests), run through lua.so
// on the rules that will serve: say so rather than call the old key unknown.
void refuse_rules_section(YamlMap rules) {
  if (rules.has("tests"))
    rules.error(
        "tests",
        "rules.tests is no longer read: name each Lua scorer's rule tests in its params, "
        "e.g. `params: {script: ../rules/default.lua, tests: ../rules/tests/default.yaml}`; "
        "a reload runs them on the rules the scorer serves");
  rules.finish();
}

std::string directory_of(const std::string& path) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) absolute = path;
  return absolute.lexically_normal().parent_path().string();
}

void apply_environment(const EnvOverrides& env, AppConfig& config,
                       std::vector<ConfigError>& errors) {
  if (env.port) {
    const std::string& text = *env.port;
    int port = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc{} || end != text.data() + text.size() || port < 1 || port > 65535)
      errors.push_back({std::string(kEnvironment), 0, 0,
                        "PORT must be an integer between 1 and 65535, got '" + text + "'"});
    else
      config.server.port = port;
  }
  if (env.database_url) config.database.url = *env.database_url;
}

}  // namespace

SlowPoolSize slow_pool_size(const ServerConfig& server) {
  const int half = server.workers / 2;
  SlowPoolSize size;
  size.threads = std::max(1, std::min(server.slow_workers, half));
  size.queue = std::max(0, std::min(server.slow_queue, half - size.threads));
  size.clamped = size.threads < server.slow_workers || size.queue < server.slow_queue;
  return size;
}

int slow_run_limit_ms(const ServerConfig& server) {
  const int answerable = std::min(server.header_timeout_ms, server.idle_timeout_ms) - 1000;
  return std::max(0, answerable - std::min(1000, answerable / 2));
}

ScoringConfig default_scoring() {
  ScoringConfig scoring;
  scoring.primary = "heuristic";
  ScorerConfig heuristic;
  heuristic.name = "heuristic";
  heuristic.plugin = "heuristic";
  heuristic.params = YAML::Node(YAML::NodeType::Null);
  scoring.scorers.push_back(std::move(heuristic));
  return scoring;
}

EnvOverrides EnvOverrides::from_environment() {
  auto get = [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
  return {get("PORT"), get("DATABASE_URL")};
}

std::expected<AppConfig, std::vector<ConfigError>> load_app_config(const std::string& path,
                                                                   const EnvOverrides& env) {
  YamlErrors errors(path);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    errors.add(Position{}, "cannot read the config file: it is a directory");
    return std::unexpected(errors.take());
  }
  std::ifstream in(path);
  if (!in) {
    errors.add(Position{}, "cannot read the config file: " + std::string(std::strerror(errno)));
    return std::unexpected(errors.take());
  }

  AppConfig config;
  config.path = path;
  config.dir = directory_of(path);
  config.scoring = default_scoring();
  try {
    const YAML::Node root_node = YAML::Load(in);
    YamlMap root(root_node, "", errors, Position{1, 1});
    read_server(root.map("server"), config.dir, config.server);
    read_database(root.map("database"), config.database);
    read_jobs(root.map("jobs"), config.jobs);
    read_webhooks(root.map("webhooks"), config.webhooks);
    read_log(root.map("log"), config.log);
    read_rate_limit(root.map("rate_limit"), config.rate_limit);
    read_metrics(root.map("metrics"), config.metrics);
    read_handoff(root.map("handoff"), config.handoff);
    read_sources(root, config.sources);
    read_plugins(root.map("plugins"), config.dir, config.plugins);
    refuse_rules_section(root.map("rules"));
    read_scoring(root.map("scoring"), config.scoring);
    read_experiments(root, config.scoring, config.experiments);
    root.finish();
  } catch (const YAML::ParserException& e) {
    errors.add(e.mark, "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    errors.add(e.mark, e.msg);
  } catch (const std::exception& e) {
    errors.add(Position{}, e.what());
  }

  errors.sort_by_position();
  std::vector<ConfigError> all = errors.take();
  apply_environment(env, config, all);
  if (!all.empty()) return std::unexpected(std::move(all));
  return config;
}

}  // namespace leadscore::config
