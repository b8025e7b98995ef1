// The webhook outbox in the store: events written in the transaction of the change that caused
// them, one delivery per subscribed webhook, none for a change that failed or that no webhook
// subscribes to; and the dispatchers' claims: one claimant per delivery, in order per lead and
// webhook, settled by the attempts recorded; the operator's list and retry.
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/engine/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using domain::DeliveryStatus;
using domain::ErrorCode;
using domain::EventType;
using domain::LeadStage;
using domain::SaleStage;
using namespace std::chrono_literals;

class Outbox : public Store {
 protected:
  void subscribe(std::initializer_list<std::pair<EventType, std::vector<std::string>>> hooks) {
    WebhookSubscriptions subscriptions;
    for (const auto& [type, names] : hooks) subscriptions.of(type) = names;
    db_->set_webhook_subscriptions(std::move(subscriptions));
  }

  std::string events(const std::string& where = "true") {
    return sql(
        "SELECT coalesce(string_agg(type || '@' || lead_id, ' ' ORDER BY id), '')"
        " FROM webhook_events WHERE " +
        where);
  }
  std::string deliveries(const std::string& where = "true") {
    return sql(
        "SELECT coalesce(string_agg(e.type || '>' || d.webhook, ' ' ORDER BY d.id), '')"
        " FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id WHERE " +
        where);
  }

  domain::Sale hand_off(const domain::Lead& lead) {
    auto changed = s().change_lead_stage(lead.id, LeadStage::Transferred, "closer", {});
    if (!changed || !changed->sale) throw std::runtime_error("handoff failed");
    return *changed->sale;
  }

  std::vector<ClaimedDelivery> claim(const std::string& dispatcher, int limit = 10,
                                     std::vector<std::string> hooks = {"crm", "audit"}) {
    auto claimed = s().claim_webhook_deliveries(hooks, dispatcher, limit, 30s);
    if (!claimed) throw std::runtime_error("claim: " + claimed.error().message);
    return *claimed;
  }

  void settle(const ClaimedDelivery& d, const std::string& dispatcher, DeliveryStatus next,
              std::optional<int> status = 200) {
    DeliveryAttemptOutcome outcome;
    outcome.status_code = status;
    outcome.next = next;
    outcome.latency_ms = 1.5;
    auto recorded = s().record_webhook_attempt(d.id, dispatcher, outcome);
    if (!recorded) throw std::runtime_error("record: " + recorded.error().message);
  }
};

TEST_F(Outbox, HandoffWritesItsEventForEachSubscribedWebhook) {
  subscribe({{EventType::LeadTransferred, {"crm", "audit"}}});
  const domain::Lead lead = qualified_lead();
  const domain::Sale sale = hand_off(lead);
  EXPECT_EQ(events(), "lead.transferred@" + std::to_string(lead.id));
  EXPECT_EQ(deliveries(), "lead.transferred>crm lead.transferred>audit");
  const auto data = nlohmann::json::parse(sql("SELECT data FROM webhook_events"));
  EXPECT_EQ(data["lead"]["id"], lead.id);
  EXPECT_EQ(data["lead"]["stage"], "transferred");
  EXPECT_EQ(data["lead"]["business_domain"], "fintech");
  EXPECT_EQ(data["sale"]["id"], sale.id);
  EXPECT_EQ(data["actor"], "closer");
}

TEST_F(Outbox, RejectedHandoffAndUnsubscribedChangesWriteNoEvent) {
  subscribe({{EventType::LeadTransferred, {"crm"}}});
  const domain::Lead unscored = move(create(new_lead("partner", "fintech")), LeadStage::Contacted);
  auto rejected = s().change_lead_stage(unscored.id, LeadStage::Transferred, "closer", {});
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code, ErrorCode::HandoffRejected);
  // Analyses and sale changes: nobody subscribes to them here.
  const domain::Sale sale = hand_off(qualified_lead());
  ASSERT_TRUE(s().change_sale_stage(sale.id, SaleStage::Kyc, "closer"));
  EXPECT_EQ(events(), "lead.transferred@" + std::to_string(sale.lead_id));
}

