// The service configuration (config/leadscore.yaml), read with yaml-cpp. Unknown keys and
// wrong types are errors that name the file, the key and its line.
//
// Threading: load once at start-up; the resulting AppConfig is an immutable value.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/config/config_error.h"
#include "engine/domain/handoff.h"
#include "engine/domain/webhook_event.h"

namespace leadscore::config {

// Cross-origin requests from browsers (server.cors): which web origins may call the API.
// Nothing is allowed by default.
struct CorsConfig {
  // Exact origins ("https://crm.example.com", scheme://host[:port]), or "*" for any.
  std::vector<std::string> allowed_origins;
  // Request headers a browser may send (Access-Control-Allow-Headers of a preflight).
  std::vector<std::string> allowed_headers{"Authorization", "Content-Type", "X-Request-Id"};
  int max_age_s = 600;  // how long a browser may keep a preflight's answer

  bool enabled() const { return !allowed_origins.empty(); }
};

struct ServerConfig {
  std::string host = "127.0.0.1";  // listen address; 0.0.0.0 for every interface
  int port = 8000;
  int threads = 2;                          // Pistache reactor threads
  int workers = 32;                         // off-reactor pool for database and scoring work
  int queue_limit = 1024;                   // queued requests before answering 503
  std::size_t max_body_bytes = 1 << 20;     // largest request body; 413 above
  std::size_t max_import_bytes = 16 << 20;  // largest CSV body of POST /leads/import; 413 above
  int request_timeout_ms = 10000;           // deadline of one queued request
  // A request must arrive whole and be answered within this, or the connection is answered
  // 408 and closed; above request_timeout_ms.
  int header_timeout_ms = 30000;
  int idle_timeout_ms = 60000;  // a kept-alive connection with no request is closed after this
  // The pool that runs slow scorers (plugins flagged LS_PLUGIN_SLOW: an LLM), apart from the
  // workers: its threads, and the runs that may wait for one. A request worker waits for its
  // slow run, so the pool is held to half of `workers` (slow_pool_size): the other half keeps
  // serving every other request.
  int slow_workers = 8;
  int slow_queue = 64;
  // Listen on a non-loopback address (without the front door). Off: leadscore refuses to.
  bool expose_directly = false;
  CorsConfig cors;
  // Where the files of Swagger UI (/docs) and ReDoc (/redoc) are: a directory holding
  // swagger-ui-dist/ and redoc/ as npm installs them; made absolute against the config file's
  // directory. Empty when the file gives none: the build's own (web/node_modules).
  std::string docs_dir;
};

// A token bucket: `burst` requests at once, refilled at `rate_per_s` a second.
struct TokenBucketConfig {
  double rate_per_s = 0;
  int burst = 0;
};

// Requests per API key (rate_limit): off when absent. `per_role` overrides `per_key` for the
// keys of one role (viewer, manager, analyst, admin), and limits that role alone when
// `per_key` is absent.
struct RateLimitConfig {
  std::optional<TokenBucketConfig> per_key;
  std::map<std::string, TokenBucketConfig> per_role;

