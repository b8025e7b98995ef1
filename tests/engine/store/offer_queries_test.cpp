// Offers in the store: create, read, list, replace, delete; one active at most, even under
// concurrent activations; the revision that orders states; the offer id kept with analyses.
#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "tests/engine/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using domain::ErrorCode;

domain::OfferInput offer_input(std::string name, bool active = false) {
  domain::OfferInput offer;
  offer.name = std::move(name);
  offer.value_props = {"24/7 automated outreach", "6x more qualified meetings"};
  offer.ideal_use_cases = {"B2B SaaS", "Sales teams"};
  offer.active = active;
  return offer;
}

class Offers : public Store {
 protected:
  domain::Offer create_offer(const domain::OfferInput& input) {
    auto created = s().create_offer(input);
    if (!created) throw std::runtime_error("create_offer: " + created.error().message);
    return created->offer;
  }
  std::string active_ids() {
    return sql("SELECT string_agg(id::text, ',') FROM offers WHERE active");
  }
};

TEST_F(Offers, CreateReadListReplaceDelete) {
  domain::OfferInput input = offer_input("AI Outreach Automation");
  input.description = "books meetings";
  auto created = s().create_offer(input);
  ASSERT_TRUE(created) << created.error().message;
  const domain::Offer& offer = created->offer;
  EXPECT_GT(offer.id, 0);
  EXPECT_EQ(offer.name, "AI Outreach Automation");
  EXPECT_EQ(offer.description, "books meetings");
  EXPECT_EQ(offer.value_props, input.value_props);
  EXPECT_EQ(offer.ideal_use_cases, input.ideal_use_cases);
  EXPECT_FALSE(offer.active);
  EXPECT_FALSE(created->active.offer);  // created inactive: none is active

  auto read = s().get_offer(offer.id);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->name, offer.name);
  EXPECT_EQ(read->value_props, offer.value_props);
  EXPECT_EQ(read->updated_at, offer.updated_at);

  const domain::Offer second = create_offer(offer_input("second"));
  auto first_page = s().list_offers({std::nullopt, 1});
  ASSERT_TRUE(first_page) << first_page.error().message;
  ASSERT_EQ(first_page->items.size(), 1u);
  EXPECT_EQ(first_page->items[0].id, offer.id);
  ASSERT_TRUE(first_page->next_after_id);
  auto next_page = s().list_offers({first_page->next_after_id, 1});
  ASSERT_TRUE(next_page);
  ASSERT_EQ(next_page->items.size(), 1u);
  EXPECT_EQ(next_page->items[0].id, second.id);

  domain::OfferInput replacement = offer_input("renamed", /*active=*/true);
  replacement.value_props = {};
  replacement.ideal_use_cases = {"Fintech"};
  auto replaced = s().replace_offer(offer.id, replacement);
  ASSERT_TRUE(replaced) << replaced.error().message;
  EXPECT_EQ(replaced->offer.name, "renamed");
  EXPECT_FALSE(replaced->offer.description);  // a full replace: absent means none
  EXPECT_TRUE(replaced->offer.value_props.empty());
  EXPECT_EQ(replaced->offer.ideal_use_cases, std::vector<std::string>{"Fintech"});
  EXPECT_GT(replaced->offer.updated_at, offer.updated_at);
  EXPECT_EQ(replaced->offer.created_at, offer.created_at);
  ASSERT_TRUE(replaced->active.offer);
  EXPECT_EQ(replaced->active.offer->id, offer.id);

  auto deleted = s().delete_offer(offer.id);
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_FALSE(deleted->offer);  // the active one went
  EXPECT_EQ(s().get_offer(offer.id).error().code, ErrorCode::NotFound);
  EXPECT_EQ(s().delete_offer(offer.id).error().code, ErrorCode::NotFound);
  EXPECT_EQ(s().replace_offer(offer.id, replacement).error().code, ErrorCode::NotFound);
  EXPECT_EQ(sql("SELECT count(*) FROM offers"), "1");
}

TEST_F(Offers, ActivatingOneDeactivatesTheOneBeforeAndMovesTheRevision) {
  auto before = s().active_offer();
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_FALSE(before->offer);

  const domain::Offer a = create_offer(offer_input("a", true));
  auto first = s().active_offer();
  ASSERT_TRUE(first && first->offer);
  EXPECT_EQ(first->offer->id, a.id);
  EXPECT_GT(first->revision, before->revision);

  auto b = s().create_offer(offer_input("b", true));
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(active_ids(), std::to_string(b->offer.id));
  EXPECT_FALSE(s().get_offer(a.id)->active);
  ASSERT_TRUE(b->active.offer);
  EXPECT_EQ(b->active.offer->id, b->offer.id);
  EXPECT_GT(b->active.revision, first->revision);

  // Replacing the inactive one without `active` leaves b active; replacing b without it
  // leaves none.
  auto kept = s().replace_offer(a.id, offer_input("a2"));
  ASSERT_TRUE(kept && kept->active.offer);
  EXPECT_EQ(kept->active.offer->id, b->offer.id);
  auto none = s().replace_offer(b->offer.id, offer_input("b2"));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->active.offer);
  EXPECT_EQ(active_ids(), "");
  EXPECT_GT(none->active.revision, kept->active.revision);
}

