#include "engine/scoring/comparison.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <numeric>
#include <thread>

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

// Leads with an outcome, sorted by score and gathered into levels of equal score: what AUC, KS,
// lift, the ROC curve and the bootstrap all read, after one sort.
struct ScoreLevels {
  std::vector<double> score;                  // ascending, distinct
  std::vector<std::size_t> converted, other;  // leads of each kind at the level
  std::size_t positives = 0, negatives = 0;
  // For the bootstrap: per lead in ascending score order, 2 * its level + 1 if it converted.
  std::vector<std::uint32_t> lead_code;
};

ScoreLevels levels_of(const std::vector<double>& scores, const std::vector<bool>& converted,
                      bool keep_leads = false) {
  std::vector<std::pair<double, bool>> sorted(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) sorted[i] = {scores[i], converted[i]};
  std::sort(sorted.begin(), sorted.end());
  ScoreLevels levels;
  if (keep_leads) levels.lead_code.reserve(sorted.size());
  for (const auto& [score, yes] : sorted) {
    if (levels.score.empty() || levels.score.back() != score) {
      levels.score.push_back(score);
      levels.converted.push_back(0);
      levels.other.push_back(0);
    }
    ++(yes ? levels.converted.back() : levels.other.back());
    ++(yes ? levels.positives : levels.negatives);
    if (keep_leads)
      levels.lead_code.push_back(static_cast<std::uint32_t>(2 * (levels.score.size() - 1)) +
                                 (yes ? 1 : 0));
  }
  return levels;
}

bool both_kinds(const ScoreLevels& l) { return l.positives > 0 && l.negatives > 0; }

double auc_of(const ScoreLevels& l) {
  double wins = 0, below = 0;
  for (std::size_t k = 0; k < l.score.size(); ++k) {
    wins += static_cast<double>(l.converted[k]) * (below + 0.5 * static_cast<double>(l.other[k]));
    below += static_cast<double>(l.other[k]);
  }
  return wins / (static_cast<double>(l.positives) * static_cast<double>(l.negatives));
}

double ks_of(const ScoreLevels& l) {
  double pos = 0, neg = 0, ks = 0;
  for (std::size_t k = 0; k < l.score.size(); ++k) {
    pos += static_cast<double>(l.converted[k]);
    neg += static_cast<double>(l.other[k]);
    ks = std::max(ks, std::abs(pos / static_cast<double>(l.positives) -
                               neg / static_cast<double>(l.negatives)));
  }
  return ks;
}

double lift_of(const ScoreLevels& l) {
  const double n = static_cast<double>(l.positives + l.negatives);
  double room = n / 10, converted = 0;
  for (std::size_t k = l.score.size(); k-- > 0 && room > 0;) {
    const double at = static_cast<double>(l.converted[k] + l.other[k]);
    const double taken = std::min(at, room);
    converted += static_cast<double>(l.converted[k]) * taken / at;
    room -= taken;
  }
  return (converted / (n / 10)) / (static_cast<double>(l.positives) / n);
}

// From the highest threshold down: (0,0) first, (1,1) last; a point is kept when either rate
// moved by 1/200 or more since the last one kept.
std::vector<RocPoint> roc_of(const ScoreLevels& l) {
  std::vector<RocPoint> points{{0, 0}};
  double tp = 0, fp = 0;
  for (std::size_t k = l.score.size(); k-- > 0;) {
    tp += static_cast<double>(l.converted[k]);
    fp += static_cast<double>(l.other[k]);
    const RocPoint p{fp / static_cast<double>(l.negatives), tp / static_cast<double>(l.positives)};
    const RocPoint& last = points.back();
    if (k == 0 || p.false_positive_rate - last.false_positive_rate >= 0.005 ||
        p.true_positive_rate - last.true_positive_rate >= 0.005)
      points.push_back(p);
  }
  return points;
}

// splitmix64: a small generator of our own, so that a seed gives the same resamples with any
// standard library.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (Lemire's multiply-shift; the bias is below 2^-32 for n < 2^32).
  std::size_t below(std::size_t n) {
    __extension__ using Wide = unsigned __int128;  // a GCC/Clang type: said so to -Wpedantic
    return static_cast<std::size_t>((static_cast<Wide>(next()) * n) >> 64);
  }
};

