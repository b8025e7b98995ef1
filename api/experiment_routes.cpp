// Experiment routes: the configured experiments with their assigned counts, and one
// experiment's report (per arm: leads assigned, analysed, transferred, paid, lost, open and the
// conversion rate; the sample-ratio check; per scorer and pair of scorers the comparison of
// their newest runs on the experiment's leads against the leads' outcomes).
#include <algorithm>
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
json comparison_json(const domain::Experiment& experiment,
                     const std::vector<store::ExperimentScore>& scores, double handoff_min_score) {
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
  std::int64_t paid = 0, lost = 0;
  for (const auto& score : scores) {  // by lead, then scorer
    if (leads.empty() || leads.back() != score.lead_id) {
      leads.push_back(score.lead_id);
      std::optional<bool> outcome;
      if (score.sale_stage == domain::SaleStage::Paid) outcome = true;
      if (score.sale_stage == domain::SaleStage::Lost) outcome = false;
      paid += outcome == true ? 1 : 0;
      lost += outcome == false ? 1 : 0;
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
  scoring::ComparisonSettings settings;
  settings.min_n = experiment.min_n;
  settings.handoff_min_score = handoff_min_score;
  const auto report = scoring::compare_scorers(runs, outcomes, settings);
  json out = scoring::report_json(report);
  out["outcomes"] = {{"leads", static_cast<std::int64_t>(leads.size())},
                     {"paid", paid},
                     {"lost", lost},
                     {"open", static_cast<std::int64_t>(leads.size()) - paid - lost}};
  return out;
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
  if (const auto* format = r.query_value("format"); format != nullptr && *format != "json")
    return fail(Error::validation("format", "format must be json"), r);
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
  return json_reply(
      200, {{"experiment", experiment->name},
            {"active", experiment->active},
            {"salt", experiment->salt},
            {"min_n", experiment->min_n},
            {"arms", std::move(arms)},
            {"totals", std::move(all)},
            {"sample_ratio", sample_ratio_json(*experiment, data->arms)},
            {"scorers", comparison_json(*experiment, data->scores, s.config->handoff.min_score)}});
}

}  // namespace leadscore::api::routes