TEST_F(Offers, BadInputIsRefusedNamingTheFieldAndChangesNothing) {
  const domain::Offer a = create_offer(offer_input("a", true));
  const std::string revision = sql("SELECT revision FROM offers_revision");
  domain::OfferInput blank = offer_input("   ", true);
  auto refused = s().create_offer(blank);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::Validation);
  EXPECT_EQ(refused.error().field, "name");
  domain::OfferInput long_item = offer_input("b", true);
  long_item.ideal_use_cases.push_back(std::string(201, 'x'));
  refused = s().replace_offer(a.id, long_item);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "ideal_use_cases");
  EXPECT_EQ(sql("SELECT count(*) FROM offers"), "1");
  EXPECT_EQ(s().get_offer(a.id)->updated_at, a.updated_at);
  EXPECT_EQ(sql("SELECT revision FROM offers_revision"), revision);
}

TEST_F(Offers, TheTableRefusesWhatTheDomainWouldEvenWhenWrittenAround) {
  create_offer(offer_input("a", true));
  // A second active offer, an over-long list, a list of non-strings, an empty name.
  for (const char* insert :
       {"INSERT INTO offers (name, active) VALUES ('b', true)",
        "INSERT INTO offers (name, value_props) SELECT 'c', jsonb_agg(g::text) FROM "
        "generate_series(1, 51) g",
        "INSERT INTO offers (name, ideal_use_cases) VALUES ('d', '[1, 2]')",
        "INSERT INTO offers (name) VALUES ('')"})
    EXPECT_THROW(sql(insert), std::runtime_error) << insert;
  EXPECT_EQ(sql("SELECT count(*) FROM offers"), "1");
}

// Writers on their own connections activate offers as fast as they can. Without writes running
// one at a time, two concurrent activations both miss the other's offer when they deactivate,
// and the second fails on the one-active index; with it, every write succeeds, one offer is
// active at the end, and it is the one of the last revision.
TEST_F(Offers, ConcurrentActivationsAllSucceedAndLeaveExactlyOneActive) {
  constexpr int kWriters = 8;
  constexpr int kRounds = 10;
  auto pool = Database::connect(url_, kWriters);
  ASSERT_TRUE(pool) << pool.error().message;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kWriters; ++i)
    ids.push_back(create_offer(offer_input("o" + std::to_string(i))).id);

  std::atomic<bool> go{false};
  std::vector<std::vector<Result<OfferChange>>> outcomes(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&, w] {
      auto session = (*pool)->session();
      if (!session) return;
      while (!go) std::this_thread::yield();
      for (int round = 0; round < kRounds; ++round) {
        // Half the rounds activate an existing offer, the other half create an active one.
        if (round % 2 == 0)
          outcomes[w].push_back(session->replace_offer(ids[w], offer_input("o", true)));
        else
          outcomes[w].push_back(session->create_offer(offer_input("n", true)));
      }
    });
  go = true;
  for (auto& t : writers) t.join();

  std::set<std::int64_t> revisions;
  const OfferChange* last = nullptr;
  for (const auto& writer : outcomes) {
    ASSERT_EQ(writer.size(), std::size_t{kRounds});
    for (const auto& outcome : writer) {
      ASSERT_TRUE(outcome) << outcome.error().message;
      // In its own transaction, the offer written is the active one.
      ASSERT_TRUE(outcome->active.offer);
      EXPECT_EQ(outcome->active.offer->id, outcome->offer.id);
      revisions.insert(outcome->active.revision);
      if (!last || outcome->active.revision > last->active.revision) last = &*outcome;
    }
  }
  EXPECT_EQ(revisions.size(), std::size_t{kWriters * kRounds});  // one revision per write
  EXPECT_EQ(sql("SELECT count(*) FROM offers WHERE active"), "1");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(active_ids(), std::to_string(last->offer.id));
  auto now = s().active_offer();
  ASSERT_TRUE(now && now->offer);
  EXPECT_EQ(now->revision, last->active.revision);
  EXPECT_EQ(now->offer->id, last->offer.id);
}

TEST_F(Offers, AnAnalysisKeepsTheIdOfTheOfferItWasScoredAgainst) {
  const domain::Offer offer = create_offer(offer_input("a", true));
  const domain::Lead lead = create();
  domain::Analysis with = analysis_of(lead, 0.5);
  with.features.offer = std::make_shared<const domain::OfferView>(
      domain::OfferView{offer.id, R"({"id":1,"name":"a"})"});
  ASSERT_TRUE(s().append_analysis(with));
  ASSERT_TRUE(s().append_analysis(analysis_of(lead, 0.5)));
  auto history = s().lead_history(lead.id);
  ASSERT_TRUE(history) << history.error().message;
  ASSERT_EQ(history->analyses.size(), 2u);
  ASSERT_TRUE(history->analyses[0].features.offer);
  EXPECT_EQ(history->analyses[0].features.offer->id, offer.id);
  EXPECT_FALSE(history->analyses[1].features.offer);
  EXPECT_EQ(sql("SELECT features->>'offer_id' FROM analyses ORDER BY id LIMIT 1"),
            std::to_string(offer.id));
}

}  // namespace
}  // namespace leadscore::store::testing
