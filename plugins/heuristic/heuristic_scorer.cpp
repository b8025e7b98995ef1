#include "plugins/heuristic/heuristic_scorer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "plugins/support/fnv1a.h"

namespace leadscore::heuristic {
namespace {

using plugin::JsonValue;
using plugin::ParamsMap;
using plugin::ParamsProblems;

constexpr plugin::NumberRange kPointsRange{-1.0, 1.0};
constexpr plugin::NumberRange kScoreRange{0.0, 1.0};

void append_shortest(std::string& out, double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, ec == std::errc{} ? end : buffer);
}

std::string shortest(double value) {
  std::string out;
  append_shortest(out, value);
  return out;
}

// k hundredths as "d.dd" ("-0.20", "+0.70" when signed).
void append_hundredths(std::string& out, long long k, bool sign) {
  if (k < 0) {
    out += '-';
    k = -k;
  } else if (sign) {
    out += '+';
  }
  out += std::to_string(k / 100);
  out += '.';
  out += static_cast<char>('0' + k / 10 % 10);
  out += static_cast<char>('0' + k % 10);
}

// Points in a reason, for people: signed, two decimals.
void append_points(std::string& out, double points) {
  append_hundredths(out, std::llround(points * 100), true);
}

// Two decimals when they say exactly the value, else the shortest exact text, so that a
// reason never shows "0.30 ≤ 0.30" for a score of 0.30000000000000004. (k / 100.0 is the
// double nearest to "d.dd", which is what reading the two-decimal text back would give.)
void append_exact(std::string& out, double value) {
  const long long k = std::llround(value * 100);
  if (static_cast<double>(k) / 100.0 == value)
    append_hundredths(out, k, false);
  else
    append_shortest(out, value);
}

std::string exact(double value) {
  std::string out;
  append_exact(out, value);
  return out;
}

// The version names the effective weights, so equal weights written differently (defaults
// left out, sources in another order) give the same version.
std::string version_of(const HeuristicParams& p) {
  std::string text = "sources:";
  auto sources = p.source_points;
  std::ranges::sort(sources, {}, &HeuristicParams::SourcePoints::source);
  for (const auto& s : sources) text += s.source + "=" + shortest(s.points) + ",";
  text += "other=" + shortest(p.other_source_points) + ";activity:";
  for (const auto& step : p.activity_steps)
    text += std::to_string(step.below) + "=" + shortest(step.points) + ",";
  text += "final=" + shortest(p.activity_final_points) + ";stages:";
  for (double points : p.stage_points) text += shortest(points) + ",";
  text += ";domain=" + shortest(p.business_domain_points) +
          ";cap=" + shortest(p.no_business_domain_cap) +
          ";transfer=" + shortest(p.transfer_min_score) + ";drop=" + shortest(p.drop_max_score);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(plugin::fnv1a(text)));
  return "1.0+" + std::string(hex, 8);
}

void read_source_points(ParamsMap& params, HeuristicParams& out) {
  ParamsMap sources = params.map("source_points");
  for (const auto& entry : sources.entries()) {
    auto points = plugin::read_number(*entry.value, sources.key_path(entry.key), kPointsRange,
                                      entry.key_position, params.problems());
    if (!points) continue;
    auto it =
        std::ranges::find(out.source_points, entry.key, &HeuristicParams::SourcePoints::source);
    if (it != out.source_points.end())
      it->points = *points;
    else
      out.source_points.push_back({entry.key, *points});
  }
  if (out.source_points.size() > HeuristicParams::kMaxSources)
    params.problems().add(sources.position(), sources.path() + " may list at most " +
                                                  std::to_string(HeuristicParams::kMaxSources) +
                                                  " sources");
  sources.finish();
}