// The AUC of one resample: every lead drawn with replacement, the draws counted per position
// of the score order, then one pass over that order. O(n). None when a kind was not drawn.
std::optional<double> resample_auc(const ScoreLevels& l, SplitMix64& random,
                                   std::vector<std::uint32_t>& draws) {
  const std::size_t n = l.lead_code.size();
  for (std::size_t i = 0; i < n; ++i) ++draws[random.below(n)];
  double wins = 0, below = 0, level_pos = 0, level_neg = 0, positives = 0;
  std::uint32_t level = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t code = l.lead_code[i];
    if ((code >> 1) != level) {
      wins += level_pos * (below + 0.5 * level_neg);
      below += level_neg;
      positives += level_pos;
      level_pos = level_neg = 0;
      level = code >> 1;
    }
    ((code & 1) ? level_pos : level_neg) += draws[i];
    draws[i] = 0;  // ready for the next resample
  }
  wins += level_pos * (below + 0.5 * level_neg);
  below += level_neg;
  positives += level_pos;
  if (positives == 0 || below == 0) return std::nullopt;
  return wins / (positives * below);
}

std::optional<Interval> bootstrap_interval(const ScoreLevels& l, std::size_t resamples,
                                           std::uint64_t seed, unsigned threads) {
  if (resamples == 0 || !both_kinds(l)) return std::nullopt;
  std::vector<std::optional<double>> aucs(resamples);
  // Resample r has its own stream, so that the interval does not depend on the threads.
  const auto run = [&](std::size_t first, std::size_t step) {
    std::vector<std::uint32_t> draws(l.lead_code.size());
    for (std::size_t r = first; r < resamples; r += step) {
      SplitMix64 random{seed ^ (0xd1b54a32d192ed03ULL * (r + 1))};
      aucs[r] = resample_auc(l, random, draws);
    }
  };
  const std::size_t workers = std::clamp<std::size_t>(threads, 1, resamples);
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 1; t < workers; ++t) pool.emplace_back(run, t, workers);
    run(0, workers);
  }
  std::vector<double> drawn;
  for (const auto& a : aucs)
    if (a) drawn.push_back(*a);
  if (drawn.empty()) return std::nullopt;
  std::sort(drawn.begin(), drawn.end());
  return Interval{quantile(drawn, 0.025), quantile(drawn, 0.975)};
}

// DeLong's structural components of one scorer: per converted lead the share of the others it
// outscores (V10), per other lead the share of converted leads that outscore it (V01); ties half.
struct Components {
  std::vector<double> v10, v01;  // in the leads' order within each kind
};

Components components_of(const std::vector<double>& scores, const std::vector<bool>& converted,
                         std::size_t positives, std::size_t negatives) {
  std::vector<std::pair<double, std::uint32_t>> order(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i)
    order[i] = {scores[i], static_cast<std::uint32_t>(i)};
  std::sort(order.begin(), order.end());
  // Index of each lead within its kind, to write its component in lead order.
  std::vector<std::uint32_t> within(scores.size());
  std::size_t p = 0, q = 0;
  for (std::size_t i = 0; i < scores.size(); ++i)
    within[i] = static_cast<std::uint32_t>(converted[i] ? p++ : q++);
  Components c{std::vector<double>(positives), std::vector<double>(negatives)};
  double pos_below = 0, neg_below = 0;
  const auto P = static_cast<double>(positives), N = static_cast<double>(negatives);
  for (std::size_t start = 0; start < order.size();) {
    std::size_t end = start;
    double pos_at = 0, neg_at = 0;
    while (end < order.size() && order[end].first == order[start].first) {
      (converted[order[end].second] ? pos_at : neg_at) += 1;
      ++end;
    }
    for (std::size_t k = start; k < end; ++k) {
      const std::uint32_t lead = order[k].second;
      if (converted[lead])
        c.v10[within[lead]] = (neg_below + 0.5 * neg_at) / N;
      else
        c.v01[within[lead]] = (P - pos_below - pos_at + 0.5 * pos_at) / P;
    }
    pos_below += pos_at;
    neg_below += neg_at;
    start = end;
  }
  return c;
}

// The sample covariance matrix entries (xx, yy, xy) of paired values.
std::array<double, 3> covariance(const std::vector<double>& x, const std::vector<double>& y) {
  const double mx = mean_of(x), my = mean_of(y);
  double xx = 0, yy = 0, xy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    xx += (x[i] - mx) * (x[i] - mx);
    yy += (y[i] - my) * (y[i] - my);
    xy += (x[i] - mx) * (y[i] - my);
  }
  const double d = static_cast<double>(x.size()) - 1;
  return {xx / d, yy / d, xy / d};
}

