// Experiment routes: the configured experiments with their assigned counts, and one
// experiment's report (per arm: leads assigned, analysed, transferred, paid, lost, open and the
// conversion rate; the sample-ratio check; per scorer and pair of scorers the comparison of
// their newest runs on the experiment's leads against the leads' outcomes).
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "api/handler_support.h"
#include "api/json_mapping.h"
#include "engine/scoring/comparison.h"
#include "engine/scoring/comparison_report.h"
#include "engine/scoring/sample_ratio.h"

namespace leadscore::api::routes {
namespace {

json optional_number(const std::optional<double>& value) {
  return value ? json(*value) : json(nullptr);
}

const domain::Experiment* find_experiment(const scoring::ScorerSet& scorers,
                                          std::string_view name) {
  for (const auto& experiment : scorers.experiments())
    if (experiment.name == name) return &experiment;
  return nullptr;
}

// One arm's figures. Open leads are those whose outcome is not known: transferred with a sale
// neither paid nor lost, or never transferred; the conversion rate counts closed sales only.
json arm_json(const std::string& name, const domain::ExperimentArm* configured,
              const store::ExperimentArmCounts& c, std::size_t min_n) {
  const std::int64_t closed = c.paid + c.lost;
  json out{{"name", name},
           {"scorer", configured ? json(configured->scorer) : json(nullptr)},
           {"weight", configured ? json(configured->weight) : json(nullptr)},
           {"assigned", c.assigned},
           {"analysed", c.analysed},
           {"transferred", c.transferred},
           {"paid", c.paid},
           {"lost", c.lost},
           {"open", c.assigned - closed},
           {"open_sales", c.transferred - closed},
           {"not_transferred", c.assigned - c.transferred},
           {"transfer_rate", c.assigned > 0 ? json(static_cast<double>(c.transferred) /
                                                   static_cast<double>(c.assigned))
                                            : json(nullptr)}};
  if (closed > 0 && static_cast<std::size_t>(closed) >= min_n) {
    out["conversion_rate"] = static_cast<double>(c.paid) / static_cast<double>(closed);
    out["conversion_rate_reason"] = nullptr;
  } else {
    out["conversion_rate"] = nullptr;
    out["conversion_rate_reason"] = std::to_string(closed) +
                                    " closed sales (paid or lost), fewer "
                                    "than the experiment's min_n of " +
                                    std::to_string(min_n);
  }
  return out;
}

// The comparison of the scorers that ran on the experiment's leads: each scorer's newest run on
// each lead, against the lead's outcome (paid: converted, lost: not; open: unknown).
struct ScorerComparison {
  scoring::ComparisonReport report;
  std::int64_t leads = 0, paid = 0, lost = 0;
};

ScorerComparison compare_runs(const domain::Experiment& experiment,
                              const std::vector<store::ExperimentScore>& scores,
                              double handoff_min_score) {
  std::vector<std::int64_t> leads;
  std::vector<std::optional<bool>> outcomes;
  std::vector<std::string> names;
  for (const auto& arm : experiment.arms)
    if (std::ranges::find(names, arm.scorer) == names.end()) names.push_back(arm.scorer);
  std::set<std::string> others;
  for (const auto& score : scores)
    if (std::ranges::find(names, score.scorer) == names.end()) others.insert(score.scorer);
  names.insert(names.end(), others.begin(), others.end());
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t i = 0; i < names.size(); ++i) index[names[i]] = i;
  std::vector<scoring::ScorerRun> runs(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) runs[i].scorer = names[i];
  ScorerComparison out;
  for (const auto& score : scores) {  // by lead, then scorer
    if (leads.empty() || leads.back() != score.lead_id) {
      leads.push_back(score.lead_id);
      const std::optional<bool> outcome = domain::sale_outcome(score.sale_stage);
      out.paid += outcome == true ? 1 : 0;
      out.lost += outcome == false ? 1 : 0;
      outcomes.push_back(outcome);
      for (auto& run : runs) {
        run.scores.emplace_back();
        run.recommendations.emplace_back();
      }
    }
    auto& run = runs[index.find(score.scorer)->second];
    run.scores.back() = score.score;
    run.recommendations.back() = score.recommendation;
  }
  out.leads = static_cast<std::int64_t>(leads.size());
  scoring::ComparisonSettings settings;
  settings.min_n = experiment.min_n;
  settings.handoff_min_score = handoff_min_score;
  out.report = scoring::compare_scorers(runs, outcomes, settings);
  return out;
}

json comparison_json(const ScorerComparison& comparison) {
  json out = scoring::report_json(comparison.report);
  out["outcomes"] = {{"leads", comparison.leads},
                     {"paid", comparison.paid},
                     {"lost", comparison.lost},
                     {"open", comparison.leads - comparison.paid - comparison.lost}};
  return out;
}

// A number of the report as the page shows it: "—" for null.
std::string cell(const json& value) {
  if (value.is_null()) return "—";
  if (value.is_number_float()) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", value.get<double>());
    return text;
  }
  if (value.is_string()) return scoring::html_escape(value.get<std::string>());
  return value.dump();
}

