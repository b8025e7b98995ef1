#include "api/lead_csv.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <unordered_set>

#include "api/json_mapping.h"
#include "tools/csv.h"

namespace leadscore::api {
namespace {

using domain::Error;

// Every column of an export, in order.
const std::vector<std::string_view>& export_columns() {
  static const std::vector<std::string_view> columns = [] {
    std::vector<std::string_view> all{"id", "source", "stage", "business_domain", "activity_count"};
    for (const domain::ProfileFieldSpec& spec : domain::kProfileFields) all.push_back(spec.name);
    for (std::string_view tail : {"ai_score", "ai_recommendation", "ai_reason", "ai_scorer",
                                  "ai_analyzed_at", "created_at", "updated_at"})
      all.push_back(tail);
    return all;
  }();
  return columns;
}

// The columns an import sets: the members of a POST /leads body.
bool importable(std::string_view column) {
  if (column == "source" || column == "activity_count") return true;
  return std::ranges::find(domain::text_field_names(), column) != domain::text_field_names().end();
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// The importable columns by position; nullopt where the column is ignored.
using ColumnNames = std::vector<std::optional<std::string>>;

// The field a column sets: its own name, or bio for the linkedin_bio column of some lead exports.
std::string field_of(std::string_view column) {
  return column == "linkedin_bio" ? "bio" : std::string(column);
}

bool exported(std::string_view column) {
  return std::ranges::find(export_columns(), column) != export_columns().end();
}

const std::string& expected_columns() {
  static const std::string text = [] {
    std::string names = "source";
    for (std::string_view field : domain::text_field_names()) {
      names.append(", ").append(field).append(field == "bio" ? " (or linkedin_bio)" : "");
      if (field == "business_domain") names.append(", activity_count");
    }
    return "; the columns are " + names + ", and the first row must name them";
  }();
  return text;
}

// What is wrong with the first `count` column names of `header`: its unknown columns, else
// its repeated ones, each named once (a set of the names seen keeps it linear); empty when
// nothing is.
std::string column_problem(const tools::CsvFields& header, std::size_t count) {
  std::vector<std::string> unknown, repeated;
  std::unordered_set<std::string> seen, reported;
  for (std::size_t i = 0; i < count; ++i) {
    std::string name = field_of(header[i]);
    if (!seen.insert(name).second) {
      if (reported.insert(name).second) repeated.push_back(std::move(name));
    } else if (!importable(name) && !exported(name)) {
      unknown.push_back(std::move(name));
    }
  }
  if (!unknown.empty())
    return "unknown column" + std::string(unknown.size() > 1 ? "s " : " ") + joined(unknown) +
           expected_columns();
  if (!repeated.empty())
    return "the header repeats column" + std::string(repeated.size() > 1 ? "s " : " ") +
           joined(repeated);
  return "";
}

// The header's columns, once column_problem() found nothing wrong with them.
std::expected<ColumnNames, Error> read_header(const tools::CsvFields& header,
                                              std::vector<std::string>& ignored,
                                              bool source_given) {
  if (std::string problem = column_problem(header, header.size()); !problem.empty())
    return std::unexpected(Error::validation("header", std::move(problem)));
  ColumnNames columns;
  bool has_source = source_given;
  for (std::size_t i = 0; i < header.size(); ++i) {
    std::string name = field_of(header[i]);
    if (importable(name)) {
      has_source = has_source || name == "source";
      columns.emplace_back(std::move(name));
    } else {
      ignored.push_back(std::move(name));
      columns.emplace_back();
    }
  }
  if (!has_source)
    return std::unexpected(Error::validation(
        "header", "the header has no source column (nor ?source=)" + expected_columns()));
  return columns;
}

// The refusal of a header past kMaxImportHeaderBytes (`cut`) or kMaxImportColumns: names the
// limit, and what is wrong among the columns read whole before it, so that a header of
// thousands of repeated columns is told both at once (each name once).
Error header_over_limits(const tools::CsvRow& row) {
  std::string message =
      row.cut ? "the header row is longer than " + std::to_string(kMaxImportHeaderBytes) + " bytes"
              : "the header has more than " + std::to_string(kMaxImportColumns) + " columns";
  message += " (an import has at most " + std::to_string(kMaxImportColumns) + " columns)";
  tools::CsvFields header;
  if (header.parse(row.text, kMaxImportColumns)) {
    // The last field is not whole: cut short, or the first one past the limit.
    const std::size_t whole = std::min(header.size() - 1, kMaxImportColumns);
    if (std::string problem = column_problem(header, whole); !problem.empty())
      message += "; " + problem;
  }
  return Error::validation("header", std::move(message));
}

// The POST /leads body that one row stands for: an empty cell is an absent member (the source
// then `default_source`, when given); an activity_count that is not an integer stays a string,
// for parse_new_lead to refuse.
json row_body(const ColumnNames& columns, const tools::CsvFields& fields,
              const std::optional<std::string>& default_source) {
  json body = json::object();
  if (default_source) body["source"] = *default_source;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (!columns[i] || fields[i].empty()) continue;
    const std::string_view cell = fields[i];
    if (*columns[i] == "activity_count") {
      std::int64_t count = 0;
      auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), count);
      if (ec == std::errc() && end == cell.data() + cell.size()) {
        body[*columns[i]] = count;
        continue;
      }
    }
    body[*columns[i]] = std::string(cell);
  }
  return body;
}

