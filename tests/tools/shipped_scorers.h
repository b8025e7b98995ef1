// The scorers of the shipped config/leadscore.yaml, for the tests of the offline tools.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/config/app_config.h"
#include "engine/scoring/registry.h"

namespace leadscore::tools::testing {

// Fails the test (and answers nullptr) when the shipped config does not load.
inline std::unique_ptr<scoring::ScorerSet> shipped_scorers() {
  auto cfg = config::load_app_config(std::string(LEADSCORE_SOURCE_DIR) + "/config/leadscore.yaml",
                                     config::EnvOverrides{});
  if (!cfg) {
    ADD_FAILURE() << config::to_text(cfg.error());
    return nullptr;
  }
  auto built = scoring::build_scorers(*cfg);
  if (!built) {
    ADD_FAILURE() << config::to_text(built.error());
    return nullptr;
  }
  return std::make_unique<scoring::ScorerSet>(std::move(*built));
}

}  // namespace leadscore::tools::testing
