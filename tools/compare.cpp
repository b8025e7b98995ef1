#include "tools/compare.h"

#include <optional>

#include "engine/analysis/comparison_runs.h"
#include "tools/csv.h"
#include "tools/lead_columns.h"

namespace leadscore::tools {
namespace {

// An outcome cell: converted (true), not (false), unknown (nullopt); an error for other text.
std::expected<std::optional<bool>, std::string> read_outcome(std::string_view text) {
  if (text.empty()) return std::optional<bool>();
  for (std::string_view yes : {"1", "true", "yes", "converted", "paid"})
    if (text == yes) return std::optional<bool>(true);
  for (std::string_view no : {"0", "false", "no", "lost"})
    if (text == no) return std::optional<bool>(false);
  return std::unexpected("outcome '" + std::string(text) +
                         "' is not one of 1/0, true/false, yes/no, converted/paid/lost");
}

}  // namespace

std::expected<CompareResult, std::string> compare_csv(const scoring::ScorerSet& set,
                                                      std::string_view input,
                                                      const CompareOptions& options) {
  if (options.scorers.empty()) return std::unexpected(std::string("no scorer to compare"));
  auto runs = analysis::ComparisonRuns::of(set, options.scorers);
  if (!runs) return std::unexpected("no scorer named " + runs.error());
  CsvRowReader reader(input);
  CsvFields fields;
  const auto header_row = reader.next();
  if (!header_row || !fields.parse(header_row->text))
    return std::unexpected(std::string("the input has no header row"));
  auto columns = map_columns(fields);
  if (!columns) return std::unexpected(columns.error());
  int outcome_index = -1;
  if (!options.outcome_column.empty()) {
    for (std::size_t i = 0; i < fields.size(); ++i)
      if (fields[i] == options.outcome_column) outcome_index = static_cast<int>(i);
    if (outcome_index < 0)
      return std::unexpected("the header has no column " + options.outcome_column +
                             " (the outcome)");
  }
  const std::size_t width = fields.size();

  CompareResult result;
  std::vector<std::optional<bool>> outcomes;
  domain::Features features;
  features.offer = options.offer;
  while (const auto row = reader.next()) {
    if (!fields.parse(row->text) || fields.size() != width) {
      result.problems.push_back({row->line, "skipped: the row does not have the header's " +
                                                std::to_string(width) + " fields"});
      continue;
    }
    if (auto read = read_features(*columns, fields, features); !read) {
      result.problems.push_back({row->line, "skipped: " + read.error()});
      continue;
    }
    auto outcome = read_outcome(cell(fields, outcome_index));
    if (!outcome) {
      result.problems.push_back({row->line, "skipped: " + outcome.error()});
      continue;
    }
    outcomes.push_back(*outcome);
    runs->add(features);
  }
  result.report = scoring::compare_scorers(runs->runs(), outcomes);
  return result;
}

}  // namespace leadscore::tools
