// Analyses: the append-only record of scorer runs, and the one-statement write of a result
// onto its lead guarded by the lead's input revision: a change of what the scorer saw makes it
// a Conflict, another analysis does not.
#include <algorithm>
#include <barrier>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/engine/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using domain::ErrorCode;
using domain::LeadStage;
using domain::Recommendation;

TEST_F(Store, RecordAnalysisWritesTheResultOntoTheLeadAndAppendsTheRun) {
  domain::NewLead input = new_lead("partner", "fintech");
  input.profile.industry = "banking";
  input.activity_count = 7;
  const domain::Lead lead = create(input);
  domain::Analysis analysis = analysis_of(lead, 0.75, Recommendation::ContinueQualification);
  analysis.latency_ms = 1.5;
  analysis.role = "primary";

  auto stored = s().record_analysis(lead, analysis, true);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->ai_score, 0.75);
  EXPECT_EQ(stored->ai_recommendation, Recommendation::ContinueQualification);
  EXPECT_EQ(stored->ai_reason, "because");
  EXPECT_EQ(stored->ai_scorer, "heuristic");
  EXPECT_EQ(stored->ai_scorer_version, "1.0.0");
  ASSERT_TRUE(stored->ai_analyzed_at);
  EXPECT_GT(stored->updated_at, lead.updated_at);
  EXPECT_EQ(stored->stage, LeadStage::New);
  EXPECT_EQ(stored->profile.industry, "banking");

  auto history = s().lead_history(lead.id);
  ASSERT_TRUE(history) << history.error().message;
  ASSERT_EQ(history->analyses.size(), 1u);
  const domain::Analysis& row = history->analyses[0];
  EXPECT_GT(row.id, 0);
  EXPECT_EQ(row.lead_id, lead.id);
  EXPECT_EQ(row.scorer, "heuristic");
  EXPECT_EQ(row.scorer_version, "1.0.0");
  EXPECT_EQ(row.role, "primary");
  EXPECT_EQ(row.actor, "tester");
  EXPECT_EQ(row.latency_ms, 1.5);
  EXPECT_FALSE(row.error);
  EXPECT_EQ(row.created_at, *stored->ai_analyzed_at);
  EXPECT_EQ(row.features.source, "partner");
  EXPECT_EQ(row.features.stage, LeadStage::New);
  EXPECT_EQ(row.features.activity_count, 7);
  EXPECT_EQ(row.features.business_domain, "fintech");
  EXPECT_EQ(row.features.profile.industry, "banking");
  EXPECT_FALSE(row.features.profile.name);
  ASSERT_TRUE(row.result);
  EXPECT_EQ(row.result->score, 0.75);
  EXPECT_EQ(row.result->recommendation, Recommendation::ContinueQualification);
  EXPECT_EQ(row.result->reason, "because");
  ASSERT_EQ(row.result->contributions.size(), 2u);
  EXPECT_EQ(row.result->contributions[0].rule, "base");
  EXPECT_EQ(row.result->contributions[0].points, 0.375);
  EXPECT_FALSE(row.result->intent);
}

TEST_F(Store, IntentIsKeptWithTheResultOnlyWhenTheScorerGaveOne) {
  const domain::Lead lead = create();
  domain::Analysis with_intent = analysis_of(lead, 0.5);
  with_intent.result->intent = "Élevé";
  ASSERT_TRUE(s().append_analysis(with_intent));
  ASSERT_TRUE(s().append_analysis(analysis_of(lead, 0.5)));

  auto history = s().lead_history(lead.id);
  ASSERT_TRUE(history) << history.error().message;
  ASSERT_EQ(history->analyses.size(), 2u);
  ASSERT_TRUE(history->analyses[0].result && history->analyses[1].result);
  EXPECT_EQ(history->analyses[0].result->intent, "Élevé");
  EXPECT_FALSE(history->analyses[1].result->intent);
}

TEST_F(Store, ScoresRoundTripExactly) {
  const domain::Lead lead = create();
  const double score = 0.1 + 0.2;  // 0.30000000000000004
  auto stored = s().record_analysis(lead, analysis_of(lead, score), true);
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored->ai_score, score);
  EXPECT_EQ(*s().get_lead(lead.id)->ai_score, score);
  EXPECT_EQ(s().lead_history(lead.id)->analyses[0].result->score, score);
}