TEST_F(Outbox, AFailedChangeWritesNoEventAndAFailedEventFailsTheChange) {
  subscribe({{EventType::LeadTransferred, {"crm"}}});
  const domain::Lead lead = qualified_lead();
  // The event cannot be written: the handoff fails whole, nothing of it stays.
  sql("ALTER TABLE webhook_events ADD CONSTRAINT no_events CHECK (false)");
  auto failed = s().change_lead_stage(lead.id, LeadStage::Transferred, "closer", {});
  ASSERT_FALSE(failed);
  EXPECT_EQ(s().get_lead(lead.id)->stage, LeadStage::Qualified);
  EXPECT_EQ(sql("SELECT count(*) FROM sales"), "0");
  sql("ALTER TABLE webhook_events DROP CONSTRAINT no_events");
  hand_off(lead);
  EXPECT_EQ(events(), "lead.transferred@" + std::to_string(lead.id));
}

TEST_F(Outbox, SaleStageChangesWriteStageChangedAndPaidOrLost) {
  subscribe({{EventType::SaleStageChanged, {"crm"}},
             {EventType::SalePaid, {"crm", "audit"}},
             {EventType::SaleLost, {"audit"}}});
  const domain::Sale paid = hand_off(qualified_lead());
  for (SaleStage to : {SaleStage::Kyc, SaleStage::Agreement, SaleStage::Paid})
    ASSERT_TRUE(s().change_sale_stage(paid.id, to, "closer"));
  const domain::Sale lost = hand_off(qualified_lead());
  ASSERT_TRUE(s().change_sale_stage(lost.id, SaleStage::Lost, "closer"));
  const std::string p = std::to_string(paid.lead_id), l = std::to_string(lost.lead_id);
  EXPECT_EQ(events(), "sale.stage_changed@" + p + " sale.stage_changed@" + p +
                          " sale.stage_changed@" + p + " sale.paid@" + p + " sale.stage_changed@" +
                          l + " sale.lost@" + l);
  EXPECT_EQ(deliveries("e.type <> 'sale.stage_changed'"),
            "sale.paid>crm sale.paid>audit sale.lost>audit");
  const auto data =
      nlohmann::json::parse(sql("SELECT data FROM webhook_events WHERE type = 'sale.paid'"));
  EXPECT_EQ(data["from"], "agreement");
  EXPECT_EQ(data["to"], "paid");
  EXPECT_EQ(data["sale"]["stage"], "paid");
  EXPECT_EQ(data["lead_id"], paid.lead_id);
}

TEST_F(Outbox, StoredAnalysesWriteAnalysisCompletedOneByOneAndInBatches) {
  subscribe({{EventType::AnalysisCompleted, {"crm"}}});
  domain::Lead a = create(), b = create(), gone_final = create();
  // One by one.
  auto stored = s().record_analysis(a, analysis_of(a, 0.7), true);
  ASSERT_TRUE(stored) << stored.error().message;
  // A batch: two of b (both stored, in order), one of a lead that is final (not stored).
  gone_final = move(gone_final, LeadStage::Lost);
  const domain::Analysis b1 = analysis_of(b, 0.2), b2 = analysis_of(b, 0.9),
                         f = analysis_of(gone_final, 0.5);
  const AnalysisToRecord batch[] = {{&b, &b1}, {&b, &b2}, {&gone_final, &f}};
  const auto outcomes = s().record_analyses(batch);
  ASSERT_TRUE(outcomes[0] && outcomes[1]);
  ASSERT_FALSE(outcomes[2]);
  EXPECT_EQ(events(), "analysis.completed@" + std::to_string(a.id) + " analysis.completed@" +
                          std::to_string(b.id) + " analysis.completed@" + std::to_string(b.id));
  EXPECT_EQ(deliveries(), "analysis.completed>crm analysis.completed>crm analysis.completed>crm");
  EXPECT_EQ(sql("SELECT string_agg((data->>'score'), ' ' ORDER BY id) FROM webhook_events"
                " WHERE lead_id = " +
                std::to_string(b.id)),
            "0.2 0.9");
  const auto data =
      nlohmann::json::parse(sql("SELECT data FROM webhook_events ORDER BY id LIMIT 1"));
  EXPECT_EQ(data["recommendation"], "transfer_to_sales");
  EXPECT_EQ(data["scorer"]["name"], "heuristic");
  EXPECT_EQ(data["analyzed_at"], stored->ai_analyzed_at.value_or(""));
}

