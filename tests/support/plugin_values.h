// The engine's values as the plugin support library's (plugins/support), for tests that compare
// a plugin module run through the engine with the plugin's code linked in directly.
#pragma once

#include <optional>
#include <string>

#include "engine/domain/analysis.h"
#include "plugins/support/lead_features.h"
#include "plugins/support/score_answer.h"

namespace leadscore::testing {

// The lead as the engine hands it to a plugin: every profile field, in the engine's order.
inline plugin::Features to_plugin(const domain::Features& f) {
  plugin::Features out;
  out.source = f.source;
  out.stage = static_cast<plugin::Stage>(f.stage);
  out.activity_count = f.activity_count;
  out.business_domain = f.business_domain;
  domain::for_each_profile_field(f.profile,
                                 [&](const char* name, const std::optional<std::string>& value) {
                                   out.profile.push_back({name, value});
                                 });
  return out;
}

inline std::string recommendation_text(domain::Recommendation r) {
  return std::string(domain::to_string(r));
}

inline std::string recommendation_text(plugin::Recommendation r) {
  return std::string(plugin::to_string(r));
}

}  // namespace leadscore::testing