TEST_F(Store, RecordAnalysisOfALeadChangedSinceItWasReadIsConflictAndStoresNothing) {
  const domain::Lead seen = create();
  ASSERT_TRUE(s().add_activity(seen.id, 1));  // someone else changes the lead
  auto stored = s().record_analysis(seen, analysis_of(seen, 0.9), true);
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code, ErrorCode::Conflict);
  EXPECT_FALSE(s().get_lead(seen.id)->ai_score);
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), "0");

  // Re-read, score again: stored.
  auto fresh = s().get_lead(seen.id);
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(s().record_analysis(*fresh, analysis_of(*fresh, 0.9), true));
}

TEST_F(Store, EveryInputChangeMovesTheRevisionSoAnOlderReadNeverMatches) {
  domain::Lead lead = create();
  std::vector<std::int64_t> revisions{lead.input_revision};
  for (int i = 0; i < 20; ++i) {
    auto added = s().add_activity(lead.id, 1);
    ASSERT_TRUE(added);
    EXPECT_GT(added->input_revision, revisions.back());
    revisions.push_back(added->input_revision);
  }
  lead = *s().get_lead(lead.id);
  EXPECT_EQ(lead.input_revision, revisions.back());
  auto stale = lead;
  stale.input_revision = revisions[revisions.size() - 2];
  EXPECT_EQ(s().record_analysis(stale, analysis_of(stale, 0.5), true).error().code,
            ErrorCode::Conflict);
  auto unread = lead;
  unread.input_revision = 0;  // a lead the store never gave out
  EXPECT_EQ(s().record_analysis(unread, analysis_of(unread, 0.5), true).error().code,
            ErrorCode::Conflict);

  // Storing a score is a change (updated_at moves) but not one of the inputs.
  auto stored = s().record_analysis(lead, analysis_of(lead, 0.5), true);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->input_revision, lead.input_revision);
  EXPECT_GT(stored->updated_at, lead.updated_at);
}

TEST_F(Store, AnEditOfAnyProfileFieldMovesTheRevision) {
  domain::Lead lead = create();
  for (const domain::ProfileFieldSpec& spec : domain::kProfileFields) {
    domain::LeadPatch patch;
    domain::for_each_profile_field(patch, [&](const char* name, auto& member) {
      if (spec.name == name) member = std::string("new ") + name;
    });
    auto edited = s().update_lead(lead.id, patch);
    ASSERT_TRUE(edited) << spec.name << ": " << edited.error().message;
    EXPECT_GT(edited->input_revision, lead.input_revision) << spec.name;
    EXPECT_EQ(s().record_analysis(lead, analysis_of(lead, 0.5), true).error().code,
              ErrorCode::Conflict)
        << spec.name;
    lead = *edited;
  }
  EXPECT_EQ(lead.profile.website, "new website");
}

TEST_F(Store, RecordAnalysisOnAFinalLeadIsLeadFinal) {
  const domain::Lead lost = move(create(), LeadStage::Lost);
  auto stored = s().record_analysis(lost, analysis_of(lost, 0.9), true);
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code, ErrorCode::LeadFinal);

  // Also when it became final after it was read.
  const domain::Lead seen = create();
  move(seen, LeadStage::Lost);
  auto late = s().record_analysis(seen, analysis_of(seen, 0.9), true);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::LeadFinal);
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), "0");
}

TEST_F(Store, RecordAnalysisOfAnUnknownLeadIsNotFound) {
  domain::Lead ghost = create();
  ghost.id = 999999;
  for (bool store_on_lead : {true, false}) {
    auto stored = s().record_analysis(ghost, analysis_of(ghost, 0.5), store_on_lead);
    ASSERT_FALSE(stored);
    EXPECT_EQ(stored.error().code, ErrorCode::NotFound);
  }
  domain::Analysis orphan = analysis_of(ghost, 0.5);
  EXPECT_EQ(s().append_analysis(orphan).error().code, ErrorCode::NotFound);
}

TEST_F(Store, RecordAnalysisWithoutStoreOnLeadOnlyAppendsTheRun) {
  const domain::Lead lead = create();
  auto stored = s().record_analysis(lead, analysis_of(lead, 0.9), false);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_FALSE(stored->ai_score);
  EXPECT_EQ(stored->updated_at, lead.updated_at);
  EXPECT_EQ(s().lead_history(lead.id)->analyses.size(), 1u);
}

