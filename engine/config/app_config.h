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

namespace leadscore::config {

struct ServerConfig {
  std::string host = "127.0.0.1";  // listen address; 0.0.0.0 for every interface
  int port = 8000;
  int threads = 2;                       // Pistache reactor threads
  int workers = 8;                       // off-reactor pool for database and scoring work
  int queue_limit = 1024;                // queued requests before answering 503
  std::size_t max_body_bytes = 1 << 20;  // largest request body; 413 above
  int request_timeout_ms = 10000;        // deadline of one queued request
};

struct DatabaseConfig {
  std::string url;  // empty: DATABASE_URL
  int pool_size = 8;
};

struct LogConfig {
  std::string level = "info";  // trace | debug | info | warn | error | off
  bool requests = true;        // one line per request
};

// One configured scorer instance: a plugin and its parameters (kept as YAML so that the
// plugin reads its own params, with their positions for errors).
struct ScorerConfig {
  std::string name;
  std::string plugin;
  YAML::Node params;         // a mapping, or null when the file gives none
  Position position;         // of the scorer's name in the file
  Position plugin_position;  // of its `plugin` value
};

struct ScoringConfig {
  std::string primary;
  std::vector<ScorerConfig> scorers;  // in file order
  Position position;                  // of the `scoring` section
  Position primary_position;          // of the `primary` value
};

// Without a `scoring` section the engine runs the built-in heuristic with its default params.
ScoringConfig default_scoring();

struct AppConfig {
  std::string path;  // the file read
  ServerConfig server;
  DatabaseConfig database;
  LogConfig log;
  domain::HandoffPolicy handoff;
  std::vector<std::string> sources{"scanner", "partner", "manual"};
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
// the shape of `scoring` only: which plugins exist and what their params mean is checked by
// scoring::build_scorers. Never throws.
std::expected<AppConfig, std::vector<ConfigError>> load_app_config(const std::string& path,
                                                                   const EnvOverrides& env);

}  // namespace leadscore::config
