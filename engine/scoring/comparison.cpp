#include "engine/scoring/comparison.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace leadscore::scoring {
namespace {

// The tenth a score falls in: [0, 0.1) is 0, ..., [0.9, 1] is 9.
std::size_t tenth_of(double score) {
  return static_cast<std::size_t>(std::clamp(std::floor(score * 10), 0.0, 9.0));
}

double mean_of(const std::vector<double>& values) {
  return values.empty() ? 0
                        : std::accumulate(values.begin(), values.end(), 0.0) /
                              static_cast<double>(values.size());
}

std::optional<double> pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double mx = mean_of(x), my = mean_of(y);
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0) return std::nullopt;
  return sxy / std::sqrt(sxx * syy);
}

OutcomeMetrics outcome_metrics(const ScorerRun& run,
                               const std::vector<std::optional<bool>>& outcomes) {
  std::vector<double> scores;
  std::vector<bool> converted;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (!outcomes[i] || !run.scores[i]) continue;
    scores.push_back(*run.scores[i]);
    converted.push_back(*outcomes[i]);
  }
  OutcomeMetrics m;
  m.n = scores.size();
  m.converted = static_cast<std::size_t>(std::count(converted.begin(), converted.end(), true));
  m.auc = auc(scores, converted);
  m.brier = brier_score(scores, converted);
  for (std::size_t b = 0; b < m.calibration.size(); ++b) {
    m.calibration[b].from = static_cast<double>(b) / 10;
    m.calibration[b].to = static_cast<double>(b + 1) / 10;
  }
  for (std::size_t i = 0; i < scores.size(); ++i) {
    CalibrationBin& bin = m.calibration[tenth_of(scores[i])];
    ++bin.n;
    bin.mean_score += scores[i];
    bin.converted += converted[i] ? 1 : 0;
  }
  for (CalibrationBin& bin : m.calibration) {
    if (bin.n == 0) continue;
    bin.mean_score /= static_cast<double>(bin.n);
    bin.converted /= static_cast<double>(bin.n);
  }
  return m;
}

ScorerSummary summarise(const ScorerRun& run, const std::vector<std::optional<bool>>& outcomes) {
  ScorerSummary s;
  s.scorer = run.scorer;
  std::vector<double> scores;
  for (std::size_t i = 0; i < run.scores.size(); ++i) {
    if (!run.scores[i]) {
      ++s.failed;
      continue;
    }
    scores.push_back(*run.scores[i]);
    ++s.histogram[tenth_of(*run.scores[i])];
    switch (run.recommendations[i].value_or(domain::Recommendation::ContinueQualification)) {
      case domain::Recommendation::TransferToSales:
        ++s.transfer;
        break;
      case domain::Recommendation::ContinueQualification:
        ++s.continue_qualification;
        break;
      case domain::Recommendation::DropLead:
        ++s.drop;
        break;
    }
  }
  s.n = scores.size();
  if (!scores.empty()) {
    s.mean = mean_of(scores);
    std::sort(scores.begin(), scores.end());
    s.min = scores.front();
    s.max = scores.back();
    s.p10 = quantile(scores, 0.1);
    s.median = quantile(scores, 0.5);
    s.p90 = quantile(scores, 0.9);
  }
  if (std::any_of(outcomes.begin(), outcomes.end(), [](const auto& o) { return o.has_value(); }))
    s.outcomes = outcome_metrics(run, outcomes);
  return s;
}

PairComparison compare_pair(const ScorerRun& a, const ScorerRun& b) {
  PairComparison p;
  p.a = a.scorer;
  p.b = b.scorer;
  std::vector<double> x, y;
  std::size_t same = 0;
  double absolute = 0;
  for (std::size_t i = 0; i < a.scores.size(); ++i) {
    if (!a.scores[i] || !b.scores[i]) continue;
    x.push_back(*a.scores[i]);
    y.push_back(*b.scores[i]);
    absolute += std::abs(*a.scores[i] - *b.scores[i]);
    if (a.recommendations[i] == b.recommendations[i]) ++same;
  }
  p.n = x.size();
  if (p.n == 0) return p;
  p.agreement = static_cast<double>(same) / static_cast<double>(p.n);
  p.mean_absolute_difference = absolute / static_cast<double>(p.n);
  p.spearman = spearman(x, y);
  return p;
}

}  // namespace

std::vector<double> average_ranks(const std::vector<double>& values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t i, std::size_t j) { return values[i] < values[j]; });
  std::vector<double> ranks(values.size());
  for (std::size_t start = 0; start < order.size();) {
    std::size_t end = start + 1;
    while (end < order.size() && values[order[end]] == values[order[start]]) ++end;
    // Positions start..end-1 hold ranks start+1..end: each gets their mean.
    const double rank = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2;
    for (std::size_t k = start; k < end; ++k) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

std::optional<double> spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return std::nullopt;
  return pearson(average_ranks(x), average_ranks(y));
}

std::optional<double> auc(const std::vector<double>& scores, const std::vector<bool>& converted) {
  // Mann–Whitney: the rank sum of the converted leads, against its least possible value.
  const auto positives = static_cast<double>(std::count(converted.begin(), converted.end(), true));
  const double negatives = static_cast<double>(converted.size()) - positives;
  if (positives == 0 || negatives == 0) return std::nullopt;
  const std::vector<double> ranks = average_ranks(scores);
  double rank_sum = 0;
  for (std::size_t i = 0; i < ranks.size(); ++i)
    if (converted[i]) rank_sum += ranks[i];
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

double brier_score(const std::vector<double>& scores, const std::vector<bool>& converted) {
  if (scores.empty()) return 0;
  double sum = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const double error = scores[i] - (converted[i] ? 1.0 : 0.0);
    sum += error * error;
  }
  return sum / static_cast<double>(scores.size());
}

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - static_cast<double>(below));
}

ComparisonReport compare_scorers(const std::vector<ScorerRun>& runs,
                                 const std::vector<std::optional<bool>>& outcomes,
                                 const ComparisonSettings& /*settings*/) {
  ComparisonReport report;
  report.leads = runs.empty() ? outcomes.size() : runs.front().scores.size();
  for (const ScorerRun& run : runs) report.scorers.push_back(summarise(run, outcomes));
  for (std::size_t i = 0; i < runs.size(); ++i)
    for (std::size_t j = i + 1; j < runs.size(); ++j)
      report.pairs.push_back(compare_pair(runs[i], runs[j]));
  return report;
}

}  // namespace leadscore::scoring