// Inversions (pairs out of order, ties not counted) while merge-sorting `v` ascending.
std::uint64_t sort_counting_inversions(std::vector<double>& v) {
  std::vector<double> buffer(v.size());
  std::uint64_t inversions = 0;
  for (std::size_t width = 1; width < v.size(); width *= 2) {
    for (std::size_t lo = 0; lo < v.size(); lo += 2 * width) {
      const std::size_t mid = std::min(lo + width, v.size()),
                        hi = std::min(lo + 2 * width, v.size());
      std::size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        if (v[j] < v[i]) {
          inversions += mid - i;
          buffer[k++] = v[j++];
        } else {
          buffer[k++] = v[i++];
        }
      }
      while (i < mid) buffer[k++] = v[i++];
      while (j < hi) buffer[k++] = v[j++];
    }
    v.swap(buffer);
  }
  return inversions;
}

// Pairs tied within runs of equal values of sorted `v`: sum of t(t-1)/2.
template <typename Equal>
double tied_pairs(std::size_t n, Equal equal) {
  double pairs = 0;
  for (std::size_t start = 0; start < n;) {
    std::size_t end = start + 1;
    while (end < n && equal(start, end)) ++end;
    const double t = static_cast<double>(end - start);
    pairs += t * (t - 1) / 2;
    start = end;
  }
  return pairs;
}

OutcomeMetrics outcome_metrics(const ScorerRun& run,
                               const std::vector<std::optional<bool>>& outcomes,
                               const ComparisonSettings& settings) {
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
  m.sufficient = m.converted >= std::max<std::size_t>(settings.min_n, 1) &&
                 m.n - m.converted >= std::max<std::size_t>(settings.min_n, 1);
  if (!m.sufficient) return m;
  const ScoreLevels levels = levels_of(scores, converted, settings.bootstrap > 0);
  m.auc = auc_of(levels);
  m.auc_interval = bootstrap_interval(levels, settings.bootstrap, settings.seed, settings.threads);
  m.brier = brier_score(scores, converted);
  m.lift_top_decile = lift_of(levels);
  m.ks = ks_of(levels);
  m.roc = roc_of(levels);
  return m;
}

ScorerSummary summarise(const ScorerRun& run, const std::vector<std::optional<bool>>& outcomes,
                        const ComparisonSettings& settings) {
  ScorerSummary s;
  s.scorer = run.scorer;
  std::vector<double> scores;
  scores.reserve(run.scores.size());
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
    s.outcomes = outcome_metrics(run, outcomes, settings);
  return s;
}

int label_of(const std::optional<domain::Recommendation>& r) {
  return static_cast<int>(r.value_or(domain::Recommendation::ContinueQualification));
}

