#include "engine/scoring/comparison_report.h"

#include <cstdio>

namespace leadscore::scoring {
namespace {

std::string fixed(double value, int decimals = 3) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string optional_fixed(const std::optional<double>& value) {
  return value ? fixed(*value) : std::string("n/a");
}

}  // namespace

std::string report_text(const ComparisonReport& report) {
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

nlohmann::json report_json(const ComparisonReport& report) {
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

}  // namespace leadscore::scoring