TEST_F(Store, FailedRunIsAppendedWithItsErrorAndLeavesTheLeadAlone) {
  const domain::Lead lead = create();
  domain::Analysis failed = analysis_of(lead, 0);
  failed.result.reset();
  failed.error = "lua: budget exhausted";
  failed.role = "shadow";
  auto stored = s().record_analysis(lead, failed, true);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_FALSE(stored->ai_score);
  EXPECT_EQ(stored->updated_at, lead.updated_at);

  ASSERT_TRUE(s().append_analysis(failed));
  auto history = s().lead_history(lead.id);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->analyses.size(), 2u);
  for (const auto& row : history->analyses) {
    EXPECT_FALSE(row.result);
    EXPECT_EQ(row.error, "lua: budget exhausted");
    EXPECT_EQ(row.role, "shadow");
  }
  EXPECT_LT(history->analyses[0].id, history->analyses[1].id);
}

TEST_F(Store, ASetWriteStoresEachAnalysisOnItsLeadAndAppendsItsRows) {
  const domain::Lead first = create(new_lead("partner"));
  const domain::Lead second = create(new_lead("scanner"));
  domain::Analysis a = analysis_of(first, 0.8);
  domain::Analysis b = analysis_of(second, 0.3, Recommendation::DropLead);
  b.audit = R"({"model":"m"})";
  domain::Analysis failed = analysis_of(first, 0);
  failed.result.reset();
  failed.scorer = "rules";
  failed.error = "rules: budget exhausted";
  domain::Analysis shadow = analysis_of(second, 0.5);
  shadow.scorer = "shadow";
  shadow.role = "shadow";
  const std::vector<AnalysisToRecord> on_leads{{&first, &a}, {&second, &b}};
  const std::vector<AnalysisToAppend> appended{{&failed, false}, {&shadow, true}};

  auto written = s().record_analysis_set(on_leads, appended);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, (std::vector<SetOutcome>{SetOutcome::Stored, SetOutcome::Stored}));
  const domain::Lead one = *s().get_lead(first.id);
  EXPECT_EQ(one.ai_score, 0.8);
  EXPECT_EQ(one.input_revision, first.input_revision);  // a score is no input
  const domain::Lead two = *s().get_lead(second.id);
  EXPECT_EQ(two.ai_recommendation, Recommendation::DropLead);

  const auto history_one = s().lead_history(first.id)->analyses;
  ASSERT_EQ(history_one.size(), 2u);
  const auto primary_one = std::ranges::find(history_one, "heuristic", &domain::Analysis::scorer);
  ASSERT_NE(primary_one, history_one.end());
  EXPECT_EQ(primary_one->created_at, *one.ai_analyzed_at);
  EXPECT_EQ(primary_one->features.source, "partner");
  const auto failed_one = std::ranges::find(history_one, "rules", &domain::Analysis::scorer);
  ASSERT_NE(failed_one, history_one.end());
  EXPECT_EQ(failed_one->error, "rules: budget exhausted");
  EXPECT_FALSE(failed_one->result);
  const auto history_two = s().lead_history(second.id)->analyses;
  ASSERT_EQ(history_two.size(), 2u);
  const auto primary_two = std::ranges::find(history_two, "heuristic", &domain::Analysis::scorer);
  EXPECT_EQ(primary_two->audit, R"({"model": "m"})");
  EXPECT_NE(std::ranges::find(history_two, "shadow", &domain::Analysis::role), history_two.end());
}

TEST_F(Store, ASetWriteStoresNothingForAChangedFinalOrMissingLeadButTheRowsThatStandAlone) {
  const domain::Lead fresh = create();
  const domain::Lead changed = create();
  const domain::Lead lost = create();
  domain::Lead missing = create();
  missing.id = 999999;
  ASSERT_TRUE(s().add_activity(changed.id, 1));  // its inputs move on after the read
  move(lost, LeadStage::Lost);
  domain::Analysis a = analysis_of(fresh, 0.1), b = analysis_of(changed, 0.2),
                   c = analysis_of(lost, 0.3), d = analysis_of(missing, 0.4);
  for (domain::Analysis* primary : {&a, &b, &c, &d}) primary->role = "primary";
  domain::Analysis shadow_of_changed = analysis_of(changed, 0.9);
  shadow_of_changed.role = "shadow";
  domain::Analysis failed_of_changed = analysis_of(changed, 0);
  failed_of_changed.result.reset();
  failed_of_changed.error = "down";
  failed_of_changed.role = "primary";
  domain::Analysis failed_of_missing = failed_of_changed;
  failed_of_missing.lead_id = missing.id;
  const std::vector<AnalysisToRecord> on_leads{
      {&fresh, &a}, {&changed, &b}, {&lost, &c}, {&missing, &d}};
  const std::vector<AnalysisToAppend> appended{
      {&shadow_of_changed, true}, {&failed_of_changed, false}, {&failed_of_missing, false}};

  auto written = s().record_analysis_set(on_leads, appended);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, (std::vector<SetOutcome>{SetOutcome::Stored, SetOutcome::Changed,
                                               SetOutcome::Final, SetOutcome::Missing}));
  EXPECT_FALSE(s().get_lead(changed.id)->ai_score);
  EXPECT_FALSE(s().get_lead(lost.id)->ai_score);
  // Of the changed lead only its failed run, which stands alone; nothing of the missing lead.
  EXPECT_EQ(
      sql("SELECT string_agg(lead_id || ':' || role || ':' || coalesce(error, 'ok'), ','"
          " ORDER BY lead_id, id) FROM analyses"),
      std::to_string(fresh.id) + ":primary:ok," + std::to_string(changed.id) + ":primary:down");
}

