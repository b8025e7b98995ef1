// Leads in the store: create, read, list, edit, activity, delete, and verbatim text.
#include <cctype>

#include "tests/engine/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using domain::ErrorCode;
using domain::LeadStage;
using domain::Recommendation;

// YYYY-MM-DDTHH:MM:SS.uuuuuuZ
bool is_rfc3339_utc_micros(const std::string& text) {
  const std::string shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (text.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(text[i])) : text[i] != shape[i])
      return false;
  return true;
}

TEST_F(Store, CreateLeadStoresFieldsAndStartsInNew) {
  domain::NewLead input = new_lead("partner", "logistics");
  input.activity_count = 3;
  input.profile.name = "Ada";
  input.profile.email = "ada@example.com";
  input.profile.bio = "builds engines";
  const domain::Lead lead = create(input);

  EXPECT_GT(lead.id, 0);
  EXPECT_EQ(lead.source, "partner");
  EXPECT_EQ(lead.stage, LeadStage::New);
  EXPECT_EQ(lead.business_domain, "logistics");
  EXPECT_EQ(lead.activity_count, 3);
  EXPECT_EQ(lead.profile.name, "Ada");
  EXPECT_EQ(lead.profile.email, "ada@example.com");
  EXPECT_EQ(lead.profile.bio, "builds engines");
  EXPECT_FALSE(lead.profile.company);
  EXPECT_FALSE(lead.ai_score);
  EXPECT_FALSE(lead.ai_analyzed_at);

  auto read = s().get_lead(lead.id);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->profile.name, "Ada");
  EXPECT_EQ(read->updated_at, lead.updated_at);
}

TEST_F(Store, TimestampsAreRfc3339UtcWithMicroseconds) {
  const domain::Lead lead = create();
  EXPECT_TRUE(is_rfc3339_utc_micros(lead.created_at)) << lead.created_at;
  EXPECT_TRUE(is_rfc3339_utc_micros(lead.updated_at)) << lead.updated_at;
  // Independent of the server's time zone setting.
  sql("ALTER DATABASE " + sql("SELECT current_database()") + " SET timezone = 'Asia/Tokyo'");
  auto db = Database::connect(url_, 1);
  ASSERT_TRUE(db);
  auto session = (*db)->session();
  ASSERT_TRUE(session);
  auto read = session->get_lead(lead.id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->created_at, lead.created_at);
}

TEST_F(Store, CreateLeadRecordsCreationEventWithActor) {
  const domain::Lead lead = create();
  auto history = s().lead_history(lead.id);
  ASSERT_TRUE(history) << history.error().message;
  ASSERT_EQ(history->stage_events.size(), 1u);
  const StageEvent& event = history->stage_events[0];
  EXPECT_FALSE(event.from);
  EXPECT_EQ(event.to, LeadStage::New);
  EXPECT_EQ(event.actor, "tester");
  EXPECT_EQ(event.at, lead.created_at);
  EXPECT_TRUE(history->analyses.empty());
}

TEST_F(Store, UnknownLeadIsNotFoundEverywhere) {
  constexpr std::int64_t kMissing = 424242;
  EXPECT_EQ(s().get_lead(kMissing).error().code, ErrorCode::NotFound);
  EXPECT_EQ(s().lead_history(kMissing).error().code, ErrorCode::NotFound);
  domain::LeadPatch patch;
  patch.name = "x";
  EXPECT_EQ(s().update_lead(kMissing, patch).error().code, ErrorCode::NotFound);
  EXPECT_EQ(s().add_activity(kMissing, 1).error().code, ErrorCode::NotFound);
  EXPECT_EQ(s().set_activity(kMissing, 1).error().code, ErrorCode::NotFound);
  EXPECT_EQ(s().delete_lead(kMissing).error().code, ErrorCode::NotFound);
  EXPECT_EQ(s().change_lead_stage(kMissing, LeadStage::Contacted, "tester", {}).error().code,
            ErrorCode::NotFound);
}

