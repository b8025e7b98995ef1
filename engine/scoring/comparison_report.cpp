#include "engine/scoring/comparison_report.h"

#include <cstdio>

#include "engine/scoring/comparison_report_parts.h"

namespace leadscore::scoring {
namespace {

std::string optional_fixed(const std::optional<double>& value, int decimals = 3) {
  return value ? fixed(*value, decimals) : std::string("n/a");
}

std::string signed_fixed(double value) { return (value >= 0 ? "+" : "") + fixed(value); }

std::string interval_text(const std::optional<Interval>& interval) {
  return interval ? " (95% " + fixed(interval->low) + ".." + fixed(interval->high) + ")" : "";
}

std::string outcome_text(const OutcomeMetrics& o, std::size_t min_n) {
  std::string text = "  against outcomes (" + std::to_string(o.n) + " leads, " +
                     std::to_string(o.converted) + " converted): ";
  if (!o.sufficient)
    return text +
           "insufficient data: " + insufficient_reason(min_n, o.converted, o.n - o.converted) +
           "\n";
  return text + "AUC " + optional_fixed(o.auc) + interval_text(o.auc_interval) + ", Brier " +
         optional_fixed(o.brier) + ", top-decile lift " + optional_fixed(o.lift_top_decile, 2) +
         ", KS " + optional_fixed(o.ks) + "\n";
}

}  // namespace

std::string fixed(double value, int decimals) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string insufficient_reason(std::size_t min_n, std::size_t converted,
                                std::size_t not_converted) {
  return "fewer than " + std::to_string(min_n) + " leads in an outcome class (" +
         std::to_string(converted) + " converted, " + std::to_string(not_converted) +
         " not converted)";
}

std::string report_text(const ComparisonReport& report) {
  const ComparisonSettings& settings = report.settings;
  std::string text = std::to_string(report.leads) + " leads";
  if (report.with_outcome > 0)
    text += ", " + std::to_string(report.with_outcome) + " with an outcome (" +
            std::to_string(report.converted) + " converted)";
  text += "; handoff at score >= " + fixed(settings.handoff_min_score, 2) + "\n";
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
      text += outcome_text(o, settings.min_n);
      text += "  calibration (scores: leads, mean score, converted)\n";
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
    if (p.n == 0) {
      text += p.a + " vs " + p.b + ": no lead scored by both\n";
      continue;
    }
    text += p.a + " vs " + p.b + " (" + std::to_string(p.n) +
            " leads both scored): same recommendation " + fixed(*p.agreement * 100, 1) +
            "%, Spearman " + optional_fixed(p.spearman) + ", mean |difference| " +
            optional_fixed(p.mean_absolute_difference) + "\n";
    text += "  Kendall tau-b " + optional_fixed(p.kendall_tau_b) + ", recommendation kappa " +
            optional_fixed(p.recommendation_kappa) + "\n";
    const HandoffFlips& h = p.handoff;
    text += "  handoff at >= " + fixed(h.threshold, 2) + ": both " + std::to_string(h.both) +
            ", only " + p.a + " " + std::to_string(h.only_a) + ", only " + p.b + " " +
            std::to_string(h.only_b) + ", neither " + std::to_string(h.neither) + "; kappa " +
            optional_fixed(h.kappa) + "\n";
    if (report.with_outcome == 0) continue;
    text +=
        "  AUC difference (DeLong, " + std::to_string(p.outcome_n) + " leads with an outcome): ";
    if (const auto& d = p.auc_difference)
      text += signed_fixed(d->difference) + " (95% " + fixed(d->interval.low) + ".." +
              fixed(d->interval.high) + "), p " +
              (d->p_value < 1e-3 ? "< 0.001" : fixed(d->p_value)) + "\n";
    else
      text += "insufficient data: " +
              insufficient_reason(settings.min_n, p.outcome_converted,
                                  p.outcome_n - p.outcome_converted) +
              "\n";
  }
  return text;
}