// The page of ?format=html: the arms, the sample-ratio check, then the comparison's own section
// (its tables and charts).
std::string report_page(const json& report, const ScorerComparison& comparison) {
  const std::string name = report["experiment"].get<std::string>();
  std::string body = "<p>" + std::string(report["active"].get<bool>() ? "Active" : "Stopped") +
                     "; salt <code>" + scoring::html_escape(report["salt"].get<std::string>()) +
                     "</code>; min_n " + cell(report["min_n"]) +
                     ".</p>\n<h2>Arms</h2>\n<table>\n<tr>";
  static constexpr const char* kColumns[] = {
      "name", "scorer", "weight",     "assigned",        "analysed",      "transferred",
      "paid", "lost",   "open_sales", "not_transferred", "transfer_rate", "conversion_rate"};
  for (const char* column : kColumns) body += std::string("<th>") + column + "</th>";
  body += "</tr>\n";
  json rows = report["arms"];
  json totals = report["totals"];
  totals["name"] = "all";
  rows.push_back(totals);
  for (const json& arm : rows) {
    body += "<tr>";
    for (const char* column : kColumns)
      body += "<td>" + (arm.contains(column) ? cell(arm[column]) : std::string()) + "</td>";
    body += "</tr>\n";
  }
  body += "</table>\n";
  for (const json& arm : report["arms"])
    if (!arm["conversion_rate_reason"].is_null())
      body += "<p>" + scoring::html_escape(arm["name"].get<std::string>()) + ": " +
              scoring::html_escape(arm["conversion_rate_reason"].get<std::string>()) + ".</p>\n";
  const json& srm = report["sample_ratio"];
  body += "<h2>Sample ratio</h2>\n<p>" +
          std::string(srm["mismatch"].get<bool>()
                          ? "<strong>Mismatch</strong>: the assigned counts do not fit the weights "
                            "(p &lt; 0.001); the metrics below cannot be trusted."
                          : "No mismatch.") +
          " Split <code>" + scoring::html_escape(srm["split"].get<std::string>()) + "</code>, " +
          cell(srm["n"]) + " leads (" + cell(srm["assigned_under_other_splits"]) +
          " assigned under other splits), chi-squared " + cell(srm["chi_squared"]) + " with " +
          cell(srm["degrees_of_freedom"]) + " degrees of freedom, p = " + cell(srm["p_value"]) +
          ".</p>\n<h2>Scorers against outcomes</h2>\n<p>" + std::to_string(comparison.leads) +
          " leads: " + std::to_string(comparison.paid) + " paid, " +
          std::to_string(comparison.lost) + " lost, " +
          std::to_string(comparison.leads - comparison.paid - comparison.lost) +
          " open (a sale neither paid nor lost, or never handed off).</p>\n";
  body += scoring::report_html_section(comparison.report);
  return scoring::html_page("Experiment " + name, body);
}