TEST_F(Store, TextWithSqlMetacharactersAndUnicodeRoundTripsVerbatim) {
  const std::string injection = "'; DROP TABLE leads; --";
  const std::string unicode = "Жанна 🚀 naïve “quoted” \\ backslash $1 %s";
  domain::NewLead input = new_lead("manual", injection);
  input.profile.name = unicode;
  input.profile.bio = "line one\nline two\ttab";
  const domain::Lead lead = create(input);
  EXPECT_EQ(lead.business_domain, injection);
  EXPECT_EQ(lead.profile.name, unicode);

  domain::LeadPatch patch;
  patch.company = injection + unicode;
  auto updated = s().update_lead(lead.id, patch);
  ASSERT_TRUE(updated) << updated.error().message;

  auto read = s().get_lead(lead.id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->business_domain, injection);
  EXPECT_EQ(read->profile.name, unicode);
  EXPECT_EQ(read->profile.bio, "line one\nline two\ttab");
  EXPECT_EQ(read->profile.company, injection + unicode);

  // Through the JSON of an analysis too.
  domain::Analysis analysis = analysis_of(*read, 0.5);
  analysis.result->reason = unicode;
  analysis.result->contributions = {{injection, 0.5}};
  ASSERT_TRUE(s().record_analysis(*read, analysis, true));
  auto history = s().lead_history(lead.id);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->analyses.size(), 1u);
  EXPECT_EQ(history->analyses[0].features.profile.name, unicode);
  EXPECT_EQ(history->analyses[0].features.business_domain, injection);
  EXPECT_EQ(history->analyses[0].result->reason, unicode);
  EXPECT_EQ(history->analyses[0].result->contributions[0].rule, injection);

  EXPECT_EQ(sql("SELECT count(*) FROM leads"), "1");
}

TEST_F(Store, TextWithNulByteIsValidationError) {
  domain::NewLead input = new_lead();
  input.profile.name = std::string("a\0b", 3);
  auto created = s().create_lead(input, "tester");
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::Validation);
}

TEST_F(Store, NegativeActivityCountIsValidationErrorNamingTheField) {
  domain::NewLead input = new_lead();
  input.activity_count = -1;
  auto created = s().create_lead(input, "tester");
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::Validation);
  EXPECT_EQ(created.error().field, "activity_count");
}

TEST_F(Store, ListLeadsPagesByIdAndSaysWhenMoreFollow) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(create().id);

  auto first = s().list_leads({}, {.after_id = std::nullopt, .limit = 2});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].id, ids[0]);
  EXPECT_EQ(first->items[1].id, ids[1]);
  ASSERT_TRUE(first->next_after_id);
  EXPECT_EQ(*first->next_after_id, ids[1]);

  auto second = s().list_leads({}, {.after_id = first->next_after_id, .limit = 2});
  ASSERT_TRUE(second);
  ASSERT_EQ(second->items.size(), 2u);
  EXPECT_EQ(second->items[0].id, ids[2]);

  auto last = s().list_leads({}, {.after_id = second->next_after_id, .limit = 2});
  ASSERT_TRUE(last);
  ASSERT_EQ(last->items.size(), 1u);
  EXPECT_EQ(last->items[0].id, ids[4]);
  EXPECT_FALSE(last->next_after_id);

  // An exact fit has no next page either.
  auto all = s().list_leads({}, {.after_id = std::nullopt, .limit = 5});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->items.size(), 5u);
  EXPECT_FALSE(all->next_after_id);
}

