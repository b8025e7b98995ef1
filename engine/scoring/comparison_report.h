// The renderings of a comparison report (engine/scoring/comparison.h): plain text for a
// terminal, JSON for programs. The offline `leadscore compare` and the API answer with the same
// renderings of the same report type.
//
// Pure functions: safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engine/scoring/comparison.h"

namespace leadscore::scoring {

std::string report_text(const ComparisonReport& report);
nlohmann::json report_json(const ComparisonReport& report);

}  // namespace leadscore::scoring
