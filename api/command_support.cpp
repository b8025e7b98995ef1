#include "api/command_support.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

namespace leadscore::command {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) return std::nullopt;
  return std::string(value);
}

std::string default_config_path() {
  return env("LEADSCORE_CONFIG").value_or("config/leadscore.yaml");
}

std::optional<config::AppConfig> load_config(const std::string& path) {
  auto loaded = config::load_app_config(path, config::EnvOverrides::from_environment());
  if (!loaded) {
    std::fprintf(stderr, "leadscore: the configuration has errors:\n%s\n",
                 config::to_text(loaded.error()).c_str());
    return std::nullopt;
  }
  return std::move(*loaded);
}

std::optional<scoring::ScorerSet> load_scorers(const config::AppConfig& cfg) {
  auto scorers = scoring::build_scorers(cfg);
  if (!scorers) {
    std::fprintf(stderr, "leadscore: the scorers have errors:\n%s\n",
                 config::to_text(scorers.error()).c_str());
    return std::nullopt;
  }
  return std::move(*scorers);
}

std::unique_ptr<store::Database> connect(const config::AppConfig& cfg, int pool_size) {
  if (cfg.database.url.empty()) {
    std::fprintf(stderr,
                 "leadscore: no database: set DATABASE_URL or database.url in %s "
                 "(`make run` starts a private PostgreSQL)\n",
                 cfg.path.c_str());
    return nullptr;
  }
  auto db = store::Database::connect(cfg.database.url, pool_size);
  if (!db) {
    std::fprintf(stderr, "leadscore: cannot connect to the database: %s\n",
                 db.error().message.c_str());
    return nullptr;
  }
  return std::move(*db);
}

bool migrate(store::Database& db) {
  auto applied = db.migrate();
  if (!applied) {
    std::fprintf(stderr, "leadscore: migration failed: %s\n", applied.error().message.c_str());
    return false;
  }
  for (const auto& name : *applied) spdlog::info("applied migration {}", name);
  return true;
}

}  // namespace leadscore::command