PairComparison compare_pair(const ScorerRun& a, const ScorerRun& b,
                            const std::vector<std::optional<bool>>& outcomes,
                            const ComparisonSettings& settings) {
  PairComparison p;
  p.a = a.scorer;
  p.b = b.scorer;
  p.handoff.threshold = settings.handoff_min_score;
  std::vector<double> x, y, outcome_x, outcome_y;
  std::vector<int> recommendation_a, recommendation_b, handoff_a, handoff_b;
  std::vector<bool> converted;
  std::vector<std::size_t> both;  // the leads both scored, in order
  std::size_t same = 0;
  double absolute = 0;
  for (std::size_t i = 0; i < a.scores.size(); ++i) {
    if (!a.scores[i] || !b.scores[i]) continue;
    both.push_back(i);
    x.push_back(*a.scores[i]);
    y.push_back(*b.scores[i]);
    absolute += std::abs(*a.scores[i] - *b.scores[i]);
    if (a.recommendations[i] == b.recommendations[i]) ++same;
    recommendation_a.push_back(label_of(a.recommendations[i]));
    recommendation_b.push_back(label_of(b.recommendations[i]));
    const bool hand_a = *a.scores[i] >= settings.handoff_min_score;
    const bool hand_b = *b.scores[i] >= settings.handoff_min_score;
    handoff_a.push_back(hand_a ? 1 : 0);
    handoff_b.push_back(hand_b ? 1 : 0);
    const std::size_t cell = hand_a ? (hand_b ? 0 : 1) : (hand_b ? 2 : 3);
    ++(cell == 0   ? p.handoff.both
       : cell == 1 ? p.handoff.only_a
       : cell == 2 ? p.handoff.only_b
                   : p.handoff.neither);
    if (i < outcomes.size() && outcomes[i]) {
      ++p.handoff.with_outcome[cell];
      if (*outcomes[i]) ++p.handoff.converted[cell];
      outcome_x.push_back(*a.scores[i]);
      outcome_y.push_back(*b.scores[i]);
      converted.push_back(*outcomes[i]);
    }
  }
  p.n = x.size();
  if (p.n == 0) return p;
  p.agreement = static_cast<double>(same) / static_cast<double>(p.n);
  p.recommendation_kappa = cohen_kappa(recommendation_a, recommendation_b);
  p.handoff.kappa = cohen_kappa(handoff_a, handoff_b);
  p.mean_absolute_difference = absolute / static_cast<double>(p.n);
  p.spearman = spearman(x, y);
  p.kendall_tau_b = kendall_tau_b(x, y);
  p.outcome_n = converted.size();
  p.outcome_converted =
      static_cast<std::size_t>(std::count(converted.begin(), converted.end(), true));
  const std::size_t min_n = std::max<std::size_t>(settings.min_n, 1);
  if (p.outcome_converted >= min_n && p.outcome_n - p.outcome_converted >= min_n)
    p.auc_difference = delong_test(outcome_x, outcome_y, converted);
  const std::size_t cap = std::max<std::size_t>(settings.scatter_points, 1);
  const std::size_t step = (p.n + cap - 1) / cap;
  for (std::size_t k = 0; k < both.size(); k += step) {
    const std::size_t i = both[k];
    const int outcome = i < outcomes.size() && outcomes[i] ? (*outcomes[i] ? 1 : 0) : -1;
    p.scatter.push_back({*a.scores[i], *b.scores[i], outcome});
  }
  return p;
}

}  // namespace

std::vector<double> average_ranks(const std::vector<double>& values) {
  std::vector<std::pair<double, std::uint32_t>> order(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    order[i] = {values[i], static_cast<std::uint32_t>(i)};
  std::sort(order.begin(), order.end());
  std::vector<double> ranks(values.size());
  for (std::size_t start = 0; start < order.size();) {
    std::size_t end = start + 1;
    while (end < order.size() && order[end].first == order[start].first) ++end;
    // Positions start..end-1 hold ranks start+1..end: each gets their mean.
    const double rank = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2;
    for (std::size_t k = start; k < end; ++k) ranks[order[k].second] = rank;
    start = end;
  }
  return ranks;
}

std::optional<double> spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return std::nullopt;
  return pearson(average_ranks(x), average_ranks(y));
}

std::optional<double> kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return std::nullopt;
  const std::size_t n = x.size();
  std::vector<std::pair<double, double>> pairs(n);
  for (std::size_t i = 0; i < n; ++i) pairs[i] = {x[i], y[i]};
  std::sort(pairs.begin(), pairs.end());
  const double tied_x =
      tied_pairs(n, [&](std::size_t i, std::size_t j) { return pairs[i].first == pairs[j].first; });
  const double tied_xy =
      tied_pairs(n, [&](std::size_t i, std::size_t j) { return pairs[i] == pairs[j]; });
  std::vector<double> ys(n);
  for (std::size_t i = 0; i < n; ++i) ys[i] = pairs[i].second;
  // Sorted by x then y, a pair out of order in y is discordant (ties in x are already in order).
  const auto discordant = static_cast<double>(sort_counting_inversions(ys));
  const double tied_y = tied_pairs(n, [&](std::size_t i, std::size_t j) { return ys[i] == ys[j]; });
  const double all = static_cast<double>(n) * static_cast<double>(n - 1) / 2;
  if (all == tied_x || all == tied_y) return std::nullopt;
  return (all - tied_x - tied_y + tied_xy - 2 * discordant) /
         std::sqrt((all - tied_x) * (all - tied_y));
}

