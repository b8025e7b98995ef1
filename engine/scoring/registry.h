// The configured scorers of a running engine, built from the `scoring` section of the
// config. The built-in plugins are listed in one place (registry.cpp).
//
// Threading: a ScorerSet is immutable once built; safe to share between threads.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config/app_config.h"
#include "engine/scoring/scorer.h"

namespace leadscore::scoring {

struct ScorerEntry {
  std::unique_ptr<Scorer> scorer;
  std::string plugin;
  std::string role;  // "primary" or "" (issue 3 adds "shadow")
};

class ScorerSet {
 public:
  explicit ScorerSet(std::vector<ScorerEntry> entries, std::string primary);
  const Scorer& primary() const;
  const Scorer* find(std::string_view name) const;  // nullptr when unknown
  const std::vector<ScorerEntry>& entries() const { return entries_; }

 private:
  std::vector<ScorerEntry> entries_;
  const Scorer* primary_ = nullptr;
};

// Builds every configured scorer; every problem is reported with the config's position.
std::expected<ScorerSet, std::vector<config::ConfigError>> build_scorers(
    const config::AppConfig& config);

}  // namespace leadscore::scoring