json sample_ratio_json(const domain::Experiment& experiment,
                       const std::vector<store::ExperimentArmCounts>& counts) {
  std::vector<std::int64_t> observed;
  std::vector<double> weights;
  std::int64_t assigned = 0;
  for (const auto& c : counts) assigned += c.assigned;
  for (const auto& arm : experiment.arms) {
    auto it = std::ranges::find(counts, arm.name, &store::ExperimentArmCounts::arm);
    observed.push_back(it == counts.end() ? 0 : it->assigned_in_split);
    weights.push_back(arm.weight);
  }
  const auto check = scoring::sample_ratio_check(observed, weights);
  json arms = json::array();
  for (std::size_t i = 0; i < experiment.arms.size(); ++i)
    arms.push_back({{"name", experiment.arms[i].name},
                    {"weight", weights[i]},
                    {"observed", observed[i]},
                    {"expected", check.expected[i]}});
  return {{"split", domain::split_of(experiment)},
          {"n", check.n},
          {"assigned_under_other_splits", assigned - check.n},
          {"arms", std::move(arms)},
          {"chi_squared", check.chi_squared},
          {"degrees_of_freedom", check.degrees_of_freedom},
          {"p_value", optional_number(check.p_value)},
          {"alpha", scoring::kSampleRatioAlpha},
          {"mismatch", check.mismatch}};
}

}  // namespace

Reply list_experiments(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(r, {})) return fail(*e, r);
  const auto scorers = s.scorers->current();
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto counts = session->experiment_assigned_counts();
  if (!counts) return fail(counts.error(), r);
  json items = json::array();
  for (const auto& experiment : scorers->experiments()) {
    json arms = json::array();
    std::int64_t total = 0;
    for (const auto& [key, n] : *counts)
      if (key.first == experiment.name) total += n;
    for (const auto& arm : experiment.arms) {
      std::int64_t assigned = 0;
      for (const auto& [key, n] : *counts)
        if (key.first == experiment.name && key.second == arm.name) assigned = n;
      arms.push_back({{"name", arm.name},
                      {"scorer", arm.scorer},
                      {"weight", arm.weight},
                      {"assigned", assigned}});
    }
    items.push_back({{"name", experiment.name},
                     {"salt", experiment.salt},
                     {"active", experiment.active},
                     {"min_n", experiment.min_n},
                     {"assigned", total},
                     {"arms", std::move(arms)}});
  }
  return json_reply(200, {{"items", std::move(items)}});
}

Reply experiment_report(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(r, {"format"})) return fail(*e, r);
  const auto* format = r.query_value("format");
  if (format != nullptr && *format != "json" && *format != "html")
    return fail(Error::validation("format", "format must be json or html"), r);
  const bool html = format != nullptr && *format == "html";
  const std::string* name = r.param("name");
  const auto scorers = s.scorers->current();
  const domain::Experiment* experiment = find_experiment(*scorers, *name);
  if (experiment == nullptr) return fail(Error::not_found("no experiment named " + *name), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto data = session->experiment_report_data(experiment->name, domain::split_of(*experiment));
  if (!data) return fail(data.error(), r);

  json arms = json::array();
  store::ExperimentArmCounts totals;
  for (const auto& arm : experiment->arms) {
    auto it = std::ranges::find(data->arms, arm.name, &store::ExperimentArmCounts::arm);
    store::ExperimentArmCounts counts = it == data->arms.end() ? store::ExperimentArmCounts{} : *it;
    arms.push_back(arm_json(arm.name, &arm, counts, experiment->min_n));
  }
  // Arms that leads were assigned to and that the config no longer has.
  for (const auto& counts : data->arms)
    if (std::ranges::none_of(experiment->arms,
                             [&](const domain::ExperimentArm& a) { return a.name == counts.arm; }))
      arms.push_back(arm_json(counts.arm, nullptr, counts, experiment->min_n));
  for (const auto& c : data->arms) {
    totals.assigned += c.assigned;
    totals.analysed += c.analysed;
    totals.transferred += c.transferred;
    totals.paid += c.paid;
    totals.lost += c.lost;
  }
  json all = arm_json("all", nullptr, totals, experiment->min_n);
  for (const char* key : {"name", "scorer", "weight"}) all.erase(key);
  const ScorerComparison comparison =
      compare_runs(*experiment, data->scores, s.config->handoff.min_score);
  json report{{"experiment", experiment->name},
              {"active", experiment->active},
              {"salt", experiment->salt},
              {"min_n", experiment->min_n},
              {"arms", std::move(arms)},
              {"totals", std::move(all)},
              {"sample_ratio", sample_ratio_json(*experiment, data->arms)}};
  if (html) return Reply{200, report_page(report, comparison), "text/html; charset=utf-8", {}};
  report["scorers"] = comparison_json(comparison);
  return json_reply(200, report);
}

}  // namespace leadscore::api::routes