TEST_F(Store, ASetWithTwoAnalysesOfOneLeadIsRefusedAndWritesNothing) {
  const domain::Lead lead = create();
  const domain::Analysis a = analysis_of(lead, 0.1), b = analysis_of(lead, 0.2);
  const std::vector<AnalysisToRecord> on_leads{{&lead, &a}, {&lead, &b}};
  auto written = s().record_analysis_set(on_leads, {});
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::Validation);
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), "0");
}

TEST_F(Store, ConcurrentAnalysesOfOneReadAreAllStored) {
  constexpr int kThreads = 8;
  auto db = Database::connect(url_, kThreads);
  ASSERT_TRUE(db);
  const domain::Lead seen = create();
  std::vector<Result<domain::Lead>> results(kThreads, std::unexpected(Error{}));
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      auto session = (*db)->session();
      start.arrive_and_wait();
      if (!session) {
        results[i] = std::unexpected(session.error());
        return;
      }
      results[i] = session->record_analysis(seen, analysis_of(seen, 0.1 * (i + 1)), true);
    });
  for (auto& thread : threads) thread.join();

  for (const auto& result : results) EXPECT_TRUE(result) << result.error().message;
  auto history = s().lead_history(seen.id);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->analyses.size(), std::size_t{kThreads});
  // The lead holds the last one stored, and its time is that analysis's.
  const domain::Analysis& last = history->analyses.back();
  auto lead = s().get_lead(seen.id);
  ASSERT_TRUE(lead);
  EXPECT_EQ(lead->ai_score, last.result->score);
  EXPECT_EQ(lead->ai_analyzed_at, last.created_at);
  for (std::size_t i = 1; i < history->analyses.size(); ++i)
    EXPECT_GT(history->analyses[i].created_at, history->analyses[i - 1].created_at);
}

TEST_F(Store, StoringAnAnalysisDoesNotInvalidateAnotherOfTheSameRead) {
  const domain::Lead seen = create();
  auto first = s().record_analysis(seen, analysis_of(seen, 0.4), true);
  ASSERT_TRUE(first) << first.error().message;
  auto second = s().record_analysis(seen, analysis_of(seen, 0.6), true);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->ai_score, 0.6);
  EXPECT_GT(*second->ai_analyzed_at, *first->ai_analyzed_at);
  EXPECT_GT(second->updated_at, first->updated_at);  // still the time of the last change
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), "2");
}

// Every input of a scorer (domain::features_of) that a caller can change.
std::vector<std::pair<std::string, domain::LeadPatch>> patches_of_every_input() {
  std::vector<std::pair<std::string, domain::LeadPatch>> patches;
  domain::LeadPatch domain_patch;
  domain_patch.business_domain = "insurance";
  patches.emplace_back("business_domain", domain_patch);
  domain::LeadPatch cleared;
  cleared.business_domain = std::optional<std::string>{};
  patches.emplace_back("business_domain cleared", cleared);
  domain::LeadPatch names;
  domain::for_each_profile_field(names, [&](const char* field, auto&) {
    domain::LeadPatch patch;
    domain::for_each_profile_field(patch, [&](const char* name, auto& value) {
      if (std::string_view(name) == field) value = std::optional<std::string>("changed");
    });
    patches.emplace_back(field, patch);
  });
  return patches;
}

