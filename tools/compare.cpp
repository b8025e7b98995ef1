#include "tools/compare.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

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

// What one slice of rows gave: its leads' outcomes and every scorer's answers, in row order.
struct SliceResult {
  std::vector<std::optional<bool>> outcomes;
  std::vector<scoring::ScorerRun> runs;
  std::vector<BatchProblem> problems;
};

struct SliceContext {
  const scoring::ScorerSet& set;
  const std::vector<std::string>& scorers;  // names of scorers of `set`
  const ColumnMap& columns;
  std::size_t width;
  int outcome_index;
  const std::shared_ptr<const domain::OfferView>& offer;
};

void compare_slice(const SliceContext& context, const CsvSlice& slice, SliceResult& out) {
  auto runs = analysis::ComparisonRuns::of(context.set, context.scorers);  // compare_csv checked
  CsvRowReader reader(slice.text, slice.first_line);
  CsvFields fields;
  domain::Features features;
  features.offer = context.offer;
  while (const auto row = reader.next()) {
    if (!fields.parse(row->text) || fields.size() != context.width) {
      out.problems.push_back({row->line, "skipped: the row does not have the header's " +
                                             std::to_string(context.width) + " fields"});
      continue;
    }
    if (auto read = read_features(context.columns, fields, features); !read) {
      out.problems.push_back({row->line, "skipped: " + read.error()});
      continue;
    }
    auto outcome = read_outcome(cell(fields, context.outcome_index));
    if (!outcome) {
      out.problems.push_back({row->line, "skipped: " + outcome.error()});
      continue;
    }
    out.outcomes.push_back(*outcome);
    runs->add(features);
  }
  out.runs = std::move(*runs).take();
}

}  // namespace

std::expected<CompareResult, std::string> compare_csv(const scoring::ScorerSet& set,
                                                      std::string_view input,
                                                      const CompareOptions& options) {
  if (options.scorers.empty()) return std::unexpected(std::string("no scorer to compare"));
  auto checked = analysis::ComparisonRuns::of(set, options.scorers);
  if (!checked) return std::unexpected("no scorer named " + checked.error());
  std::vector<scoring::ScorerRun> runs = std::move(*checked).take();  // the names, no answers
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

  // Slices of ~256 KiB of whole rows, claimed in turn by the scoring threads; their results are
  // joined in input order, so the report is the same with any number of threads.
  const std::vector<CsvSlice> slices =
      cut_into_slices(input, reader.position(), reader.line(), 256 * 1024);
  std::vector<SliceResult> results(slices.size());
  const SliceContext context{set,           options.scorers, *columns,
                             fields.size(), outcome_index,   options.offer};
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < slices.size();)
      compare_slice(context, slices[i], results[i]);
  };
  {
    const std::size_t threads =
        std::clamp<std::size_t>(static_cast<std::size_t>(std::max(options.threads, 1)), 1,
                                std::max<std::size_t>(slices.size(), 1));
    std::vector<std::jthread> workers;
    for (std::size_t t = 1; t < threads; ++t) workers.emplace_back(work);
    work();
  }

  CompareResult result;
  std::vector<std::optional<bool>> outcomes;
  std::size_t leads = 0;
  for (const SliceResult& r : results) leads += r.outcomes.size();
  outcomes.reserve(leads);
  for (auto& run : runs) {
    run.scores.reserve(leads);
    run.recommendations.reserve(leads);
  }
  for (SliceResult& r : results) {
    outcomes.insert(outcomes.end(), r.outcomes.begin(), r.outcomes.end());
    for (std::size_t s = 0; s < runs.size(); ++s) {
      runs[s].scores.insert(runs[s].scores.end(), r.runs[s].scores.begin(), r.runs[s].scores.end());
      runs[s].recommendations.insert(runs[s].recommendations.end(),
                                     r.runs[s].recommendations.begin(),
                                     r.runs[s].recommendations.end());
    }
    std::move(r.problems.begin(), r.problems.end(), std::back_inserter(result.problems));
    r = SliceResult{};  // free as we go
  }
  if (outcome_index < 0) outcomes.clear();
  result.report = scoring::compare_scorers(runs, outcomes, options.settings);
  return result;
}

}  // namespace leadscore::tools