nlohmann::json report_json(const ComparisonReport& report) {
  using nlohmann::json;
  const ComparisonSettings& settings = report.settings;
  const auto optional_number = [](const std::optional<double>& v) {
    return v ? json(*v) : json(nullptr);
  };
  const auto insufficient = [&](bool sufficient, std::size_t converted, std::size_t n) {
    if (sufficient) return json(nullptr);
    return json{{"min_n", settings.min_n},
                {"converted", converted},
                {"not_converted", n - converted},
                {"reason", insufficient_reason(settings.min_n, converted, n - converted)}};
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
      const OutcomeMetrics& o = *s.outcomes;
      json bins = json::array();
      for (const auto& bin : o.calibration)
        bins.push_back({{"from", bin.from},
                        {"to", bin.to},
                        {"n", bin.n},
                        {"mean_score", bin.mean_score},
                        {"converted", bin.converted}});
      json roc = json::array();
      for (const auto& point : o.roc)
        roc.push_back({point.false_positive_rate, point.true_positive_rate});
      entry["outcomes"] = {{"n", o.n},
                           {"converted", o.converted},
                           {"not_converted", o.n - o.converted},
                           {"auc", optional_number(o.auc)},
                           {"auc_interval", o.auc_interval ? json{{"low", o.auc_interval->low},
                                                                  {"high", o.auc_interval->high}}
                                                           : json(nullptr)},
                           {"brier", optional_number(o.brier)},
                           {"lift_top_decile", optional_number(o.lift_top_decile)},
                           {"ks", optional_number(o.ks)},
                           {"calibration", bins},
                           {"roc", roc},
                           {"insufficient", insufficient(o.sufficient, o.converted, o.n)}};
    }
    scorers.push_back(entry);
  }
  json pairs = json::array();
  for (const auto& p : report.pairs) {
    const HandoffFlips& h = p.handoff;
    json cells = json::object();
    const char* names[] = {"both", "only_a", "only_b", "neither"};
    const std::size_t counts[] = {h.both, h.only_a, h.only_b, h.neither};
    for (std::size_t c = 0; c < 4; ++c)
      cells[names[c]] = {
          {"n", counts[c]}, {"with_outcome", h.with_outcome[c]}, {"converted", h.converted[c]}};
    json entry = {
        {"a", p.a},
        {"b", p.b},
        {"n", p.n},
        {"agreement", optional_number(p.agreement)},
        {"recommendation_kappa", optional_number(p.recommendation_kappa)},
        {"spearman", optional_number(p.spearman)},
        {"kendall_tau_b", optional_number(p.kendall_tau_b)},
        {"mean_absolute_difference", optional_number(p.mean_absolute_difference)},
        {"handoff",
         {{"threshold", h.threshold}, {"kappa", optional_number(h.kappa)}, {"cells", cells}}}};
    if (report.with_outcome > 0) {
      const auto& d = p.auc_difference;
      entry["auc_difference"] = {
          {"n", p.outcome_n},
          {"converted", p.outcome_converted},
          {"not_converted", p.outcome_n - p.outcome_converted},
          {"auc_a", d ? json(d->auc_a) : json(nullptr)},
          {"auc_b", d ? json(d->auc_b) : json(nullptr)},
          {"difference", d ? json(d->difference) : json(nullptr)},
          {"interval",
           d ? json{{"low", d->interval.low}, {"high", d->interval.high}} : json(nullptr)},
          {"p_value", d ? json(d->p_value) : json(nullptr)},
          {"insufficient", insufficient(d.has_value(), p.outcome_converted, p.outcome_n)}};
    }
    pairs.push_back(entry);
  }
  return {{"leads", report.leads},
          {"with_outcome", report.with_outcome},
          {"converted", report.converted},
          {"settings",
           {{"min_n", settings.min_n},
            {"bootstrap", settings.bootstrap},
            {"seed", settings.seed},
            {"handoff_min_score", settings.handoff_min_score}}},
          {"scorers", scorers},
          {"pairs", pairs}};
}

}  // namespace leadscore::scoring