std::optional<double> auc(const std::vector<double>& scores, const std::vector<bool>& converted) {
  const ScoreLevels levels = levels_of(scores, converted);
  if (!both_kinds(levels)) return std::nullopt;
  return auc_of(levels);
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

std::optional<double> top_decile_lift(const std::vector<double>& scores,
                                      const std::vector<bool>& converted) {
  const ScoreLevels levels = levels_of(scores, converted);
  if (!both_kinds(levels)) return std::nullopt;
  return lift_of(levels);
}

std::optional<double> ks_statistic(const std::vector<double>& scores,
                                   const std::vector<bool>& converted) {
  const ScoreLevels levels = levels_of(scores, converted);
  if (!both_kinds(levels)) return std::nullopt;
  return ks_of(levels);
}

std::optional<double> cohen_kappa(const std::vector<int>& a, const std::vector<int>& b) {
  if (a.empty() || a.size() != b.size()) return std::nullopt;
  const int labels =
      std::max(*std::max_element(a.begin(), a.end()), *std::max_element(b.begin(), b.end())) + 1;
  std::vector<double> count_a(static_cast<std::size_t>(labels)), count_b(count_a);
  double agree = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ++count_a[static_cast<std::size_t>(a[i])];
    ++count_b[static_cast<std::size_t>(b[i])];
    if (a[i] == b[i]) ++agree;
  }
  const auto n = static_cast<double>(a.size());
  double chance = 0;
  for (std::size_t k = 0; k < count_a.size(); ++k) chance += (count_a[k] / n) * (count_b[k] / n);
  if (chance >= 1) return std::nullopt;
  return (agree / n - chance) / (1 - chance);
}

std::optional<AucDifference> delong_test(const std::vector<double>& a, const std::vector<double>& b,
                                         const std::vector<bool>& converted) {
  const auto positives =
      static_cast<std::size_t>(std::count(converted.begin(), converted.end(), true));
  const std::size_t negatives = converted.size() - positives;
  if (positives < 2 || negatives < 2 || a.size() != b.size() || a.size() != converted.size())
    return std::nullopt;
  const Components ca = components_of(a, converted, positives, negatives);
  const Components cb = components_of(b, converted, positives, negatives);
  AucDifference d;
  d.auc_a = mean_of(ca.v10);
  d.auc_b = mean_of(cb.v10);
  d.difference = d.auc_a - d.auc_b;
  const auto s10 = covariance(ca.v10, cb.v10), s01 = covariance(ca.v01, cb.v01);
  const double variance = (s10[0] + s10[1] - 2 * s10[2]) / static_cast<double>(positives) +
                          (s01[0] + s01[1] - 2 * s01[2]) / static_cast<double>(negatives);
  const double sd = std::sqrt(std::max(variance, 0.0));
  d.interval = {d.difference - 1.959963984540054 * sd, d.difference + 1.959963984540054 * sd};
  if (sd > 0)
    d.p_value = std::erfc(std::abs(d.difference) / sd / std::sqrt(2.0));
  else
    d.p_value = d.difference == 0 ? 1 : 0;
  return d;
}

std::optional<Interval> bootstrap_auc_interval(const std::vector<double>& scores,
                                               const std::vector<bool>& converted,
                                               std::size_t resamples, std::uint64_t seed,
                                               unsigned threads) {
  if (resamples == 0) return std::nullopt;
  return bootstrap_interval(levels_of(scores, converted, true), resamples, seed, threads);
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
                                 const ComparisonSettings& settings) {
  ComparisonReport report;
  report.settings = settings;
  report.leads = runs.empty() ? outcomes.size() : runs.front().scores.size();
  for (const auto& o : outcomes) {
    if (!o) continue;
    ++report.with_outcome;
    if (*o) ++report.converted;
  }
  // Each scorer's summary and each pair's comparison is a task of its own, on up to
  // settings.threads threads; every task writes only its own entry.
  report.scorers.resize(runs.size());
  std::vector<std::function<void()>> tasks;
  for (std::size_t i = 0; i < runs.size(); ++i)
    for (std::size_t j = i + 1; j < runs.size(); ++j) {
      const std::size_t slot = report.pairs.size();
      report.pairs.emplace_back();
      tasks.emplace_back([&, i, j, slot] {
        report.pairs[slot] = compare_pair(runs[i], runs[j], outcomes, settings);
      });
    }
  for (std::size_t i = 0; i < runs.size(); ++i)
    tasks.emplace_back([&, i] { report.scorers[i] = summarise(runs[i], outcomes, settings); });
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t t; (t = next.fetch_add(1)) < tasks.size();) tasks[t]();
  };
  const std::size_t workers =
      std::clamp<std::size_t>(settings.threads, 1, std::max<std::size_t>(tasks.size(), 1));
  std::vector<std::jthread> pool;
  for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  return report;
}

}  // namespace leadscore::scoring