TEST_F(Store, ListLeadsFiltersByStageSourceScoreRangeAndRecommendation) {
  const domain::Lead fresh = create(new_lead("scanner"));
  const domain::Lead good = qualified_lead(0.9);  // partner, qualified, transfer_to_sales
  domain::Lead low = create(new_lead("partner"));
  ASSERT_TRUE(s().record_analysis(low, analysis_of(low, 0.2, Recommendation::DropLead), true));

  // The ids listed with the filter that `set` builds.
  auto ids = [&](auto set) {
    LeadFilter filter;
    set(filter);
    std::vector<std::int64_t> found;
    auto page = s().list_leads(filter, {});
    EXPECT_TRUE(page) << page.error().message;
    if (page)
      for (const auto& lead : page->items) found.push_back(lead.id);
    return found;
  };
  using Ids = std::vector<std::int64_t>;
  using F = LeadFilter;
  EXPECT_EQ(ids([](F&) {}), (Ids{fresh.id, good.id, low.id}));
  EXPECT_EQ(ids([](F& f) { f.stage = LeadStage::Qualified; }), (Ids{good.id}));
  EXPECT_EQ(ids([](F& f) { f.stage = LeadStage::New; }), (Ids{fresh.id, low.id}));
  EXPECT_EQ(ids([](F& f) { f.source = "partner"; }), (Ids{good.id, low.id}));
  EXPECT_EQ(ids([](F& f) { f.min_score = 0.5; }), (Ids{good.id}));
  EXPECT_EQ(ids([](F& f) { f.max_score = 0.2; }), (Ids{low.id}));  // inclusive
  EXPECT_EQ(ids([](F& f) {
              f.min_score = 0.2;
              f.max_score = 0.9;
            }),
            (Ids{good.id, low.id}));
  EXPECT_EQ(ids([](F& f) { f.recommendation = Recommendation::DropLead; }), (Ids{low.id}));
  EXPECT_EQ(ids([](F& f) {
              f.stage = LeadStage::New;
              f.source = "scanner";
            }),
            (Ids{fresh.id}));
  EXPECT_EQ(ids([](F& f) { f.source = "'; DROP TABLE leads; --"; }), Ids{});
}

TEST_F(Store, ListLeadsRejectsLimitBelowOne) {
  auto page = s().list_leads({}, {.after_id = std::nullopt, .limit = 0});
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code, ErrorCode::Validation);
  EXPECT_EQ(page.error().field, "limit");
}

TEST_F(Store, UpdateLeadSetsAndClearsFieldsAndMovesUpdatedAt) {
  domain::NewLead input = new_lead("manual", "retail");
  input.profile.name = "Old";
  input.profile.role = "CTO";
  const domain::Lead lead = create(input);

  domain::LeadPatch patch;
  patch.name = "New";
  patch.role = std::optional<std::string>();  // clear
  patch.business_domain = "banking";
  auto updated = s().update_lead(lead.id, patch);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(updated->profile.name, "New");
  EXPECT_FALSE(updated->profile.role);
  EXPECT_EQ(updated->business_domain, "banking");
  EXPECT_EQ(updated->source, "manual");
  EXPECT_GT(updated->updated_at, lead.updated_at);
  EXPECT_EQ(updated->created_at, lead.created_at);
}

TEST_F(Store, UpdateLeadRejectsInvalidPatchNamingTheField) {
  const domain::Lead lead = create();
  domain::LeadPatch patch;
  patch.email = std::string(1000, 'e');
  auto updated = s().update_lead(lead.id, patch);
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, ErrorCode::Validation);
  EXPECT_EQ(updated.error().field, "email");
}

TEST_F(Store, FinalLeadRefusesEditsAndActivity) {
  domain::Lead lead = move(create(), LeadStage::Lost);
  domain::LeadPatch patch;
  patch.name = "x";
  auto updated = s().update_lead(lead.id, patch);
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, ErrorCode::LeadFinal);
  auto empty = s().update_lead(lead.id, {});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::LeadFinal);
  auto activity = s().add_activity(lead.id, 1);
  ASSERT_FALSE(activity);
  EXPECT_EQ(activity.error().code, ErrorCode::LeadFinal);
  auto set = s().set_activity(lead.id, 7);
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().code, ErrorCode::LeadFinal);

  auto read = s().get_lead(lead.id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->updated_at, lead.updated_at);
  EXPECT_FALSE(read->profile.name);
}

