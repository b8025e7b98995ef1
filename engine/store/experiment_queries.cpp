// The store's queries of live experiments — storing a lead's arm on its first analysis in an
// experiment (never moving it afterwards), the assigned counts, and the figures of an
// experiment's report.
#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/store/session_impl.h"
#include "engine/store/store.h"

namespace leadscore::store {
namespace {

// A PostgreSQL array literal of `values` ({1,2,3} or {"a","b"}). Arm names are plain names
// (engine/config): no quote or backslash to escape.
template <typename T, typename Text>
std::string array_literal(std::span<const T> values, Text text) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += text(values[i]);
  }
  return out + "}";
}

}  // namespace

// Inserts the arms of the leads that have none in the experiment ($1) yet, with the split in
// force ($2), and answers every lead's arm as stored: the new rows, and the rows already there.
// A lead that does not exist is left out (and so is its arm: no answer row). In lead order, so
// that two batches inserting at once wait on each other in the same order.
// $3 lead ids, $4 arms, $5 buckets (arrays, one item per lead).
//
// Sent for a job's batch, and for a lead whose analysis write found it with another arm than
// proposed (a single analysis gives a new lead its arm in its own write: analysis_queries.cpp).
// Its commit does not wait for the disk (synchronous_commit off for this transaction only):
// the analyses made with the arms are stored after it, and that commit, which waits, flushes
// the log up to itself, the assignments included. An assignment a crash loses is one no stored
// analysis used.
const Statement kAssignArms{
    "assign_experiment_arms",
    "WITH async AS (SELECT set_config('synchronous_commit', 'off', true)),"
    " input AS (SELECT i.* FROM unnest($3::bigint[], $4::text[], $5::int[])"
    "  AS i(lead_id, arm, bucket), async),"
    " inserted AS ("
    "  INSERT INTO experiment_assignments (experiment, lead_id, arm, bucket, split)"
    "  SELECT $1::text, i.lead_id, i.arm, i.bucket, $2::text FROM input i"
    "  WHERE EXISTS (SELECT 1 FROM leads l WHERE l.id = i.lead_id) ORDER BY i.lead_id"
    "  ON CONFLICT (experiment, lead_id) DO NOTHING RETURNING lead_id, arm)"
    " SELECT lead_id, arm FROM inserted UNION ALL"
    " SELECT x.lead_id, x.arm FROM experiment_assignments x"
    " WHERE x.experiment = $1::text AND x.lead_id = ANY ($3::bigint[])"
    "  AND x.lead_id NOT IN (SELECT lead_id FROM inserted)"};

Result<std::vector<std::optional<std::string>>> Session::assign_experiment_arms(
    const std::string& experiment, const std::string& split,
    std::span<const domain::ArmAssignment> proposals) {
  return guarded(
      impl_.get(), [&](PgConnection& c) -> Result<std::vector<std::optional<std::string>>> {
        std::vector<std::optional<std::string>> arms(proposals.size());
        std::vector<std::size_t> asked(proposals.size());
        for (std::size_t i = 0; i < asked.size(); ++i) asked[i] = i;
        // A lead assigned by another server while this statement ran is in neither of its answers
        // (the insert waited for it and skipped it; the read's snapshot is older): asked again, it
        // is read. A lead still missing then does not exist.
        for (int attempt = 0; attempt < 2 && !asked.empty(); ++attempt) {
          std::vector<domain::ArmAssignment> batch;
          batch.reserve(asked.size());
          for (const std::size_t i : asked) batch.push_back(proposals[i]);
          const std::span<const domain::ArmAssignment> items(batch);
          Params p;
          p.text(experiment).text(split);
          p.text(array_literal(
              items, [](const domain::ArmAssignment& a) { return std::to_string(a.lead_id); }));
          p.text(array_literal(items,
                               [](const domain::ArmAssignment& a) { return '"' + a.arm + '"'; }));
          p.text(array_literal(
              items, [](const domain::ArmAssignment& a) { return std::to_string(a.bucket); }));
          auto r = c.execute(kAssignArms, p);
          if (!r) {
            // A lead deleted between the check and the insert: the next attempt leaves it out.
            if (r.error().sqlstate == "23503" && attempt == 0) continue;
            return failure(r.error());
          }
          for (int row = 0; row < r->rows(); ++row) {
            const std::int64_t lead = r->integer(row, 0);
            for (const std::size_t i : asked)
              if (proposals[i].lead_id == lead) arms[i] = std::string(r->text(row, 1));
          }
          std::erase_if(asked, [&](std::size_t i) { return arms[i].has_value(); });
        }
        return arms;
      });
}