void read_activity_points(ParamsMap& params, HeuristicParams& out) {
  const JsonValue* value = params.value("activity_points");
  if (value == nullptr) return;
  const std::vector<JsonValue>& list = value->items;
  const std::string path = params.key_path("activity_points");
  ParamsProblems& errors = params.problems();
  if (value->kind != JsonValue::Kind::List || list.empty()) {
    params.error("activity_points",
                 path + " must be a list of {below: N, points: P} ending with {points: P}, got " +
                     plugin::describe(*value));
    return;
  }
  if (list.size() > HeuristicParams::kMaxActivitySteps + 1) {
    params.error("activity_points", path + " may have at most " +
                                        std::to_string(HeuristicParams::kMaxActivitySteps + 1) +
                                        " steps");
    return;
  }
  const std::size_t before = errors.size();
  std::vector<HeuristicParams::ActivityStep> steps;
  double final_points = out.activity_final_points;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const bool last = i + 1 == list.size();
    ParamsMap step(&list[i], path + "[" + std::to_string(i) + "]", errors,
                   params.value_position("activity_points"));
    if (!step.present()) {
      if (list[i].kind == JsonValue::Kind::Null)
        errors.add(step.position(),
                   step.path() + " must be a mapping like {below: 3, points: 0.05}");
      continue;
    }
    std::int64_t below = 0;
    double points = 0;
    const bool has_below = step.has("below");
    if (has_below) step.read("below", below, {1, 1'000'000'000});
    if (step.require("points")) step.read("points", points, kPointsRange);
    if (last && has_below)
      step.error("below", step.path() + " is the last step: it must have no `below` (it takes " +
                              "every count past the steps before it)");
    if (!last && !has_below)
      errors.add(step.position(), step.path() + " needs `below` (only the last step has none)");
    if (!last && has_below && !steps.empty() && below <= steps.back().below)
      step.error("below", step.path() + ".below must be greater than " +
                              std::to_string(steps.back().below) + ", the step before");
    step.finish();
    if (last)
      final_points = points;
    else
      steps.push_back({below, points});
  }
  if (errors.size() != before) return;
  out.activity_steps = std::move(steps);
  out.activity_final_points = final_points;
}

void read_stage_points(ParamsMap& params, HeuristicParams& out) {
  ParamsMap stages = params.map("stage_points");
  for (Stage stage : plugin::kAllStages)
    stages.read(plugin::to_string(stage), out.stage_points[static_cast<std::size_t>(stage)],
                kPointsRange);
  stages.finish();
}

bool is_blank_char(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

HeuristicParams read_heuristic_params(ParamsMap& params) {
  HeuristicParams out;
  read_source_points(params, out);
  params.read("other_source_points", out.other_source_points, kPointsRange);
  read_activity_points(params, out);
  read_stage_points(params, out);
  params.read("business_domain_points", out.business_domain_points, kPointsRange);
  params.read("no_business_domain_cap", out.no_business_domain_cap, kScoreRange);
  params.read("transfer_min_score", out.transfer_min_score, kScoreRange);
  if (params.read("drop_max_score", out.drop_max_score, kScoreRange) &&
      !(out.drop_max_score < out.transfer_min_score))
    params.error("drop_max_score", params.key_path("drop_max_score") + " (" +
                                       shortest(out.drop_max_score) +
                                       ") must be below transfer_min_score (" +
                                       shortest(out.transfer_min_score) + ")");
  params.finish();
  return out;
}

std::expected<HeuristicParams, std::string> read_heuristic_params(std::string_view params_json) {
  auto document = plugin::parse_positioned_json(params_json);
  if (!document) return std::unexpected(document.error());
  ParamsProblems problems;
  ParamsMap map(&*document, "params", problems, {1, 1});
  if (!map.present() && problems.empty()) problems.add({1, 1}, "params must be a mapping");
  HeuristicParams params = read_heuristic_params(map);
  if (!problems.empty()) return std::unexpected(problems.to_text());
  return params;
}

bool has_business_domain(const Features& features) noexcept {
  if (!features.business_domain) return false;
  for (unsigned char c : *features.business_domain)
    if (!is_blank_char(c)) return true;
  return false;
}

HeuristicScorer::HeuristicScorer(std::string name, HeuristicParams params)
    : name_(std::move(name)), params_(std::move(params)) {
  if (params_.source_points.size() > HeuristicParams::kMaxSources)
    throw std::invalid_argument("heuristic scorer: too many sources");
  if (params_.activity_steps.size() > HeuristicParams::kMaxActivitySteps)
    throw std::invalid_argument("heuristic scorer: too many activity steps");
  version_ = version_of(params_);
  source_count_ = params_.source_points.size();
  for (std::size_t i = 0; i < source_count_; ++i) {
    const std::string& source = params_.source_points[i].source;
    source_keys_[i] = key_of(source.data(), source.size());
    source_points_[i] = params_.source_points[i].points;
  }
  activity_step_count_ = params_.activity_steps.size();
  for (std::size_t i = 0; i < activity_step_count_; ++i) {
    activity_below_[i] = params_.activity_steps[i].below;
    activity_points_[i] = params_.activity_steps[i].points;
  }
  activity_points_[activity_step_count_] = params_.activity_final_points;

  for (const auto& step : params_.activity_steps)
    activity_label_suffix_.push_back(" (< " + std::to_string(step.below) + ")");
  activity_label_suffix_.push_back(
      params_.activity_steps.empty()
          ? std::string()
          : " (>= " + std::to_string(params_.activity_steps.back().below) + ")");
  const std::string cap = exact(params_.no_business_domain_cap);
  const std::string transfer = exact(params_.transfer_min_score);
  const std::string drop = exact(params_.drop_max_score);
  cap_label_ = "no business domain: capped at " + cap;
  cap_reason_ = "capped at " + cap + " without a business domain";
  transfer_reason_ = " ≥ " + transfer + " with a business domain: transfer to sales";
  blocked_reason_ = " ≥ " + transfer + " but no business domain: continue qualification";
  drop_reason_ = " ≤ " + drop + ": drop lead";
  continue_reason_ = ", between " + drop + " and " + transfer + ": continue qualification";
}

HeuristicScorer::SourceKey HeuristicScorer::key_of(const char* data, std::size_t size) noexcept {
  auto load8 = [](const char* p) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);
    return word;
  };
  auto load4 = [](const char* p) {
    std::uint32_t word;
    std::memcpy(&word, p, sizeof word);
    return std::uint64_t{word};
  };
  // Overlapping loads of the first and last bytes cover every byte of a name up to 16 long.
  SourceKey key;
  key.size = size;
  if (size >= 8) {
    key.head = load8(data);
    key.tail = load8(data + size - 8);
  } else if (size >= 4) {
    key.head = load4(data);
    key.tail = load4(data + size - 4);
  } else if (size > 0) {
    key.head = static_cast<unsigned char>(data[0]) |
               static_cast<std::uint64_t>(static_cast<unsigned char>(data[size / 2])) << 8 |
               static_cast<std::uint64_t>(static_cast<unsigned char>(data[size - 1])) << 16;
  }
  return key;
}

