// The lead between the ABI's ls_features and plugin::Features, both ways.
#include "plugins/support/lead_features.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>

namespace leadscore::plugin {
namespace {

Features sample() {
  Features f;
  f.source = "partner";
  f.stage = Stage::Qualified;
  f.activity_count = 7;
  f.business_domain = "acme.io";
  f.profile = {{"name", "Ann"}, {"email", std::nullopt}, {"role", "CTO"}, {"linkedin", "in/ann"}};
  return f;
}

TEST(LeadFeatures, RoundTripsThroughTheCStruct) {
  const Features f = sample();
  const CFeatures c(f);
  Features back;
  char err[64] = {};
  ASSERT_TRUE(read_features(c.get(), back, "test", err, sizeof err)) << err;
  EXPECT_EQ(back.source, "partner");
  EXPECT_EQ(back.stage, Stage::Qualified);
  EXPECT_EQ(back.activity_count, 7);
  EXPECT_EQ(back.business_domain, "acme.io");
  EXPECT_EQ(back.profile, f.profile);
}

TEST(LeadFeatures, TheCStructFillsTheNamedMembersAndEveryField) {
  const Features f = sample();
  const CFeatures c(f, "{\"name\": \"offer\"}");
  const ls_features& in = c.get();
  EXPECT_EQ(in.struct_size, sizeof(ls_features));
  EXPECT_STREQ(in.stage, "qualified");
  EXPECT_EQ(in.stage_code, LS_STAGE_QUALIFIED);
  EXPECT_STREQ(in.name, "Ann");
  EXPECT_EQ(in.email, nullptr);
  EXPECT_STREQ(in.role, "CTO");
  EXPECT_EQ(in.bio, nullptr);  // no such field in the lead
  EXPECT_STREQ(in.offer_json, "{\"name\": \"offer\"}");
  ASSERT_EQ(in.field_count, 4u);
  EXPECT_STREQ(in.fields[3].name, "linkedin");
  EXPECT_STREQ(in.fields[3].value, "in/ann");
  EXPECT_EQ(in.fields[1].value, nullptr);
}

TEST(LeadFeatures, AnEngineWithoutFieldsGivesTheNamedMembers) {
  ls_features old{};
  old.struct_size = offsetof(ls_features, fields);
  old.source = "manual";
  old.stage_code = LS_STAGE_LOST;
  old.role = "CEO";
  old.fields = reinterpret_cast<const ls_field*>(0x1);  // past the struct: never read
  Features out;
  char err[64] = {};
  ASSERT_TRUE(read_features(old, out, "test", err, sizeof err)) << err;
  EXPECT_EQ(out.stage, Stage::Lost);
  ASSERT_EQ(out.profile.size(), std::size(kNamedProfileFields));
  EXPECT_EQ(out.profile[2].name, "role");
  EXPECT_EQ(*out.field("role"), "CEO");
  EXPECT_FALSE(*out.field("bio"));
  EXPECT_EQ(out.field("linkedin"), nullptr);
}

TEST(LeadFeatures, ReadingAgainReplacesTheLastLead) {
  Features out;
  char err[64] = {};
  const CFeatures first(sample());
  ASSERT_TRUE(read_features(first.get(), out, "test", err, sizeof err));
  Features shorter;
  shorter.source = "scanner";
  shorter.profile = {{"industry", "retail"}};
  const CFeatures second(shorter);
  ASSERT_TRUE(read_features(second.get(), out, "test", err, sizeof err));
  EXPECT_EQ(out.source, "scanner");
  EXPECT_FALSE(out.business_domain);
  EXPECT_EQ(out.profile, shorter.profile);
}

TEST(LeadFeatures, AnUnknownStageCodeOrANamelessFieldIsAnError) {
  CFeatures c(sample());
  ls_features bad = c.get();
  bad.stage_code = 9;
  Features out;
  char err[64] = {};
  EXPECT_FALSE(read_features(bad, out, "test", err, sizeof err));
  EXPECT_STREQ(err, "test: unknown stage code 9");
  const ls_field nameless[] = {{nullptr, "x"}};
  ls_features no_name = c.get();
  no_name.fields = nameless;
  no_name.field_count = 1;
  EXPECT_FALSE(read_features(no_name, out, "test", err, sizeof err));
  EXPECT_STREQ(err, "test: profile field 0 has no name");
}

TEST(LeadFeatures, StagesByName) {
  for (Stage stage : kAllStages) EXPECT_EQ(parse_stage(to_string(stage)), stage);
  EXPECT_FALSE(parse_stage("won"));
}

TEST(LeadFeatures, SetFieldReplacesOrAdds) {
  Features f;
  f.set_field("role", "CEO");
  f.set_field("role", std::nullopt);
  f.set_field("bio", "x");
  ASSERT_EQ(f.profile.size(), 2u);
  EXPECT_FALSE(*f.field("role"));
  EXPECT_EQ(*f.field("bio"), "x");
}

}  // namespace
}  // namespace leadscore::plugin
