// Sales: created by the handoff, moved through their own stages, listed by id.
#include "tests/engine/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using domain::ErrorCode;
using domain::SaleStage;

class SaleStore : public Store {
 protected:
  domain::Sale new_sale() {
    const domain::Lead lead = qualified_lead();
    auto changed = s().change_lead_stage(lead.id, domain::LeadStage::Transferred, "tester", {});
    if (!changed || !changed->sale) throw std::runtime_error("handoff failed");
    return *changed->sale;
  }
};

TEST_F(SaleStore, SaleMovesThroughItsStagesAndRecordsEachChange) {
  const domain::Sale sale = new_sale();
  std::string updated_at = sale.updated_at;
  for (SaleStage to : {SaleStage::Kyc, SaleStage::Agreement, SaleStage::Paid}) {
    auto moved = s().change_sale_stage(sale.id, to, "closer");
    ASSERT_TRUE(moved) << moved.error().message;
    EXPECT_EQ(moved->stage, to);
    EXPECT_EQ(moved->lead_id, sale.lead_id);
    EXPECT_GT(moved->updated_at, updated_at);
    updated_at = moved->updated_at;
  }
  const std::string id = std::to_string(sale.id);
  EXPECT_EQ(sql("SELECT string_agg(coalesce(from_stage, '-') || '>' || to_stage || ':' || actor,"
                " ' ' ORDER BY id) FROM stage_events WHERE sale_id = " +
                id),
            "->new:tester new>kyc:closer kyc>agreement:closer agreement>paid:closer");
  // The lead's history shows lead stages only.
  auto history = s().lead_history(sale.lead_id);
  ASSERT_TRUE(history);
  EXPECT_EQ(history->stage_events.back().to, domain::LeadStage::Transferred);
}

TEST_F(SaleStore, InvalidAndFinalSaleMovesAreInvalidTransitions) {
  const domain::Sale sale = new_sale();
  auto skipped = s().change_sale_stage(sale.id, SaleStage::Paid, "closer");
  ASSERT_FALSE(skipped);
  EXPECT_EQ(skipped.error().code, ErrorCode::InvalidTransition);
  EXPECT_EQ(skipped.error().message, "cannot move sale from new to paid");
  auto same = s().change_sale_stage(sale.id, SaleStage::New, "closer");
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().code, ErrorCode::InvalidTransition);

  ASSERT_TRUE(s().change_sale_stage(sale.id, SaleStage::Lost, "closer"));
  for (SaleStage to : domain::kAllSaleStages) {
    auto moved = s().change_sale_stage(sale.id, to, "closer");
    ASSERT_FALSE(moved);
    EXPECT_EQ(moved.error().code, ErrorCode::InvalidTransition);
    EXPECT_NE(moved.error().message.find("final"), std::string::npos) << moved.error().message;
  }
  EXPECT_EQ(s().get_sale(sale.id)->stage, SaleStage::Lost);
}

TEST_F(SaleStore, UnknownSaleIsNotFound) {
  EXPECT_EQ(s().get_sale(777).error().code, ErrorCode::NotFound);
  EXPECT_EQ(s().change_sale_stage(777, SaleStage::Kyc, "closer").error().code, ErrorCode::NotFound);
}

TEST_F(SaleStore, ListSalesPagesById) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(new_sale().id);
  auto first = s().list_sales({}, {.after_id = std::nullopt, .limit = 2});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].id, ids[0]);
  ASSERT_TRUE(first->next_after_id);
  auto rest = s().list_sales({}, {.after_id = first->next_after_id, .limit = 2});
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->items.size(), 1u);
  EXPECT_EQ(rest->items[0].id, ids[2]);
  EXPECT_FALSE(rest->next_after_id);
  EXPECT_EQ(s().list_sales({}, {.after_id = std::nullopt, .limit = 0}).error().field, "limit");
}

TEST_F(SaleStore, ListSalesFiltersByLeadAndStage) {
  const domain::Sale first = new_sale();
  const domain::Sale second = new_sale();
  ASSERT_TRUE(s().change_sale_stage(second.id, SaleStage::Kyc, "closer"));
  auto of_lead = s().list_sales({.lead_id = second.lead_id, .stage = std::nullopt}, {});
  ASSERT_TRUE(of_lead) << of_lead.error().message;
  ASSERT_EQ(of_lead->items.size(), 1u);
  EXPECT_EQ(of_lead->items[0].id, second.id);
  auto in_new = s().list_sales({.lead_id = std::nullopt, .stage = SaleStage::New}, {});
  ASSERT_TRUE(in_new);
  ASSERT_EQ(in_new->items.size(), 1u);
  EXPECT_EQ(in_new->items[0].id, first.id);
  auto neither = s().list_sales({.lead_id = first.lead_id, .stage = SaleStage::Kyc}, {});
  ASSERT_TRUE(neither);
  EXPECT_TRUE(neither->items.empty());
}

TEST_F(SaleStore, LeadSaleIsFoundOrSaysWhyNot) {
  const domain::Sale sale = new_sale();
  auto found = s().get_lead_sale(sale.lead_id);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->id, sale.id);
  EXPECT_EQ(found->stage, SaleStage::New);

  const domain::Lead without = create();
  auto none = s().get_lead_sale(without.id);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::NotFound);
  EXPECT_NE(none.error().message.find("has no sale"), std::string::npos) << none.error().message;

  auto missing = s().get_lead_sale(424242);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
  EXPECT_NE(missing.error().message.find("not found"), std::string::npos);
}

}  // namespace
}  // namespace leadscore::store::testing
