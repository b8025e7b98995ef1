#include "engine/domain/lead_input.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace leadscore::domain {
namespace {

const std::vector<std::string> kSources{"scanner", "partner", "manual"};

NewLead valid_lead() {
  NewLead lead;
  lead.source = "partner";
  lead.business_domain = "example.com";
  lead.activity_count = 3;
  lead.profile.name = "Ada";
  lead.profile.email = "ada@example.com";
  return lead;
}

// Sets one text field of a new lead or a patch by its name: business_domain, or a profile field
// found through the domain's one list of them.
template <typename Fields>
void set_text_field(std::optional<std::string>& business_domain, Fields& profile,
                    std::string_view field, std::string value) {
  bool found = field == "business_domain";
  if (found) business_domain = value;
  for_each_profile_field(profile, [&](const char* name, auto& member) {
    if (field != name) return;
    member = value;
    found = true;
  });
  if (!found) FAIL() << "unknown field " << field;
}

void set_field(NewLead& lead, std::string_view field, std::string value) {
  set_text_field(lead.business_domain, lead.profile, field, std::move(value));
}

void set_field(LeadPatch& patch, std::string_view field, std::string value) {
  std::optional<std::string> business_domain;
  set_text_field(business_domain, patch, field, std::move(value));
  if (business_domain) patch.business_domain = std::move(business_domain);
}

TEST(LeadInput, AcceptsAValidLead) { EXPECT_EQ(validate(valid_lead(), kSources), std::nullopt); }

TEST(LeadInput, AcceptsEveryConfiguredSource) {
  for (const auto& source : kSources) {
    NewLead lead = valid_lead();
    lead.source = source;
    EXPECT_EQ(validate(lead, kSources), std::nullopt) << source;
  }
}

TEST(LeadInput, RequiresSource) {
  NewLead lead = valid_lead();
  lead.source = "";
  auto error = validate(lead, kSources);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, ErrorCode::Validation);
  EXPECT_EQ(error->field, "source");
  EXPECT_NE(error->message.find("source"), std::string::npos) << error->message;
}

TEST(LeadInput, RejectsUnknownSourceListingTheAllowedOnes) {
  NewLead lead = valid_lead();
  lead.source = "fax";
  auto error = validate(lead, kSources);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->field, "source");
  for (const auto& source : kSources)
    EXPECT_NE(error->message.find(source), std::string::npos) << error->message;
}

TEST(LeadInput, SourcesAreConfigurable) {
  NewLead lead = valid_lead();
  lead.source = "webinar";
  EXPECT_EQ(validate(lead, {"webinar"}), std::nullopt);
  lead.source = "partner";
  EXPECT_TRUE(validate(lead, {"webinar"}));
}

TEST(LeadInput, RejectsNegativeActivityCount) {
  NewLead lead = valid_lead();
  lead.activity_count = -1;
  auto error = validate(lead, kSources);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->field, "activity_count");
  EXPECT_NE(error->message.find("activity_count"), std::string::npos) << error->message;
  lead.activity_count = 0;
  EXPECT_EQ(validate(lead, kSources), std::nullopt);
}

TEST(LeadInput, MaxLengthsPerField) {
  EXPECT_EQ(max_length("bio"), 4000u);
  EXPECT_EQ(max_length("email"), 320u);
  EXPECT_EQ(max_length("phone"), 64u);
  EXPECT_EQ(max_length("website"), 2048u);
  for (auto field : {"business_domain", "name", "role", "company", "industry", "location"})
    EXPECT_EQ(max_length(field), 200u) << field;
}

TEST(LeadInput, TextFieldNamesListBusinessDomainThenProfile) {
  EXPECT_EQ(text_field_names(),
            (std::vector<std::string_view>{"business_domain", "name", "email", "role", "company",
                                           "industry", "location", "bio", "phone", "website"}));
}

