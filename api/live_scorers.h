// The scorers now serving, and their health. A reload builds a whole new ScorerSet beside the
// live one and swaps it in atomically only when everything in it loaded; requests in flight
// keep the set they started with (they hold a shared_ptr to it).
//
// Threading: safe from any thread.
#pragma once

#include <atomic>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/config/app_config.h"
#include "engine/scoring/registry.h"

namespace leadscore::api {

struct ScorerError {
  std::string message;
  std::string at;  // RFC 3339, UTC
};

class LiveScorers {
 public:
  // `config_path`: the file a reload reads again.
  LiveScorers(std::shared_ptr<const scoring::ScorerSet> scorers, std::string config_path);

  std::shared_ptr<const scoring::ScorerSet> current() const { return current_.load(); }

  // Reads the config file again, builds its scorers and runs their plugins' self tests
  // (scoring::run_self_tests); swaps them in only when all of it loaded and every self test
  // passed. Else the live set stays and every positioned error is returned.
  std::expected<std::shared_ptr<const scoring::ScorerSet>, std::vector<config::ConfigError>>
  reload();

  // The last failure of a scorer, for GET /scorers.
  void record_error(const std::string& scorer, const std::string& message);
  std::optional<ScorerError> last_error(const std::string& scorer) const;

 private:
  std::atomic<std::shared_ptr<const scoring::ScorerSet>> current_;
  const std::string config_path_;
  std::mutex reload_mutex_;  // one reload at a time
  mutable std::mutex errors_mutex_;
  std::map<std::string, ScorerError, std::less<>> errors_;
};

}  // namespace leadscore::api