TEST_F(Store, AddActivityAddsToTheCount) {
  const domain::Lead lead = create();
  ASSERT_TRUE(s().add_activity(lead.id, 1));
  auto added = s().add_activity(lead.id, 4);
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(added->activity_count, 5);
  EXPECT_GT(added->updated_at, lead.updated_at);
}

TEST_F(Store, SetActivityReplacesTheCountEvenDownward) {
  const domain::Lead lead = create();
  ASSERT_TRUE(s().add_activity(lead.id, 9));
  auto set = s().set_activity(lead.id, 3);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->activity_count, 3);
  EXPECT_GT(set->updated_at, lead.updated_at);
  auto zero = s().set_activity(lead.id, 0);
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->activity_count, 0);
  auto negative = s().set_activity(lead.id, -1);
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().field, "activity_count");
  EXPECT_EQ(s().get_lead(lead.id)->activity_count, 0);
}

TEST_F(Store, ListLeadsNewestFirstPagesDownwardById) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(create().id);
  std::vector<std::int64_t> seen;
  PageRequest page{std::nullopt, 2};
  for (int pages = 0; pages < 5; ++pages) {
    auto listed = s().list_leads({}, page, LeadOrder::Newest);
    ASSERT_TRUE(listed) << listed.error().message;
    for (const auto& lead : listed->items) seen.push_back(lead.id);
    if (!listed->next_after_id) break;
    page.after_id = listed->next_after_id;
  }
  EXPECT_EQ(seen, std::vector<std::int64_t>(ids.rbegin(), ids.rend()));
}

TEST_F(Store, AddActivityBelowOneIsValidationErrorNamingCount) {
  const domain::Lead lead = create();
  for (std::int64_t count : {0, -3}) {
    auto added = s().add_activity(lead.id, count);
    ASSERT_FALSE(added);
    EXPECT_EQ(added.error().code, ErrorCode::Validation);
    EXPECT_EQ(added.error().field, "count");
  }
}

TEST_F(Store, DeleteLeadRemovesItsStageEventsAndAnalyses) {
  domain::Lead lead = move(create(new_lead("manual", "x")), LeadStage::Contacted);
  ASSERT_TRUE(s().record_analysis(lead, analysis_of(lead, 0.4), true));
  const domain::Lead other = create();

  ASSERT_TRUE(s().delete_lead(lead.id));
  EXPECT_EQ(s().get_lead(lead.id).error().code, ErrorCode::NotFound);
  const std::string id = std::to_string(lead.id);
  EXPECT_EQ(sql("SELECT count(*) FROM stage_events WHERE lead_id = " + id), "0");
  EXPECT_EQ(sql("SELECT count(*) FROM analyses WHERE lead_id = " + id), "0");
  EXPECT_TRUE(s().get_lead(other.id));
  EXPECT_EQ(s().delete_lead(lead.id).error().code, ErrorCode::NotFound);
}

TEST_F(Store, DeleteLeadWithSaleIsConflict) {
  const domain::Lead lead = qualified_lead();
  ASSERT_TRUE(s().change_lead_stage(lead.id, LeadStage::Transferred, "tester", {}));
  auto deleted = s().delete_lead(lead.id);
  ASSERT_FALSE(deleted);
  EXPECT_EQ(deleted.error().code, ErrorCode::Conflict);
  EXPECT_TRUE(s().get_lead(lead.id));
}

TEST_F(Store, UnexpectedSqlErrorIsInternalWithPostgresMessage) {
  const domain::Lead lead = create();
  sql("ALTER TABLE leads RENAME TO leads_gone");
  auto read = s().get_lead(lead.id);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::Internal);
  EXPECT_NE(read.error().message.find("leads"), std::string::npos) << read.error().message;
  // The session stays usable for what still works.
  EXPECT_TRUE(s().ping());
}

}  // namespace
}  // namespace leadscore::store::testing
