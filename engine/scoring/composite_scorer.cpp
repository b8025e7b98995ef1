#include "engine/scoring/composite_scorer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "engine/domain/lead.h"
#include "engine/domain/score_result.h"
#include "engine/scoring/scorer_run.h"

namespace leadscore::scoring {
namespace {

// Points reach a threshold within this share of the most points: rounding, no more.
constexpr double kPointsTolerance = 1e-9;

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

// Shortest text that reads back as the same double: what the version hashes.
std::string exact(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc{} ? std::string(buffer, end) : std::string("?");
}

// Points as a reason shows them: at most two decimals, no trailing zeros ("40", "32.5").
std::string shown(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  std::string text(buffer);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text == "-0" ? "0" : text;
}

std::string version_of(const std::vector<CompositePart>& parts, const CompositeRules& rules) {
  std::string definition;
  for (const auto& part : parts) definition += part.name + "=" + exact(part.points) + ";";
  definition += "|";
  for (const auto& band : rules.bands)
    definition += band.label + ">=" + exact(band.min_points) + ";";
  definition += "|" + exact(rules.transfer_min_points) + "," + exact(rules.drop_max_points);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(definition)));
  std::string version = std::string("1.0+") + hex + "(";
  for (std::size_t i = 0; i < parts.size(); ++i)
    version +=
        (i > 0 ? "," : "") + parts[i].name + "=" + parts[i].runners.front().scorer->version();
  return version + ")";
}

// What answered for one part: its result and which of its runners gave it.
struct PartAnswer {
  ScoreResult result;
  const Scorer* by = nullptr;
  std::string failures;  // "llm failed: ...", when a fallback answered; "" otherwise
};

}  // namespace

CompositeScorer::CompositeScorer(std::string name, std::vector<CompositePart> parts,
                                 CompositeRules rules)
    : name_(std::move(name)), parts_(std::move(parts)), rules_(std::move(rules)) {
  if (parts_.empty()) throw std::invalid_argument("composite scorer " + name_ + " has no parts");
  for (const auto& part : parts_) {
    if (!(part.points > 0) || !std::isfinite(part.points))
      throw std::invalid_argument("part " + part.name + " of composite scorer " + name_ +
                                  " must be worth more than 0 points");
    if (part.runners.empty() ||
        std::ranges::any_of(part.runners, [](const PartRunner& r) { return r.scorer == nullptr; }))
      throw std::invalid_argument("part " + part.name + " of composite scorer " + name_ +
                                  " has no scorer to run");
    max_points_ += part.points;
  }
  version_ = version_of(parts_, rules_);
}

bool CompositeScorer::slow() const {
  for (const auto& part : parts_)
    for (const auto& runner : part.runners)
      if (runner.scorer != nullptr && runner.scorer->slow()) return true;
  return false;
}

std::expected<ScoreResult, std::string> CompositeScorer::score(const Features& features) const {
  std::vector<std::pair<std::string, std::string>> audits;
  return compose(features, audits);
}

ScorerAnswer CompositeScorer::run(const Features& features) const {
  std::vector<std::pair<std::string, std::string>> audits;
  ScorerAnswer answer{compose(features, audits), std::nullopt};
  if (!audits.empty()) {
    nlohmann::json parts = nlohmann::json::object();
    for (auto& [scorer, text] : audits) {
      auto audit = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!audit.is_discarded()) parts[scorer] = std::move(audit);
    }
    answer.audit = nlohmann::json{{"parts", std::move(parts)}}.dump();
  }
  return answer;
}

std::expected<ScoreResult, std::string> CompositeScorer::compose(
    const Features& features, std::vector<std::pair<std::string, std::string>>& audits) const {
  std::vector<PartAnswer> answers;
  answers.reserve(parts_.size());
  for (const auto& part : parts_) {
    std::string failures;
    std::optional<PartAnswer> answer;
    for (const auto& runner : part.runners) {
      CheckedRun run = run_checked(*runner.scorer, runner.budget_ms, features);
      if (run.audit) audits.emplace_back(runner.scorer->name(), std::move(*run.audit));
      if (run.result) {
        answer = PartAnswer{std::move(*run.result), runner.scorer, std::move(failures)};
        break;
      }
      if (!failures.empty()) failures += "; ";
      failures += runner.scorer->name() + " failed: " + run.result.error();
    }
    if (!answer) return std::unexpected("part " + part.name + " has no answer: " + failures);
    answers.push_back(std::move(*answer));
  }

  ScoreResult out;
  double points = 0;
  for (std::size_t i = 0; i < parts_.size(); ++i)
    points += answers[i].result.score * parts_[i].points;
  out.score = std::clamp(points / max_points_, 0.0, 1.0);

  // The parts' contributions, each scaled by its part's share of the most points.
  std::size_t count = 0;
  for (const auto& answer : answers) count += answer.result.contributions.size();
  out.contributions.reserve(count);
  double sum = 0;
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    const double share = parts_[i].points / max_points_;
    const PartAnswer& answer = answers[i];
    const std::string label = answer.by == parts_[i].runners.front().scorer
                                  ? parts_[i].name
                                  : parts_[i].name + " (fallback " + answer.by->name() + ")";
    for (const auto& c : answer.result.contributions) {
      out.contributions.push_back({label + ": " + c.rule, c.points * share});
      sum += out.contributions.back().points;
    }
  }
  // Each part's contributions add up to its score within the contract's tolerance, so theirs
  // could, after scaling and adding, sit near its edge: the last one takes the difference when
  // it exceeds half the tolerance, leaving room for whoever adds them up in another order.
  if (!out.contributions.empty() &&
      std::fabs(sum - out.score) > domain::kContributionSumTolerance / 2)
    out.contributions.back().points += out.score - sum;

  const double tolerance = kPointsTolerance * max_points_;
  for (const auto& band : rules_.bands) {
    if (points + tolerance >= band.min_points) {
      out.intent = band.label;
      break;
    }
  }

  const bool has_domain = domain::has_business_domain(features.business_domain);
  const bool transfer_points = points + tolerance >= rules_.transfer_min_points;
  if (transfer_points && has_domain)
    out.recommendation = domain::Recommendation::TransferToSales;
  else if (points - tolerance <= rules_.drop_max_points)
    out.recommendation = domain::Recommendation::DropLead;
  else
    out.recommendation = domain::Recommendation::ContinueQualification;

  // "70 of 100 points (High): icp_fit 40 of 50 (...); llm 30 of 50 (intent Medium: ...)"
  std::string reason = shown(points) + " of " + shown(max_points_) + " points";
  if (out.intent) reason += " (" + *out.intent + ")";
  reason += ":";
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    const PartAnswer& answer = answers[i];
    reason += (i > 0 ? "; " : " ") + parts_[i].name + " " +
              shown(answer.result.score * parts_[i].points) + " of " + shown(parts_[i].points);
    reason += " (";
    if (!answer.failures.empty())
      reason += answer.failures + "; " + answer.by->name() + " answered for it: ";
    if (answer.result.intent) reason += "intent " + *answer.result.intent + ": ";
    reason += answer.result.reason + ")";
  }
  if (transfer_points && !has_domain) reason += "; not transferred: no business domain";
  out.reason = std::move(reason);
  return out;
}

}  // namespace leadscore::scoring
