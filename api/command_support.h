// What the commands of the `leadscore` binary share: the configuration path, reading the
// configuration and the scorers, and the database, each saying on stderr what went wrong.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "engine/config/app_config.h"
#include "engine/scoring/registry.h"
#include "engine/store/store.h"

namespace leadscore::command {

// An environment variable's value; nullopt when it is unset or empty.
std::optional<std::string> env(const char* name);

// LEADSCORE_CONFIG, else config/leadscore.yaml.
std::string default_config_path();

// The configuration at `path` with the environment's overrides; nullopt after printing every
// error.
std::optional<config::AppConfig> load_config(const std::string& path);

// The configured scorers; nullopt after printing every error.
std::optional<scoring::ScorerSet> load_scorers(const config::AppConfig& cfg);

// A pool of `pool_size` connections to the configured database; nullptr after saying why.
std::unique_ptr<store::Database> connect(const config::AppConfig& cfg, int pool_size);

// Applies the migrations not yet applied, logging each; false after saying why.
bool migrate(store::Database& db);

}  // namespace leadscore::command
