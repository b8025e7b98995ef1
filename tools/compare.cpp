#include "tools/compare.h"

#include <cstdio>
#include <optional>

#include "engine/analysis/scoring_step.h"
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

std::string fixed(double value, int decimals = 3) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string optional_fixed(const std::optional<double>& value) {
  return value ? fixed(*value) : std::string("n/a");
}

}  // namespace

std::expected<CompareResult, std::string> compare_csv(const scoring::ScorerSet& set,
                                                      std::string_view input,
                                                      const CompareOptions& options) {
  if (options.scorers.empty()) return std::unexpected(std::string("no scorer to compare"));
  std::vector<const scoring::Scorer*> scorers;
  std::vector<scoring::ScorerRun> runs;
  for (const std::string& name : options.scorers) {
    const scoring::Scorer* scorer = set.find(name);
    if (scorer == nullptr) return std::unexpected("no scorer named " + name);
    scorers.push_back(scorer);
    runs.push_back({name, {}, {}});
  }
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
    for (std::size_t s = 0; s < scorers.size(); ++s) {
      const auto scored =
          analysis::score_features(set, *scorers[s], features, analysis::Fallbacks::Ignore);
      const auto& result = scored.result;
      runs[s].scores.push_back(result ? std::optional<double>(result->score) : std::nullopt);
      runs[s].recommendations.push_back(
          result ? std::optional<domain::Recommendation>(result->recommendation) : std::nullopt);
    }
  }
  result.report = scoring::compare_scorers(runs, outcomes);
  return result;
}

std::string to_text(const scoring::ComparisonReport& report) {
  std::string text = std::to_string(report.leads) + " leads\n";
  for (const auto& s : report.scorers) {
    text += "\n" + s.scorer + ": " + std::to_string(s.n) + " scored, " + std::to_string(s.failed) +
            " failed\n";
    text += "  score  mean " + fixed(s.mean) + "  min " + fixed(s.min) + "  p10 " + fixed(s.p10) +
            "  median " + fixed(s.median) + "  p90 " + fixed(s.p90) + "  max " + fixed(s.max) +
            "\n";
    text += "  by tenth ";
    for (std::size_t count : s.histogram) text += " " + std::to_string(count);
    text += "\n  transfer_to_sales " + std::to_string(s.transfer) + ", continue_qualification " +
            std::to_string(s.continue_qualification) + ", drop_lead " + std::to_string(s.drop) +
            "\n";
    if (s.outcomes) {
      const auto& o = *s.outcomes;
      text += "  against outcomes (" + std::to_string(o.n) + " leads, " +
              std::to_string(o.converted) + " converted): AUC " + optional_fixed(o.auc) +
              ", Brier " + fixed(o.brier) +
              "\n  calibration (scores: leads, mean score, converted)\n";
      for (const auto& bin : o.calibration) {
        if (bin.n == 0) continue;
        text += "    " + fixed(bin.from, 1) + "-" + fixed(bin.to, 1) + ": " +
                std::to_string(bin.n) + ", " + fixed(bin.mean_score) + ", " + fixed(bin.converted) +
                "\n";
      }
    }
  }
  if (!report.pairs.empty()) text += "\n";
  for (const auto& p : report.pairs) {
    text += p.a + " vs " + p.b + " (" + std::to_string(p.n) +
            " leads both scored): same recommendation " + fixed(p.agreement * 100, 1) +
            "%, Spearman " + optional_fixed(p.spearman) + ", mean |difference| " +
            fixed(p.mean_absolute_difference) + "\n";
  }
  return text;
}

nlohmann::json to_json(const scoring::ComparisonReport& report) {
  using nlohmann::json;
  const auto optional_number = [](const std::optional<double>& v) {
    return v ? json(*v) : json(nullptr);
  };
  json scorers = json::array();
  for (const auto& s : report.scorers) {
    json entry = {{"scorer", s.scorer},
                  {"n", s.n},
                  {"failed", s.failed},
                  {"score",
                   {{"mean", s.mean},
                    {"min", s.min},
                    {"p10", s.p10},
                    {"median", s.median},
                    {"p90", s.p90},
                    {"max", s.max},
                    {"histogram", s.histogram}}},
                  {"recommendations",
                   {{"transfer_to_sales", s.transfer},
                    {"continue_qualification", s.continue_qualification},
                    {"drop_lead", s.drop}}}};
    if (s.outcomes) {
      json bins = json::array();
      for (const auto& bin : s.outcomes->calibration)
        bins.push_back({{"from", bin.from},
                        {"to", bin.to},
                        {"n", bin.n},
                        {"mean_score", bin.mean_score},
                        {"converted", bin.converted}});
      entry["outcomes"] = {{"n", s.outcomes->n},
                           {"converted", s.outcomes->converted},
                           {"auc", optional_number(s.outcomes->auc)},
                           {"brier", s.outcomes->brier},
                           {"calibration", bins}};
    }
    scorers.push_back(entry);
  }
  json pairs = json::array();
  for (const auto& p : report.pairs)
    pairs.push_back({{"a", p.a},
                     {"b", p.b},
                     {"n", p.n},
                     {"agreement", p.agreement},
                     {"spearman", optional_number(p.spearman)},
                     {"mean_absolute_difference", p.mean_absolute_difference}});
  return {{"leads", report.leads}, {"scorers", scorers}, {"pairs", pairs}};
}

}  // namespace leadscore::tools
