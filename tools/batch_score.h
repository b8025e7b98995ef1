// Offline batch scoring: `leadscore score IN.csv -o OUT.csv [--scorer NAME]`, with no
// database. Reads leads from a CSV with a header row (columns named as the lead fields:
// source, stage, activity_count, business_domain, name, email, role, company, industry,
// location, bio; other columns pass through), and writes every row back with score,
// recommendation, reason and scorer appended. Bad rows are reported with their line and
// skipped. Rows are scored on several threads; output keeps the input order.
//
// Threading: score_csv() is safe from any thread; it starts its own workers.
#pragma once

#include <cstddef>
#include <expected>
#include <functional>
#include <string>
#include <vector>

#include "engine/scoring/registry.h"

namespace leadscore::tools {

struct BatchProblem {
  std::size_t line = 0;
  std::string message;
};

struct BatchReport {
  std::size_t rows = 0;    // data rows read
  std::size_t scored = 0;  // rows written
  std::vector<BatchProblem> problems;  // rows skipped, in input order
};

struct BatchOptions {
  int threads = 2;
  // Called now and then with (rows done, rows in all) from the calling thread.
  std::function<void(std::size_t, std::size_t)> progress;
};

// Scores `input` (CSV text) with `scorer` of `set` (its fallbacks included) into `output`.
// An error when the header is unusable (no `source` column, a repeated column).
std::expected<BatchReport, std::string> score_csv(const scoring::ScorerSet& set,
                                                  const scoring::Scorer& scorer,
                                                  std::string_view input, std::string& output,
                                                  const BatchOptions& options = {});

}  // namespace leadscore::tools