TEST_F(Store, EveryChangeOfAScoredInputIsConflictForAnEarlierRead) {
  std::vector<std::pair<std::string, std::function<void(const domain::Lead&)>>> changes = {
      {"activity", [&](const domain::Lead& l) { ASSERT_TRUE(s().add_activity(l.id, 1)); }},
      {"stage", [&](const domain::Lead& l) { move(l, LeadStage::Contacted); }},
  };
  for (auto& [what, patch] : patches_of_every_input())
    changes.emplace_back(what, [&, patch](const domain::Lead& l) {
      auto updated = s().update_lead(l.id, patch);
      ASSERT_TRUE(updated) << updated.error().message;
    });

  for (const auto& [what, change] : changes) {
    SCOPED_TRACE(what);
    const domain::Lead seen = create(new_lead("partner", "fintech"));
    change(seen);
    auto stored = s().record_analysis(seen, analysis_of(seen, 0.5), true);
    ASSERT_FALSE(stored);
    EXPECT_EQ(stored.error().code, ErrorCode::Conflict);
    auto fresh = s().get_lead(seen.id);
    ASSERT_TRUE(fresh);
    EXPECT_FALSE(fresh->ai_score);
    EXPECT_TRUE(s().record_analysis(*fresh, analysis_of(*fresh, 0.5), true));
  }
}

TEST_F(Store, AnEditThatChangesNoScoredInputKeepsAnEarlierReadCurrent) {
  domain::NewLead input = new_lead("partner", "fintech");
  input.profile.company = "Acme";
  const domain::Lead seen = create(input);
  domain::LeadPatch same;
  same.company = "Acme";
  same.business_domain = "fintech";
  auto edited = s().update_lead(seen.id, same);
  ASSERT_TRUE(edited) << edited.error().message;
  EXPECT_GT(edited->updated_at, seen.updated_at);  // a write all the same

  auto stored = s().record_analysis(seen, analysis_of(seen, 0.5), true);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->ai_score, 0.5);
}

TEST_F(Store, ScoreOutsideZeroToOneIsValidationErrorAndStoresNothing) {
  const domain::Lead lead = create();
  auto stored = s().record_analysis(lead, analysis_of(lead, 1.5), true);
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code, ErrorCode::Validation);
  EXPECT_EQ(stored.error().field, "ai_score");
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), "0");
}

TEST_F(Store, TheAuditOfARunIsKeptOnEveryWayOfWritingIt) {
  const domain::Lead lead = create();
  const std::string audit = R"({"model":"m1","raw":"it's \"fine\"; ünïcödé","tokens_in":12})";
  // A result stored on the lead, a result kept in the history only, a failed run appended.
  domain::Analysis on_lead = analysis_of(lead, 0.5);
  on_lead.audit = audit;
  auto stored = s().record_analysis(lead, on_lead, true);
  ASSERT_TRUE(stored) << stored.error().message;
  domain::Analysis adhoc = analysis_of(lead, 0.25);
  adhoc.role = "adhoc";
  adhoc.audit = R"({"tries":2})";
  ASSERT_TRUE(s().record_analysis(*stored, adhoc, false));
  domain::Analysis failed = analysis_of(lead, 0.5);
  failed.result.reset();
  failed.error = "the upstream failed";
  failed.audit = R"({"raw":"HTTP 500"})";
  ASSERT_TRUE(s().append_analysis(failed));
  domain::Analysis without = analysis_of(lead, 0.5);
  without.result.reset();
  without.error = "no audit";
  ASSERT_TRUE(s().append_analysis(without));

  auto history = s().lead_history(lead.id);
  ASSERT_TRUE(history) << history.error().message;
  ASSERT_EQ(history->analyses.size(), 4u);
  // As jsonb keeps it: the same members, in jsonb's order.
  EXPECT_EQ(nlohmann::json::parse(*history->analyses[0].audit), nlohmann::json::parse(audit));
  EXPECT_EQ(history->analyses[1].audit, R"({"tries": 2})");
  EXPECT_EQ(history->analyses[2].audit, R"({"raw": "HTTP 500"})");
  EXPECT_EQ(history->analyses[2].error, "the upstream failed");
  EXPECT_FALSE(history->analyses[3].audit.has_value());
}

TEST_F(Store, AnAuditThatIsNoJsonObjectIsRefusedByTheDatabase) {
  const domain::Lead lead = create();
  EXPECT_THROW(
      query(url_,
            "INSERT INTO analyses (lead_id, scorer, scorer_version, role, actor,"
            " features, latency_ms, audit, created_at) VALUES (" +
                std::to_string(lead.id) + ", 's', '1', 'primary', 'a', '{}', 0, '[1]', now())"),
      std::runtime_error);
}

}  // namespace
}  // namespace leadscore::store::testing
