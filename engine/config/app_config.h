// The service configuration (config/leadscore.yaml), read with yaml-cpp. Unknown keys and
// wrong types are errors that name the file, the key and its line.
//
// Threading: load once at start-up; the resulting AppConfig is an immutable value.
#pragma once

#include <cstddef>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "engine/config/config_error.h"
#include "engine/domain/handoff.h"

namespace leadscore::config {

struct ServerConfig {
  int port = 8000;
  int threads = 2;                       // Pistache reactor threads
  int workers = 8;                       // off-reactor pool for database and scoring work
  int queue_limit = 1024;                // queued requests before answering 503
  std::size_t max_body_bytes = 1 << 20;  // whole request: line, headers and body
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
  YAML::Node params;
};

struct ScoringConfig {
  std::string primary;
  std::vector<ScorerConfig> scorers;  // in file order
};

struct AppConfig {
  std::string path;  // the file read
  ServerConfig server;
  DatabaseConfig database;
  LogConfig log;
  domain::HandoffPolicy handoff;
  std::vector<std::string> sources{"scanner", "partner", "manual"};
  ScoringConfig scoring;
};

// Environment overrides applied after the file: PORT, DATABASE_URL.
struct EnvOverrides {
  std::optional<std::string> port;
  std::optional<std::string> database_url;
  static EnvOverrides from_environment();
};

// Reads and checks the file; every problem found is returned, each with its position.
std::expected<AppConfig, std::vector<ConfigError>> load_app_config(const std::string& path,
                                                                   const EnvOverrides& env);

}  // namespace leadscore::config
