// Offline batch scoring: `leadscore score IN.csv -o OUT.csv [--scorer NAME] [--offer FILE]`,
// with no database. Reads leads from a CSV with a header row (columns named as the lead fields:
// source, stage, activity_count, business_domain, name, email, role, company, industry,
// location, bio; other columns pass through), and writes every row back with score,
// recommendation, reason and scorer appended. Bad rows are reported with their line and
// skipped. Rows are scored in chunks on several worker threads while the calling thread writes
// the finished chunks; output keeps the input order.
//
// Threading: score_csv() and score_csv_file() are safe from any thread; they start their own
// workers, which live for the whole run (so a scorer's per-thread state is made once per
// worker, not once per chunk).
#pragma once

#include <cstddef>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/scoring/registry.h"

namespace leadscore::tools {

struct BatchProblem {
  std::size_t line = 0;
  std::string message;
};

struct BatchReport {
  std::size_t rows = 0;                // data rows read
  std::size_t scored = 0;              // rows written
  std::vector<BatchProblem> problems;  // rows skipped, in input order
};

struct BatchOptions {
  int threads = 2;
  // Input bytes per chunk of work (whole rows: a chunk ends at the first row end past it).
  // Large enough that handing chunks over costs nothing per row, small enough to keep every
  // worker busy to the end.
  std::size_t chunk_bytes = 256 * 1024;
  // Called now and then, from the calling thread, with (input lines done, input lines in all)
  // of the data after the header; the last call has done == all.
  std::function<void(std::size_t, std::size_t)> progress;
  // The offer every row is scored against (the features' offer); nullptr for none.
  std::shared_ptr<const domain::OfferView> offer;
};

// Receives the scored CSV piece by piece, in order. Returns false when it could not take the
// piece (a failed write), which stops the run.
using CsvSink = std::function<bool(std::string_view)>;

// Scores `input` (CSV text) with `scorer` of `set` (its fallbacks included) into `output`.
// An error when the header is unusable (no `source` column, a repeated column), before anything
// is written; or when `output` refused a piece.
std::expected<BatchReport, std::string> score_csv(const scoring::ScorerSet& set,
                                                  const scoring::Scorer& scorer,
                                                  std::string_view input, const CsvSink& output,
                                                  const BatchOptions& options = {});

// score_csv() from the file at `input_path` into the file at `output_path` ("-": stdout). The
// input is mapped, not copied; the output file is created only once the header is accepted.
// Errors say which file: "cannot read IN: ...", "IN: the header has no source column",
// "cannot write OUT: ...".
std::expected<BatchReport, std::string> score_csv_file(const scoring::ScorerSet& set,
                                                       const scoring::Scorer& scorer,
                                                       const std::string& input_path,
                                                       const std::string& output_path,
                                                       const BatchOptions& options = {});

}  // namespace leadscore::tools
