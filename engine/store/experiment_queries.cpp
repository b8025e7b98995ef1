// Session: the queries of live experiments — storing a lead's arm on its first analysis in an
// experiment (never moving it afterwards), the assigned counts, and the figures of an
// experiment's report.
#include <algorithm>
#include <string>
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
const Statement kAssignArms{
    "assign_experiment_arms",
    "WITH input AS (SELECT * FROM unnest($3::bigint[], $4::text[], $5::int[])"
    "  AS i(lead_id, arm, bucket)),"
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

// Per arm of experiment $1: its leads, those assigned under split $2, transferred (with a
// sale), paid, lost.
const Statement kArmOutcomes{
    "experiment_arm_outcomes",
    "SELECT x.arm, count(*), count(*) FILTER (WHERE x.split = $2::text), count(s.id),"
    "  count(*) FILTER (WHERE s.stage = 'paid'), count(*) FILTER (WHERE s.stage = 'lost')"
    " FROM experiment_assignments x LEFT JOIN sales s ON s.lead_id = x.lead_id"
    " WHERE x.experiment = $1::text GROUP BY x.arm ORDER BY x.arm"};
// Per arm of experiment $1: the leads with a primary analysis of the arm that gave a result.
const Statement kArmAnalysed{
    "experiment_arm_analysed",
    "SELECT arm, count(DISTINCT lead_id) FROM analyses"
    " WHERE experiment = $1::text AND role = 'primary' AND result IS NOT NULL"
    " GROUP BY arm"};
// The newest run of each scorer on each lead of experiment $1 that gave a result (primary and
// shadow runs alike), with the lead's sale's stage; by lead, then scorer. The runs are read
// through analyses_experiment (migration 013), newest first per lead and scorer.
const Statement kExperimentScores{
    "experiment_scores",
    "SELECT a.lead_id, a.scorer, (a.result->>'score')::float8, a.result->>'recommendation',"
    "  s.stage"
    " FROM (SELECT DISTINCT ON (lead_id, scorer) lead_id, scorer, result FROM analyses"
    "  WHERE experiment = $1::text AND result IS NOT NULL"
    "  ORDER BY lead_id, scorer, id DESC) a"
    " LEFT JOIN sales s ON s.lead_id = a.lead_id ORDER BY a.lead_id, a.scorer"};

Result<ExperimentReportData> Session::experiment_report_data(const std::string& experiment,
                                                             const std::string& split) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<ExperimentReportData> {
    // One snapshot for the three reads: the counts and the scores agree with each other.
    if (auto begun = c.execute_script("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !begun)
      return failure(begun.error());
    auto read = [&]() -> Result<ExperimentReportData> {
      ExperimentReportData data;
      auto arms = c.execute(kArmOutcomes, Params().text(experiment).text(split));
      if (!arms) return failure(arms.error());
      for (int row = 0; row < arms->rows(); ++row) {
        ExperimentArmCounts counts;
        counts.arm = std::string(arms->text(row, 0));
        counts.assigned = arms->integer(row, 1);
        counts.assigned_in_split = arms->integer(row, 2);
        counts.transferred = arms->integer(row, 3);
        counts.paid = arms->integer(row, 4);
        counts.lost = arms->integer(row, 5);
        data.arms.push_back(std::move(counts));
      }
      auto analysed = c.execute(kArmAnalysed, Params().text(experiment));
      if (!analysed) return failure(analysed.error());
      for (int row = 0; row < analysed->rows(); ++row) {
        if (analysed->is_null(row, 0)) continue;
        const std::string_view arm = analysed->text(row, 0);
        auto it = std::ranges::find(data.arms, arm, &ExperimentArmCounts::arm);
        if (it != data.arms.end()) it->analysed = analysed->integer(row, 1);
      }
      auto scores = c.execute(kExperimentScores, Params().text(experiment));
      if (!scores) return failure(scores.error());
      data.scores.reserve(static_cast<std::size_t>(scores->rows()));
      for (int row = 0; row < scores->rows(); ++row) {
        ExperimentScore score;
        score.lead_id = scores->integer(row, 0);
        score.scorer = std::string(scores->text(row, 1));
        score.score = scores->real(row, 2);
        score.recommendation = domain::parse_recommendation(scores->text(row, 3))
                                   .value_or(domain::Recommendation::ContinueQualification);
        if (!scores->is_null(row, 4))
          score.sale_stage = domain::parse_sale_stage(scores->text(row, 4));
        data.scores.push_back(std::move(score));
      }
      return data;
    };
    auto data = read();
    c.prepare_for_reuse();  // ends the read-only transaction (a rollback: nothing was written)
    return data;
  });
}

}  // namespace leadscore::store