std::string_view optional_cell(const std::optional<std::string>& value) {
  return value ? std::string_view(*value) : std::string_view();
}

}  // namespace

std::expected<LeadImport, Error> read_lead_csv(std::string_view csv,
                                               const std::vector<std::string>& sources,
                                               const std::optional<std::string>& default_source) {
  tools::CsvRowReader reader(csv);
  const std::optional<tools::CsvRow> header_row = reader.next(kMaxImportHeaderBytes);
  if (!header_row)
    return std::unexpected(
        Error::validation("header", "the body is empty: a header row is required"));
  if (header_row->cut) return std::unexpected(header_over_limits(*header_row));
  tools::CsvFields header;
  if (!header.parse(header_row->text, kMaxImportColumns))
    return std::unexpected(Error::validation("header", "the header row is not valid CSV"));
  if (header.size() > kMaxImportColumns) return std::unexpected(header_over_limits(*header_row));
  LeadImport out;
  auto columns = read_header(header, out.ignored, default_source.has_value());
  if (!columns) return std::unexpected(columns.error());

  tools::CsvFields fields;
  while (const std::optional<tools::CsvRow> row = reader.next()) {
    // Each row costs memory until the import is written, and the insert time: a row past the
    // limit ends the reading.
    if (out.rows.size() + out.refused == kMaxImportRows)
      return std::unexpected(Error::validation(
          "body", "the import has more than " + std::to_string(kMaxImportRows) +
                      " rows (the first one past the limit is on line " +
                      std::to_string(row->line) + "); split it into smaller imports"));
    auto refuse = [&](std::string field, std::string message) {
      if (out.refused++ < kMaxReportedRows)
        out.problems.push_back({row->line, std::move(field), std::move(message)});
    };
    if (!fields.parse(row->text, header.size())) {
      refuse("", "the row is not valid CSV (a quote left open, or text after a closing quote)");
      continue;
    }
    if (fields.size() > header.size()) {
      refuse("", "the row has more than " + std::to_string(header.size()) +
                     " fields; the header has " + std::to_string(header.size()));
      continue;
    }
    if (fields.size() < header.size()) {
      refuse("", "the row has " + std::to_string(fields.size()) + " fields; the header has " +
                     std::to_string(header.size()));
      continue;
    }
    auto lead = parse_new_lead(row_body(*columns, fields, default_source));
    if (!lead) {
      refuse(lead.error().field, lead.error().message);
      continue;
    }
    if (auto e = domain::validate(*lead, sources)) {
      refuse(e->field, e->message);
      continue;
    }
    out.rows.push_back({row->line, std::move(*lead)});
  }
  return out;
}

void append_lead_csv_header(std::string& out) {
  for (std::size_t i = 0; i < export_columns().size(); ++i) {
    if (i > 0) out += ',';
    out += export_columns()[i];
  }
  out += '\n';
}

void append_lead_csv_row(std::string& out, const domain::Lead& lead) {
  auto field = [&out](std::string_view text) {
    tools::append_csv_field(out, text);
    out += ',';
  };
  field(std::to_string(lead.id));
  field(lead.source);
  field(domain::to_string(lead.stage));
  field(optional_cell(lead.business_domain));
  field(std::to_string(lead.activity_count));
  domain::for_each_profile_field(
      lead.profile, [&](const char*, const auto& value) { field(optional_cell(value)); });
  if (lead.ai_score) tools::append_csv_number(out, *lead.ai_score);
  out += ',';
  field(lead.ai_recommendation ? domain::to_string(*lead.ai_recommendation) : std::string_view());
  field(optional_cell(lead.ai_reason));
  field(optional_cell(lead.ai_scorer));
  field(optional_cell(lead.ai_analyzed_at));
  field(lead.created_at);
  tools::append_csv_field(out, lead.updated_at);
  out += '\n';
}

}  // namespace leadscore::api
