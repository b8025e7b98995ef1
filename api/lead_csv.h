// Leads as CSV for POST /leads/import and GET /leads/export.csv. The columns are the lead
// fields, named as in JSON. An import row is read into the JSON body POST /leads takes and
// checked by the same code (parse_new_lead, then domain::validate), so a row is accepted
// exactly when that body would be.
//
// Threading: pure functions; any thread.
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/domain/error.h"
#include "engine/domain/lead.h"
#include "engine/domain/lead_input.h"

namespace leadscore::api {

struct ImportRow {
  std::size_t line = 0;  // 1-based line where the row starts (the header is line 1)
  domain::NewLead lead;
};

struct RowProblem {
  std::size_t line = 0;
  std::string field;  // empty when the row as a whole is wrong (its shape, its quoting)
  std::string message;
};

// What an import reads at most, and reports at most, so that neither the work nor the answer
// grows past these whatever the body holds.
constexpr std::size_t kMaxImportColumns = 64;
constexpr std::size_t kMaxImportHeaderBytes = 8 << 10;  // the header row, without its line break
constexpr std::size_t kMaxImportRows = 100000;          // good and refused rows together
constexpr std::size_t kMaxReportedRows = 100;

struct LeadImport {
  std::vector<ImportRow> rows;  // the acceptable rows, in input order
  // The first kMaxReportedRows refused rows (each with its first problem), in order.
  std::vector<RowProblem> problems;
  std::size_t refused = 0;           // every refused row, the reported ones included
  std::vector<std::string> ignored;  // export columns a caller cannot set (id, stage, ai_*…)
};

// Reads a CSV with a header row. Columns: source (required, unless `default_source` is
// given: it fills an absent or empty source), business_domain, activity_count, name, email,
// role, company, industry, location, bio (or some exports' linkedin_bio); an empty cell is an
// absent field. The columns GET /leads/export.csv adds (id, stage, ai_*, created_at,
// updated_at) are ignored, so an export imports as new leads. A Validation error (field
// "header") for an empty input, a header row longer than kMaxImportHeaderBytes or of more than
// kMaxImportColumns columns (found without reading further), a header that is not valid CSV,
// unknown or repeated columns (each named once), or no source at all; and (field "body") for
// more than kMaxImportRows rows, found without reading past the first row too many. A row of
// more fields than the header is refused without splitting it further. Linear in the size of
// `csv`.
std::expected<LeadImport, domain::Error> read_lead_csv(
    std::string_view csv, const std::vector<std::string>& sources,
    const std::optional<std::string>& default_source = std::nullopt);

// The export's header row, then one row per lead (null fields are empty cells; ai_scorer is
// the scorer's name), each ending in a line break.
void append_lead_csv_header(std::string& out);
void append_lead_csv_row(std::string& out, const domain::Lead& lead);

}  // namespace leadscore::api
