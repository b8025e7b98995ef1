#include "engine/domain/offer.h"

#include <gtest/gtest.h>

#include <string>

namespace leadscore::domain {
namespace {

OfferInput valid_offer() {
  OfferInput offer;
  offer.name = "AI Outreach Automation";
  offer.description = "Outreach that books meetings";
  offer.value_props = {"24/7 automated outreach", "6x more qualified meetings"};
  offer.ideal_use_cases = {"B2B SaaS", "Sales teams"};
  offer.active = true;
  return offer;
}

// The field named by the error of `offer`, or "" when it is valid.
std::string refused_field(const OfferInput& offer) {
  auto e = validate(offer);
  return e ? e->field : "";
}

TEST(OfferInput, AcceptsAFullOfferAndTheLimitsThemselves) {
  EXPECT_EQ(validate(valid_offer()), std::nullopt);
  OfferInput at_limits = valid_offer();
  at_limits.name = std::string(kMaxOfferNameBytes, 'n');
  at_limits.description = std::string(kMaxOfferDescriptionBytes, 'd');
  at_limits.value_props.assign(kMaxOfferListItems, std::string(kMaxOfferListItemBytes, 'v'));
  at_limits.ideal_use_cases.assign(kMaxOfferListItems, std::string(kMaxOfferListItemBytes, 'i'));
  EXPECT_EQ(validate(at_limits), std::nullopt);
  OfferInput minimal;
  minimal.name = "x";
  EXPECT_EQ(validate(minimal), std::nullopt);  // no description, empty lists
}

TEST(OfferInput, RefusesAnEmptyBlankOrTooLongName) {
  for (const std::string& name :
       {std::string(), std::string(" \t\n"), std::string(kMaxOfferNameBytes + 1, 'n'),
        std::string("a\0b", 3)}) {
    OfferInput offer = valid_offer();
    offer.name = name;
    auto e = validate(offer);
    ASSERT_TRUE(e.has_value()) << '"' << name << '"';
    EXPECT_EQ(e->code, ErrorCode::Validation);
    EXPECT_EQ(e->field, "name");
    EXPECT_NE(e->message.find("name"), std::string::npos) << e->message;
  }
}

TEST(OfferInput, RefusesATooLongDescriptionButNotAnEmptyOne) {
  OfferInput offer = valid_offer();
  offer.description = "";
  EXPECT_EQ(validate(offer), std::nullopt);
  offer.description = std::string(kMaxOfferDescriptionBytes + 1, 'd');
  EXPECT_EQ(refused_field(offer), "description");
}

TEST(OfferInput, RefusesListsWithTooManyOrBadItemsNamingTheItem) {
  for (auto member : {&OfferInput::value_props, &OfferInput::ideal_use_cases}) {
    const std::string field =
        member == &OfferInput::value_props ? "value_props" : "ideal_use_cases";
    OfferInput offer = valid_offer();
    (offer.*member).assign(kMaxOfferListItems + 1, "x");
    EXPECT_EQ(refused_field(offer), field);

    offer = valid_offer();
    (offer.*member).push_back(std::string(kMaxOfferListItemBytes + 1, 'x'));
    auto e = validate(offer);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->field, field);
    EXPECT_NE(e->message.find(field + "[2]"), std::string::npos) << e->message;

    offer = valid_offer();
    (offer.*member)[0] = "  ";
    EXPECT_EQ(refused_field(offer), field);
  }
}

}  // namespace
}  // namespace leadscore::domain
