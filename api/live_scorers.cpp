#include "api/live_scorers.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace leadscore::api {
namespace {

std::string now_rfc3339() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long long>(micros));
  return text;
}

}  // namespace

LiveScorers::LiveScorers(std::shared_ptr<const scoring::ScorerSet> scorers, std::string config_path)
    : current_(std::move(scorers)), config_path_(std::move(config_path)) {}

std::expected<std::shared_ptr<const scoring::ScorerSet>, std::vector<config::ConfigError>>
LiveScorers::reload() {
  std::lock_guard lock(reload_mutex_);
  auto config = config::load_app_config(config_path_, config::EnvOverrides::from_environment());
  if (!config) return std::unexpected(config.error());
  auto built = scoring::build_scorers(*config);
  if (!built) return std::unexpected(built.error());
  // Every new scorer must pass its plugin's self test (the Lua rules: the rule tests of its
  // own script) on the very module and instance that will serve, before it serves.
  if (auto failed = scoring::run_self_tests(*built, *config); !failed.empty())
    return std::unexpected(std::move(failed));
  auto next = std::make_shared<const scoring::ScorerSet>(std::move(*built));
  current_.store(next);
  {
    std::lock_guard errors(errors_mutex_);
    errors_.clear();
  }
  return next;
}

void LiveScorers::record_error(const std::string& scorer, const std::string& message) {
  std::lock_guard lock(errors_mutex_);
  errors_[scorer] = {message, now_rfc3339()};
}

std::optional<ScorerError> LiveScorers::last_error(const std::string& scorer) const {
  std::lock_guard lock(errors_mutex_);
  auto it = errors_.find(scorer);
  if (it == errors_.end()) return std::nullopt;
  return it->second;
}

}  // namespace leadscore::api