TEST_F(Outbox, AJobsSetWriteWritesAnalysisCompletedForEachLeadItStored) {
  subscribe({{EventType::AnalysisCompleted, {"crm", "audit"}}});
  domain::Lead a = create(), b = create(), lost = create();
  lost = move(lost, LeadStage::Lost);
  const domain::Analysis for_a = analysis_of(a, 0.4), for_b = analysis_of(b, 0.8),
                         for_lost = analysis_of(lost, 0.5);
  const AnalysisToRecord set[] = {{&a, &for_a}, {&b, &for_b}, {&lost, &for_lost}};
  auto written = s().record_analysis_set(set, {});
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ((*written)[2], SetOutcome::Final);
  EXPECT_EQ(events(), "analysis.completed@" + std::to_string(a.id) + " analysis.completed@" +
                          std::to_string(b.id));
  EXPECT_EQ(deliveries(),
            "analysis.completed>crm analysis.completed>audit analysis.completed>crm "
            "analysis.completed>audit");
  const auto data = nlohmann::json::parse(
      sql("SELECT data FROM webhook_events WHERE lead_id = " + std::to_string(b.id)));
  EXPECT_EQ(data["score"], 0.8);
  EXPECT_EQ(data["analyzed_at"], s().get_lead(b.id)->ai_analyzed_at.value_or(""));
}

TEST_F(Outbox, AnalysesWriteNoEventWithoutASubscriber) {
  subscribe({{EventType::LeadTransferred, {"crm"}}});
  domain::Lead a = create(), b = create();
  ASSERT_TRUE(s().record_analysis(a, analysis_of(a, 0.7), true));
  const domain::Analysis b1 = analysis_of(b, 0.2);
  const AnalysisToRecord batch[] = {{&b, &b1}};
  ASSERT_TRUE(s().record_analyses(batch)[0]);
  domain::Lead c = create();
  const domain::Analysis for_c = analysis_of(c, 0.3);
  const AnalysisToRecord set[] = {{&c, &for_c}};
  ASSERT_TRUE(s().record_analysis_set(set, {}));
  EXPECT_EQ(sql("SELECT count(*) FROM webhook_events"), "0");
}

TEST_F(Outbox, ADeliveryIsClaimedByOneDispatcherAtATime) {
  subscribe({{EventType::LeadTransferred, {"crm"}}});
  hand_off(qualified_lead());
  hand_off(qualified_lead());
  const auto first = claim("one", 1);
  ASSERT_EQ(first.size(), 1u);
  const auto second = claim("two", 10);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(first[0].id, second[0].id);
  EXPECT_TRUE(claim("three").empty());
  // Another server's webhook names claim nothing.
  EXPECT_TRUE(claim("four", 10, {"elsewhere"}).empty());
  EXPECT_EQ(first[0].event_type, EventType::LeadTransferred);
  EXPECT_EQ(nlohmann::json::parse(first[0].data)["actor"], "closer");
  EXPECT_EQ(first[0].attempts, 0);
}

TEST_F(Outbox, ALeadsLaterEventWaitsUntilTheEarlierIsDeliveredOrDead) {
  subscribe(
      {{EventType::LeadTransferred, {"crm"}}, {EventType::SaleStageChanged, {"crm", "audit"}}});
  const domain::Sale sale = hand_off(qualified_lead());
  ASSERT_TRUE(s().change_sale_stage(sale.id, SaleStage::Kyc, "closer"));
  ASSERT_TRUE(s().change_sale_stage(sale.id, SaleStage::Agreement, "closer"));
  // crm: transferred, then two stage changes; audit: the two stage changes.
  auto claimed = claim("one");
  ASSERT_EQ(claimed.size(), 2u);  // the first of each webhook only
  EXPECT_EQ(claimed[0].event_type, EventType::LeadTransferred);
  EXPECT_EQ(claimed[1].webhook, "audit");
  // A failed attempt, due again at once: still nothing after it.
  settle(claimed[0], "one", DeliveryStatus::Failed, 503);
  auto again = claim("two");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, claimed[0].id);
  EXPECT_EQ(again[0].attempts, 1);
  settle(again[0], "two", DeliveryStatus::Dead, 503);
  // Dead: the next of crm goes; delivered: the next of audit goes.
  settle(claimed[1], "one", DeliveryStatus::Delivered);
  auto next = claim("one");
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].event_type, EventType::SaleStageChanged);
  EXPECT_EQ(next[0].webhook, "crm");
  EXPECT_EQ(next[1].webhook, "audit");
  EXPECT_GT(next[1].event_id, claimed[1].event_id);
}

