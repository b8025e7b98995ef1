// The live report of scorers against closed sales (GET /reports/scorers, `leadscore report`):
// for every scorer version (a Lua rule set's hash, an LLM prompt version: analyses.
// scorer_version) that ran in a window, its calibration and outcome metrics
// (scoring::compare_scorers) over the latest analysis of each lead it scored there, the leads'
// sales being the outcomes: paid converted, lost not, anything else (no sale yet, or one still
// open) open — counted, never a failure. So a rule or prompt change is judged against the
// version before it, without an experiment.
//
// Threading: pure functions over what the store read; safe from any thread.
#pragma once

#include <expected>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/domain/error.h"
#include "engine/scoring/comparison.h"
#include "engine/store/store.h"

namespace leadscore::analysis {

struct ScorerVersionReport {
  std::string scorer;
  std::string version;
  std::size_t analyses = 0;  // every run in the window, of every lead
  std::string first_at;      // its first and last analysis in the window (RFC 3339, UTC)
  std::string last_at;
  std::size_t leads = 0;      // leads it scored (their latest run counts)
  std::size_t converted = 0;  // of those, sale paid
  std::size_t lost = 0;       // sale lost
  std::size_t open = 0;       // no sale yet, or one not paid nor lost
  // Its metrics (summary.outcomes: against the converted and lost leads), named scorer@version.
  scoring::ScorerSummary summary;
};

struct ScorerReport {
  std::string since;  // the window: since <= analysis time < until (RFC 3339, UTC)
  std::string until;
  scoring::ComparisonSettings settings;
  std::vector<ScorerVersionReport> versions;  // by scorer, then version
};

ScorerReport scorer_report(const store::ScorerRunsInWindow& runs,
                           const scoring::ComparisonSettings& settings);

// {since, until, min_n, scorers: [{scorer, version, analyses, first_at, last_at, leads,
// converted, lost, open, metrics}]}, metrics being scoring::report_json's entry of the version.
nlohmann::json scorer_report_json(const ScorerReport& report);
// The same for a terminal.
std::string scorer_report_text(const ScorerReport& report);
// The same as one self-contained HTML page (scoring::html_page): an overview table of the
// versions, then each version's tables and charts (scoring::report_html_section).
std::string scorer_report_html(const ScorerReport& report);

// A time of a report's window, `field` naming it in the error: a date (2026-11-30: its
// midnight, UTC) or an RFC 3339 date-time (2026-11-30T12:00:00Z, with an offset or fractions of
// a second). Returned as PostgreSQL reads it the same in every time zone (a date gains
// T00:00:00Z); Validation naming `field` otherwise.
std::expected<std::string, domain::Error> parse_report_time(std::string_view text,
                                                            const std::string& field);

}  // namespace leadscore::analysis