const Statement kAssignedCounts{
    "experiment_assigned_counts",
    "SELECT experiment, arm, count(*) FROM experiment_assignments GROUP BY experiment, arm"
    " ORDER BY experiment, arm"};

Result<std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>>>
Session::experiment_assigned_counts() {
  using Counts = std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>>;
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<Counts> {
    auto r = c.execute(kAssignedCounts, Params());
    if (!r) return failure(r.error());
    Counts counts;
    for (int row = 0; row < r->rows(); ++row)
      counts.push_back(
          {{std::string(r->text(row, 0)), std::string(r->text(row, 1))}, r->integer(row, 2)});
    return counts;
  });
}

// Per arm of experiment $1: its leads, and those assigned under split $2.
const Statement kArmAssigned{
    "experiment_arm_assigned",
    "SELECT arm, count(*), count(*) FILTER (WHERE split = $2::text)"
    " FROM experiment_assignments WHERE experiment = $1::text GROUP BY arm ORDER BY arm"};
// The leads of experiment $1 that were handed to sales: their arm and their sale's stage.
const Statement kExperimentSales{
    "experiment_sales",
    "SELECT x.lead_id, x.arm, s.stage FROM experiment_assignments x"
    " JOIN sales s ON s.lead_id = x.lead_id WHERE x.experiment = $1::text"};
// Every run of experiment $1 that gave a result (primary and shadow runs alike), in no order:
// the newest per lead and scorer is picked here, not by the database (a sort of every row in
// PostgreSQL took most of the report's time: bench/README.md).
const Statement kExperimentRuns{
    "experiment_runs",
    "SELECT id, lead_id, scorer, role = 'primary', arm, (result->>'score')::float8,"
    " result->>'recommendation' FROM analyses WHERE experiment = $1::text AND result IS NOT NULL"};

namespace {

// One run as read, its scorer and arm by index into the names seen.
struct Run {
  std::int64_t id = 0;
  std::int64_t lead_id = 0;
  std::uint32_t scorer = 0;
  std::int32_t arm = -1;  // -1: none
  bool primary = false;
  double score = 0;
  domain::Recommendation recommendation = domain::Recommendation::ContinueQualification;
};

// The index of `name` in `names`, added when new (a handful of scorers and arms).
std::uint32_t intern(std::vector<std::string>& names, std::string_view name) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<std::uint32_t>(i);
  names.emplace_back(name);
  return static_cast<std::uint32_t>(names.size() - 1);
}

ExperimentArmCounts& arm_counts(ExperimentReportData& data, std::string_view arm) {
  auto it = std::ranges::find(data.arms, arm, &ExperimentArmCounts::arm);
  if (it != data.arms.end()) return *it;
  data.arms.push_back({std::string(arm)});
  return data.arms.back();
}

}  // namespace