TEST(LeadInput, AcceptsEveryTextFieldAtItsMaxLength) {
  for (auto field : text_field_names()) {
    NewLead lead = valid_lead();
    set_field(lead, field, std::string(max_length(field), 'a'));
    EXPECT_EQ(validate(lead, kSources), std::nullopt) << field;
  }
}

TEST(LeadInput, TooLongTextNamesTheField) {
  for (auto field : text_field_names()) {
    NewLead lead = valid_lead();
    set_field(lead, field, std::string(max_length(field) + 1, 'a'));
    auto error = validate(lead, kSources);
    ASSERT_TRUE(error) << field;
    EXPECT_EQ(error->code, ErrorCode::Validation);
    EXPECT_EQ(error->field, field);
    EXPECT_TRUE(error->message.starts_with(std::string(field) + " ")) << error->message;
    EXPECT_NE(error->message.find(std::to_string(max_length(field))), std::string::npos)
        << error->message;
  }
}

TEST(LeadInput, NulByteNamesTheField) {
  for (auto field : text_field_names()) {
    NewLead lead = valid_lead();
    set_field(lead, field, std::string("a\0b", 3));
    auto error = validate(lead, kSources);
    ASSERT_TRUE(error) << field;
    EXPECT_EQ(error->field, field);
    EXPECT_TRUE(error->message.starts_with(std::string(field) + " ")) << error->message;
  }
}

TEST(LeadInput, TextThatIsNotUtf8NamesTheField) {
  for (auto field : text_field_names()) {
    for (const std::string bad : {"caf\xe9", "\xc0\xaf", "\xed\xa0\x80", "ok\xe2\x82"}) {
      NewLead lead = valid_lead();
      set_field(lead, field, bad);
      auto error = validate(lead, kSources);
      ASSERT_TRUE(error) << field;
      EXPECT_EQ(error->field, field);
      EXPECT_EQ(error->message, std::string(field) + " is not valid UTF-8");
    }
  }
}

TEST(LeadInput, AcceptsUtf8TextWithLineBreaks) {
  NewLead lead = valid_lead();
  lead.profile.bio = "Zoë Ñúñez, 東京\r\nsecond line \xf0\x9f\x9a\x80";
  EXPECT_EQ(validate(lead, kSources), std::nullopt);
}

TEST(LeadPatchInput, EmptyPatchIsEmpty) {
  LeadPatch patch;
  EXPECT_TRUE(patch.empty());
  EXPECT_EQ(validate(patch), std::nullopt);
  patch.bio = std::optional<std::string>{};  // clearing a field is a change
  EXPECT_FALSE(patch.empty());
}

TEST(LeadPatchInput, TooLongTextNamesTheField) {
  for (auto field : text_field_names()) {
    LeadPatch patch;
    set_field(patch, field, std::string(max_length(field) + 1, 'x'));
    auto error = validate(patch);
    ASSERT_TRUE(error) << field;
    EXPECT_EQ(error->code, ErrorCode::Validation);
    EXPECT_EQ(error->field, field);
    EXPECT_TRUE(error->message.starts_with(std::string(field) + " ")) << error->message;
  }
}

TEST(LeadPatchInput, ApplySetsClearsAndLeavesFields) {
  Lead lead;
  lead.business_domain = "old.example";
  lead.profile.name = "Ada";
  lead.profile.company = "Analytical Engines";
  LeadPatch patch;
  patch.business_domain = "new.example";
  patch.name = std::optional<std::string>{};  // clear
  apply(patch, lead);
  EXPECT_EQ(lead.business_domain, "new.example");
  EXPECT_EQ(lead.profile.name, std::nullopt);
  EXPECT_EQ(lead.profile.company, "Analytical Engines");
}

TEST(LeadPatchInput, BlankBusinessDomainIsAcceptedButCountsAsMissing) {
  Lead lead;
  lead.business_domain = "example.com";
  LeadPatch patch;
  patch.business_domain = "   ";
  EXPECT_EQ(validate(patch), std::nullopt);
  apply(patch, lead);
  EXPECT_FALSE(has_business_domain(lead));
}

}  // namespace
}  // namespace leadscore::domain