// The index of the source in source_points, or source_count_ when it has none.
std::size_t HeuristicScorer::find_source(const std::string& source) const noexcept {
  const SourceKey key = key_of(source.data(), source.size());
  std::size_t found = source_count_;
  // Every entry is compared (no early exit): the loop is short and branch-free.
  for (std::size_t i = source_count_; i-- > 0;) {
    const SourceKey& k = source_keys_[i];
    const bool same = (k.size == key.size) & (k.head == key.head) & (k.tail == key.tail);
    found = same ? i : found;
  }
  if (found < source_count_ && key.size > 16 &&
      std::memcmp(params_.source_points[found].source.data(), source.data(), key.size) != 0)
    found = source_count_;
  return found;
}

HeuristicEvaluation HeuristicScorer::evaluate(const Features& features) const noexcept {
  HeuristicEvaluation e;
  std::size_t n = 0;

  const std::size_t source = find_source(features.source);
  const bool known_source = source < source_count_;
  double total = known_source ? source_points_[source] : params_.other_source_points;
  e.terms[n++] = {known_source ? HeuristicRule::Source : HeuristicRule::OtherSource,
                  static_cast<std::uint8_t>(known_source ? source : 0), total};

  // The steps are ordered by `below`: the step is the number of bounds the count reaches.
  std::size_t step = 0;
  for (std::size_t i = 0; i < activity_step_count_; ++i)
    step += features.activity_count >= activity_below_[i] ? 1 : 0;
  const double activity = activity_points_[step];
  total += activity;
  e.terms[n++] = {HeuristicRule::Activity, static_cast<std::uint8_t>(step), activity};

  const auto stage = static_cast<std::size_t>(features.stage);
  const double stage_points = stage < params_.stage_points.size() ? params_.stage_points[stage] : 0;
  total += stage_points;
  e.terms[n++] = {HeuristicRule::Stage, static_cast<std::uint8_t>(stage), stage_points};

  const bool has_domain = has_business_domain(features);
  e.has_business_domain = has_domain;
  if (has_domain) {
    total += params_.business_domain_points;
    e.terms[n++] = {HeuristicRule::BusinessDomain, 0, params_.business_domain_points};
  } else {
    e.terms[n++] = {HeuristicRule::NoBusinessDomain, 0, 0.0};
    // Written always, counted only when the cap changes the total.
    const double cap = params_.no_business_domain_cap;
    e.terms[n] = {HeuristicRule::NoDomainCap, 0, cap - total};
    const bool capped = total > cap;
    n += capped ? 1 : 0;
    total = capped ? cap : total;
  }

  const double clamped = std::clamp(total, 0.0, 1.0);
  e.terms[n] = {HeuristicRule::Clamp, static_cast<std::uint8_t>(clamped == 1.0 ? 1 : 0),
                clamped - total};
  n += clamped != total ? 1 : 0;
  total = clamped;

  e.score = total;
  e.count = static_cast<std::uint8_t>(n);
  if (total >= params_.transfer_min_score && has_domain)
    e.recommendation = Recommendation::TransferToSales;
  else if (total <= params_.drop_max_score)
    e.recommendation = Recommendation::DropLead;
  else
    e.recommendation = Recommendation::ContinueQualification;
  return e;
}