Result<ExperimentReportData> Session::experiment_report_data(const std::string& experiment,
                                                             const std::string& split) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<ExperimentReportData> {
    // One snapshot for the three reads: the counts and the runs agree with each other.
    if (auto begun = c.execute_script("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !begun)
      return failure(begun.error());
    auto read = [&]() -> Result<ExperimentReportData> {
      ExperimentReportData data;
      auto assigned = c.execute(kArmAssigned, Params().text(experiment).text(split));
      if (!assigned) return failure(assigned.error());
      for (int row = 0; row < assigned->rows(); ++row) {
        ExperimentArmCounts& counts = arm_counts(data, assigned->text(row, 0));
        counts.assigned = assigned->integer(row, 1);
        counts.assigned_in_split = assigned->integer(row, 2);
      }
      auto sales = c.execute(kExperimentSales, Params().text(experiment));
      if (!sales) return failure(sales.error());
      std::unordered_map<std::int64_t, domain::SaleStage> sale_of;
      sale_of.reserve(static_cast<std::size_t>(sales->rows()));
      for (int row = 0; row < sales->rows(); ++row) {
        const auto stage = domain::parse_sale_stage(sales->text(row, 2));
        if (!stage) continue;
        sale_of.emplace(sales->integer(row, 0), *stage);
        ExperimentArmCounts& counts = arm_counts(data, sales->text(row, 1));
        ++counts.transferred;
        counts.paid += *stage == domain::SaleStage::Paid ? 1 : 0;
        counts.lost += *stage == domain::SaleStage::Lost ? 1 : 0;
      }
      std::vector<std::string> scorers, arms;
      std::vector<Run> runs;
      {  // the rows' memory goes before the sort
        auto result = c.execute(kExperimentRuns, Params().text(experiment));
        if (!result) return failure(result.error());
        runs.resize(static_cast<std::size_t>(result->rows()));
        for (int row = 0; row < result->rows(); ++row) {
          Run& run = runs[static_cast<std::size_t>(row)];
          run.id = result->integer(row, 0);
          run.lead_id = result->integer(row, 1);
          run.scorer = intern(scorers, result->text(row, 2));
          run.primary = result->boolean(row, 3);
          if (!result->is_null(row, 4))
            run.arm = static_cast<std::int32_t>(intern(arms, result->text(row, 4)));
          run.score = result->real(row, 5);
          run.recommendation = domain::parse_recommendation(result->text(row, 6))
                                   .value_or(domain::Recommendation::ContinueQualification);
        }
      }
      // By lead, then scorer, newest first: the first of each (lead, scorer) is its newest.
      std::ranges::sort(runs, [](const Run& a, const Run& b) {
        if (a.lead_id != b.lead_id) return a.lead_id < b.lead_id;
        if (a.scorer != b.scorer) return a.scorer < b.scorer;
        return a.id > b.id;
      });
      std::vector<std::int64_t> analysed(arms.size());
      std::vector<char> by_arm(arms.size());
      data.scores.reserve(runs.size());
      for (std::size_t i = 0; i < runs.size(); ++i) {
        const Run& run = runs[i];
        const bool first_of_lead = i == 0 || runs[i - 1].lead_id != run.lead_id;
        if (first_of_lead) {
          // The lead counts as analysed by its arm when any of its runs was a primary one.
          std::ranges::fill(by_arm, 0);
          for (std::size_t j = i; j < runs.size() && runs[j].lead_id == run.lead_id; ++j)
            if (runs[j].primary && runs[j].arm >= 0)
              by_arm[static_cast<std::size_t>(runs[j].arm)] = 1;
          for (std::size_t a = 0; a < arms.size(); ++a) analysed[a] += by_arm[a] ? 1 : 0;
        }
        if (!first_of_lead && runs[i - 1].scorer == run.scorer) continue;  // an older run
        ExperimentScore score;
        score.lead_id = run.lead_id;
        score.scorer = scorers[run.scorer];
        score.score = run.score;
        score.recommendation = run.recommendation;
        if (auto sale = sale_of.find(run.lead_id); sale != sale_of.end())
          score.sale_stage = sale->second;
        data.scores.push_back(std::move(score));
      }
      for (std::size_t a = 0; a < arms.size(); ++a)
        arm_counts(data, arms[a]).analysed = analysed[a];
      return data;
    };
    auto data = read();
    c.prepare_for_reuse();  // ends the read-only transaction (a rollback: nothing was written)
    return data;
  });
}

}  // namespace leadscore::store
