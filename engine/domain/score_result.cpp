#include "engine/domain/score_result.h"

#include <charconv>
#include <cmath>
#include <system_error>

#include "engine/domain/utf8.h"

namespace leadscore::domain {
namespace {

bool is_blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

bool is_known(Recommendation recommendation) {
  switch (recommendation) {
    case Recommendation::TransferToSales:
    case Recommendation::ContinueQualification:
    case Recommendation::DropLead:
      return true;
  }
  return false;
}

std::string number_text(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc{} ? std::string(buffer, end) : std::string("?");
}

std::expected<void, std::string> check_intent(const std::string& intent) {
  if (is_blank(intent))
    return std::unexpected(
        std::string("the intent is empty (a scorer without one leaves it NULL)"));
  if (intent.size() > kMaxIntentBytes)
    return std::unexpected("the intent is longer than " + std::to_string(kMaxIntentBytes) +
                           " bytes");
  if (!is_utf8(intent, /*printable=*/true))
    return std::unexpected(std::string("the intent is not printable UTF-8 text"));
  return {};
}

}  // namespace

std::expected<void, std::string> check(const ScoreResult& result) {
  if (!std::isfinite(result.score) || result.score < 0 || result.score > 1)
    return std::unexpected("score " + number_text(result.score) +
                           " is not a finite number in [0, 1]");
  if (!is_known(result.recommendation))
    return std::unexpected(std::string(
        "the recommendation is not one of transfer_to_sales, continue_qualification, drop_lead"));
  if (is_blank(result.reason)) return std::unexpected(std::string("the reason is empty"));
  if (result.contributions.empty())
    return std::unexpected(
        std::string("the result has no contributions (a scorer that cannot explain itself "
                    "returns one)"));
  double sum = 0;
  for (std::size_t i = 0; i < result.contributions.size(); ++i) {
    const Contribution& c = result.contributions[i];
    if (c.rule.empty())
      return std::unexpected("contribution " + std::to_string(i) + " has no rule");
    if (!std::isfinite(c.points))
      return std::unexpected("contribution '" + c.rule + "' has points " + number_text(c.points));
    sum += c.points;
  }
  if (!(std::fabs(sum - result.score) <= kContributionSumTolerance))
    return std::unexpected("the contributions add up to " + number_text(sum) +
                           ", not to the score " + number_text(result.score));
  if (result.intent) return check_intent(*result.intent);
  return {};
}

}  // namespace leadscore::domain