TEST_F(Outbox, AClaimWhoseLeaseRanOutIsClaimedAgainAndAttemptsAreRecorded) {
  subscribe({{EventType::LeadTransferred, {"crm"}}});
  hand_off(qualified_lead());
  auto claimed = s().claim_webhook_deliveries(std::vector<std::string>{"crm"}, "gone", 1, 1ms);
  ASSERT_TRUE(claimed && claimed->size() == 1);
  std::this_thread::sleep_for(20ms);
  const auto again = claim("alive");
  ASSERT_EQ(again.size(), 1u);
  // The one that went away records late: the attempt is kept, the state is the claimant's.
  settle((*claimed)[0], "gone", DeliveryStatus::Dead, 500);
  settle(again[0], "alive", DeliveryStatus::Delivered, 204);
  auto page = s().list_webhook_deliveries({}, {});
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->items.size(), 1u);
  const WebhookDelivery& d = page->items[0];
  EXPECT_EQ(d.status, DeliveryStatus::Delivered);
  EXPECT_EQ(d.attempt_count, 1);
  ASSERT_EQ(d.attempts.size(), 2u);
  EXPECT_EQ(d.attempts[0].status_code, 500);
  EXPECT_EQ(d.attempts[0].server, "gone");
  EXPECT_EQ(d.attempts[1].status_code, 204);
  EXPECT_TRUE(d.delivered_at.has_value());
  EXPECT_FALSE(d.last_error.has_value());
}

TEST_F(Outbox, RetrySendsADeadDeliveryAgainAndRefusesADeliveredOne) {
  subscribe({{EventType::LeadTransferred, {"crm", "audit"}}});
  hand_off(qualified_lead());
  auto claimed = claim("one");
  ASSERT_EQ(claimed.size(), 2u);
  DeliveryAttemptOutcome refused;
  refused.error = "Connection refused";
  refused.next = DeliveryStatus::Dead;
  ASSERT_TRUE(s().record_webhook_attempt(claimed[0].id, "one", refused));
  settle(claimed[1], "one", DeliveryStatus::Delivered);

  auto dead = s().list_webhook_deliveries({DeliveryStatus::Dead, {}, {}}, {});
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->items.size(), 1u);
  EXPECT_EQ(dead->items[0].last_error, "Connection refused");
  auto retried = s().retry_webhook_delivery(claimed[0].id);
  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_EQ(retried->status, DeliveryStatus::Pending);
  const auto again = claim("two");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, claimed[0].id);
  EXPECT_LT(again[0].age, 10s);  // counted from the retry

  auto delivered = s().retry_webhook_delivery(claimed[1].id);
  ASSERT_FALSE(delivered);
  EXPECT_EQ(delivered.error().code, ErrorCode::Conflict);
  auto unknown = s().retry_webhook_delivery(999999);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::NotFound);
}

TEST_F(Outbox, DeliveriesListByStatusWebhookAndTypeInPages) {
  subscribe(
      {{EventType::LeadTransferred, {"crm", "audit"}}, {EventType::SaleStageChanged, {"crm"}}});
  for (int i = 0; i < 3; ++i) {
    const domain::Sale sale = hand_off(qualified_lead());
    ASSERT_TRUE(s().change_sale_stage(sale.id, SaleStage::Kyc, "closer"));
  }
  auto crm = s().list_webhook_deliveries({{}, "crm", {}}, {std::nullopt, 4});
  ASSERT_TRUE(crm);
  EXPECT_EQ(crm->items.size(), 4u);
  ASSERT_TRUE(crm->next_after_id);
  auto rest = s().list_webhook_deliveries({{}, "crm", {}}, {crm->next_after_id, 4});
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->items.size(), 2u);
  EXPECT_FALSE(rest->next_after_id);
  auto changes = s().list_webhook_deliveries({{}, {}, EventType::SaleStageChanged}, {});
  ASSERT_TRUE(changes);
  EXPECT_EQ(changes->items.size(), 3u);
  auto pending = s().list_webhook_deliveries({DeliveryStatus::Pending, "audit", {}}, {});
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->items.size(), 3u);
}

}  // namespace
}  // namespace leadscore::store::testing