  bool enabled() const { return per_key.has_value() || !per_role.empty(); }
};

struct DatabaseConfig {
  std::string url;  // empty: DATABASE_URL
  int pool_size = 8;
};

// Background scoring jobs (POST /jobs/score): the runner threads of this server.
struct JobsConfig {
  int runners = 3;        // threads claiming batches of leads of active jobs
  int batch_size = 1000;  // leads per batch of a job: what one claim takes
  int in_flight = 64;     // analyses each runner keeps going at once
  int lease_ms = 30000;   // a claim (and a running job) not touched for this long is abandoned
  int poll_ms = 500;      // how often an idle runner looks for work of other servers' jobs
};

// One webhook: where the events of the types it subscribes to are POSTed, signed with its
// secret.
struct WebhookConfig {
  std::string name;  // plain (a-z, 0-9, '_', '-'): deliveries are stored under it
  std::string url;   // http:// or https://
  std::vector<domain::EventType> events;
  // The signing key: `secret` as written, or the value of the environment variable that
  // `secret_env` names (read when the file is loaded). Never logged.
  std::string secret;
  Position position;  // of the webhook in the file
};

// Webhooks, and how this server's dispatchers deliver their events (engine/webhooks/).
struct WebhooksConfig {
  std::vector<WebhookConfig> endpoints;  // in file order
  int timeout_ms = 10000;                // one attempt: connect, send, answer
  int backoff_start_ms = 1000;           // the wait after the first failed attempt; doubles
  int backoff_max_ms = 3'600'000;        // the longest wait between two attempts
  // A delivery still failing this long after its event (or its last retry by an operator)
  // is dead: no more attempts until an operator asks for one.
  std::int64_t give_up_after_ms = 86'400'000;
  int dispatchers = 2;  // threads sending deliveries (none without endpoints)
  int poll_ms = 500;    // how often an idle dispatcher looks for due deliveries
};

struct LogConfig {
  std::string level = "info";   // trace | debug | info | warn | error | off
  bool requests = true;         // one line per request
  std::string format = "text";  // text | json: each line a JSON object (api/request_log.h)
};

struct MetricsConfig {
  bool enabled = true;  // count, and serve GET /metrics (engine/metrics/metrics.h)
};

// One configured scorer: an instance of a plugin with its parameters (kept as YAML so that the
// plugin reads its own params, with their positions for errors), or a composite of other
// configured scorers (its definition kept as YAML too: engine/scoring/composite_config.h reads
// it, beside the scorer that uses it).
struct ScorerConfig {
  std::string name;
  std::string plugin;        // a module name in plugins.dir, or a path to a module (has a '/');
                             // "" for a composite
  YAML::Node params;         // a mapping, or null when the file gives none
  Position position;         // of the scorer's name in the file
  Position plugin_position;  // of its `plugin` value
  // Its `composite` definition; undefined for a plugin's instance.
  YAML::Node composite{YAML::NodeType::Undefined};
  Position composite_position;  // of the `composite` key
  std::string fallback;         // the scorer that answers when this one fails; "" for none
  Position fallback_position;
  int budget_ms = 0;         // a run taking longer fails (its result is discarded); 0: no budget
  Position params_position;  // of the `params` key (the scorer's name when absent)

  bool is_composite() const { return composite.IsDefined(); }
};

struct ScoringConfig {
  std::string primary;
  std::vector<ScorerConfig> scorers;       // in file order
  std::vector<std::string> shadow;         // scorers run beside the primary on every analysis
  std::vector<Position> shadow_positions;  // one per shadow name
  Position position;                       // of the `scoring` section
  Position primary_position;               // of the `primary` value
};

// Where the scorer plugin modules are.
struct PluginsConfig {
  // The directory of the modules, made absolute against the config file's directory. Empty
  // when the file gives none: the engine then uses the build's own plugin directory.
  std::string dir;
  Position dir_position;
};

// The slow-scorer pool as the server builds it: slow_workers threads and slow_queue waiting
// runs, held together to half of `workers` (threads first, at least one), because each run
// holds the request worker that waits for it.
struct SlowPoolSize {
  int threads = 0;
  int queue = 0;
  bool clamped = false;  // smaller than configured
};
SlowPoolSize slow_pool_size(const ServerConfig& server);

// How long a slow scorer's run may be waited for, counted from the moment its request arrived:
// the request must be answered before Pistache times its connection out (408 past the header
// timeout, closed past the idle timeout; the server sends nothing in the last second of either)
// with time left for the fallback and the store: min(header_timeout_ms, idle_timeout_ms) less
// one second, less another second (or half of what is left, when that is less).
int slow_run_limit_ms(const ServerConfig& server);

// Without a `scoring` section the engine runs the built-in heuristic with its default params.
ScoringConfig default_scoring();

struct AppConfig {
  std::string path;  // the file read
  std::string dir;   // the absolute directory of that file: relative paths resolve against it
  ServerConfig server;
  DatabaseConfig database;
  JobsConfig jobs;
  WebhooksConfig webhooks;
  LogConfig log;
  RateLimitConfig rate_limit;
  MetricsConfig metrics;
  domain::HandoffPolicy handoff;
  std::vector<std::string> sources{"scanner", "partner", "manual"};
  PluginsConfig plugins;
  ScoringConfig scoring;
};

// Environment overrides applied after the file: PORT, DATABASE_URL. A variable that is unset
// or empty overrides nothing; PORT must be an integer in 1..65535.
struct EnvOverrides {
  std::optional<std::string> port;
  std::optional<std::string> database_url;
  static EnvOverrides from_environment();
};

// Reads and checks the file; every problem found is returned, each with its position. Checks
// the shape of `scoring` only: which plugins exist, what their params mean, what a composite's
// definition says and whether `fallback`, `shadow` and a composite's parts name configured
// scorers is checked by scoring::build_scorers.
// Never throws.
std::expected<AppConfig, std::vector<ConfigError>> load_app_config(const std::string& path,
                                                                   const EnvOverrides& env);

}  // namespace leadscore::config