ScoreResult HeuristicScorer::explain(const Features& features, const HeuristicEvaluation& e) const {
  ScoreResult result;
  result.score = e.score;
  result.recommendation = e.recommendation;
  result.contributions.reserve(e.count);
  std::string& reason = result.reason;
  reason.reserve(256);
  for (std::size_t i = 0; i < e.count; ++i) {
    const HeuristicTerm& term = e.terms[i];
    if (i > 0) reason += "; ";
    std::string label;
    switch (term.rule) {
      case HeuristicRule::Source:
        label.reserve(7 + features.source.size());
        label += "source=";
        label += features.source;
        reason += features.source;
        reason += " source";
        break;
      case HeuristicRule::OtherSource:
        label.reserve(15 + features.source.size());
        label += "source=";
        label += features.source;
        label += " (other)";
        reason += "other source '";
        reason += features.source;
        reason += '\'';
        break;
      case HeuristicRule::Activity: {
        const std::string count = std::to_string(features.activity_count);
        const std::string& suffix = activity_label_suffix_[term.detail];
        label.reserve(15 + count.size() + suffix.size());
        label += "activity_count=";
        label += count;
        label += suffix;
        if (features.activity_count == 0) {
          reason += "no activity";
        } else {
          reason += count;
          reason += features.activity_count == 1 ? " activity" : " activities";
        }
        break;
      }
      case HeuristicRule::Stage: {
        const std::string_view stage = plugin::to_string(features.stage);
        label.reserve(6 + stage.size());
        label += "stage=";
        label += stage;
        reason += stage;
        reason += " stage";
        break;
      }
      case HeuristicRule::BusinessDomain:
        label = "business_domain set";
        reason += "business domain set";
        break;
      case HeuristicRule::NoBusinessDomain:
        label = "business_domain missing";
        reason += "no business domain";
        break;
      case HeuristicRule::NoDomainCap:
        label = cap_label_;
        reason += cap_reason_;
        break;
      case HeuristicRule::Clamp:
        label = term.detail == 1 ? "clamped to 1" : "clamped to 0";
        reason += term.detail == 1 ? "clamped to 1.00" : "clamped to 0.00";
        break;
    }
    if (term.rule != HeuristicRule::NoBusinessDomain) {
      reason += " (";
      append_points(reason, term.points);
      reason += ')';
    }
    result.contributions.push_back({std::move(label), term.points});
  }

  reason += " → ";
  append_exact(reason, e.score);
  switch (e.recommendation) {
    case Recommendation::TransferToSales:
      reason += transfer_reason_;
      break;
    case Recommendation::DropLead:
      reason += drop_reason_;
      break;
    case Recommendation::ContinueQualification:
      reason += e.score >= params_.transfer_min_score ? blocked_reason_ : continue_reason_;
      break;
  }
  return result;
}

std::expected<ScoreResult, std::string> HeuristicScorer::score(const Features& features) const {
  try {
    return explain(features, evaluate(features));
  } catch (const std::exception& e) {
    return std::unexpected(std::string("heuristic scorer failed: ") + e.what());
  }
}

}  // namespace leadscore::heuristic
