// Offline comparison of scorers: `leadscore compare IN.csv --scorers A,B[,...] [--outcome COL]
// [--offer FILE]`, with no database. Every lead of the CSV (read as `leadscore score` reads it)
// is scored by each named scorer itself, through the scoring step of every analysis (held to
// the result contract and its budget_ms; a failed run counts as failed: no fallback answers in
// its place), and the report (engine/scoring/comparison.h) compares them; with an outcome column
// (1/0, true/false, yes/no, converted/paid, lost; empty: unknown) it also measures each against
// what happened.
//
// Threading: compare_csv() is safe from any thread. It scores on `threads` threads of its own,
// each taking slices of whole rows (scorers are safe to call from several threads at once: a
// plugin keeps per-thread state, the Lua plugin a state per thread); the report does not depend
// on how many.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/scoring/comparison.h"
#include "engine/scoring/registry.h"
#include "tools/batch_score.h"

namespace leadscore::tools {

struct CompareOptions {
  CompareOptions() = default;
  // As {scorers, outcome column, offer}; the rest as by default.
  CompareOptions(std::vector<std::string> scorers_, std::string outcome_column_ = "",
                 std::shared_ptr<const domain::OfferView> offer_ = nullptr)
      : scorers(std::move(scorers_)),
        outcome_column(std::move(outcome_column_)),
        offer(std::move(offer_)) {}

  std::vector<std::string> scorers;  // at least one; each a scorer of the set
  std::string outcome_column;        // empty: none
  std::shared_ptr<const domain::OfferView> offer;
  scoring::ComparisonSettings settings;  // min_n, bootstrap, seed, handoff threshold
  int threads = 2;                       // scoring threads
};

struct CompareResult {
  scoring::ComparisonReport report;
  std::vector<BatchProblem> problems;  // rows skipped, with their line
};

// An error when a scorer is unknown, the header is unusable or lacks the outcome column.
std::expected<CompareResult, std::string> compare_csv(const scoring::ScorerSet& set,
                                                      std::string_view input,
                                                      const CompareOptions& options);

}  // namespace leadscore::tools
