// The lead fields of a CSV row (tools/lead_columns.h): a header row becomes a map from lead
// field to column, and a row becomes a scorer's Features through it. The profile fields come
// from the domain's one list of them (domain::kProfileFields), so a new field needs no change
// here.
#include "tools/lead_columns.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/domain/lead.h"
#include "engine/domain/offer.h"
#include "tools/csv.h"

namespace leadscore::tools {
namespace {

using domain::kProfileFields;
using domain::LeadStage;

// A CSV row and its fields; the fields are views into the row, so both live together.
struct Row {
  explicit Row(std::string text) : text(std::move(text)) { parsed = fields.parse(this->text); }
  std::string text;
  CsvFields fields;
  bool parsed = false;
};

std::string joined(const std::vector<std::string>& cells) {
  std::string out;
  for (const std::string& c : cells) out += (out.empty() ? "" : ",") + c;
  return out;
}

std::expected<ColumnMap, std::string> map_of(const std::string& header) {
  Row row(header);
  EXPECT_TRUE(row.parsed) << header;
  return map_columns(row.fields);
}

// A header with source and every profile field (in reverse order of the list, so that no test
// passes by the list's order alone), and a row with a value of its own in each profile field.
struct ProfileTable {
  ProfileTable() {
    std::vector<std::string> header{"source"}, row{"partner"};
    for (auto it = std::rbegin(kProfileFields); it != std::rend(kProfileFields); ++it) {
      header.emplace_back(it->name);
      row.push_back("value of " + std::string(it->name));
    }
    header_text = joined(header);
    row_text = joined(row);
  }
  std::string header_text, row_text;
};

TEST(LeadColumns, MapsTheLeadColumnsByName) {
  const auto map = map_of("activity_count,stage,source,business_domain");
  ASSERT_TRUE(map) << map.error();
  EXPECT_EQ(map->source, 2);
  EXPECT_EQ(map->stage, 1);
  EXPECT_EQ(map->activity_count, 0);
  EXPECT_EQ(map->business_domain, 3);
  for (std::size_t i = 0; i < domain::kProfileFieldCount; ++i)
    EXPECT_EQ(map->profile[i], -1) << kProfileFields[i].name;
}

TEST(LeadColumns, MapsEveryProfileFieldByItsName) {
  const ProfileTable table;
  const auto map = map_of(table.header_text);
  ASSERT_TRUE(map) << map.error();
  EXPECT_EQ(map->source, 0);
  // Column 1 holds the last field of the list, the last column the first.
  for (std::size_t i = 0; i < domain::kProfileFieldCount; ++i)
    EXPECT_EQ(map->profile[i], static_cast<int>(domain::kProfileFieldCount - i))
        << kProfileFields[i].name;
  EXPECT_EQ(map->stage, -1);
  EXPECT_EQ(map->activity_count, -1);
  EXPECT_EQ(map->business_domain, -1);
}

TEST(LeadColumns, EachProfileFieldAloneLandsInItsOwnSlot) {
  for (std::size_t i = 0; i < domain::kProfileFieldCount; ++i) {
    const auto map = map_of("x," + std::string(kProfileFields[i].name) + ",source");
    ASSERT_TRUE(map) << map.error();
    for (std::size_t k = 0; k < domain::kProfileFieldCount; ++k)
      EXPECT_EQ(map->profile[k], k == i ? 1 : -1)
          << kProfileFields[i].name << " mapped " << kProfileFields[k].name;
  }
}

TEST(LeadColumns, LeavesOtherColumnsAlone) {
  // Names are matched exactly: other case, spaces or score columns are not lead fields.
  const auto map = map_of("id,source,ai_score,Name, email,STAGE,notes");
  ASSERT_TRUE(map) << map.error();
  EXPECT_EQ(map->source, 1);
  EXPECT_EQ(map->stage, -1);
  EXPECT_EQ(map->activity_count, -1);
  EXPECT_EQ(map->business_domain, -1);
  for (int column : map->profile) EXPECT_EQ(column, -1);
}

TEST(LeadColumns, RefusesAHeaderThatRepeatsAColumn) {
  for (const std::string header :
       {"source,source", "source,stage,stage", "source,name,name", "notes,source,notes"}) {
    const auto map = map_of(header);
    ASSERT_FALSE(map) << header;
    EXPECT_NE(map.error().find("repeats column"), std::string::npos) << map.error();
  }
  EXPECT_EQ(map_of("source,email,email").error(), "the header repeats column email");
}

TEST(LeadColumns, RefusesAHeaderWithoutSource) {
  for (const std::string header : {"name,stage,activity_count", "Source", "sources", ""}) {
    const auto map = map_of(header);
    ASSERT_FALSE(map) << header;
    EXPECT_EQ(map.error(), "the header has no source column");
  }
}

TEST(LeadColumns, MapsAWideHeader) {
  // Many other columns cost no more than reading them; the lead's columns are still found.
  std::vector<std::string> header;
  for (int i = 0; i < 5000; ++i) header.push_back("extra_" + std::to_string(i));
  header.emplace_back("source");
  header.emplace_back(kProfileFields[0].name);
  const auto map = map_of(joined(header));
  ASSERT_TRUE(map) << map.error();
  EXPECT_EQ(map->source, 5000);
  EXPECT_EQ(map->profile[0], 5001);
}

TEST(LeadColumns, CellIsEmptyForAMissingColumn) {
  const Row row("a,b,,d");
  ASSERT_TRUE(row.parsed);
  EXPECT_EQ(cell(row.fields, -1), "");
  EXPECT_EQ(cell(row.fields, 0), "a");
  EXPECT_EQ(cell(row.fields, 1), "b");
  EXPECT_EQ(cell(row.fields, 2), "");
  EXPECT_EQ(cell(row.fields, 3), "d");
}

TEST(LeadColumns, ReadsTheLeadFieldsOfARow) {
  const auto map = map_of("business_domain,source,stage,activity_count,notes");
  ASSERT_TRUE(map);
  const Row row("example.com,partner,qualified,12,\"not, a field\"");
  ASSERT_TRUE(row.parsed);
  domain::Features features;
  ASSERT_TRUE(read_features(*map, row.fields, features));
  EXPECT_EQ(features.source, "partner");
  EXPECT_EQ(features.stage, LeadStage::Qualified);
  EXPECT_EQ(features.activity_count, 12);
  EXPECT_EQ(features.business_domain, "example.com");
  domain::for_each_profile_field(features.profile, [](const char* name, const auto& value) {
    EXPECT_FALSE(value.has_value()) << name;
  });
}

TEST(LeadColumns, ReadsEveryProfileFieldFromItsColumn) {
  const ProfileTable table;
  const auto map = map_of(table.header_text);
  ASSERT_TRUE(map) << map.error();
  const Row row(table.row_text);
  ASSERT_TRUE(row.parsed);
  domain::Features features;
  ASSERT_TRUE(read_features(*map, row.fields, features));
  int visited = 0;
  domain::for_each_profile_field(features.profile, [&](const char* name, const auto& value) {
    ++visited;
    ASSERT_TRUE(value.has_value()) << name;
    EXPECT_EQ(*value, "value of " + std::string(name));
  });
  EXPECT_EQ(visited, static_cast<int>(domain::kProfileFieldCount));
}

TEST(LeadColumns, MissingColumnsGiveTheDefaults) {
  const auto map = map_of("source");
  ASSERT_TRUE(map);
  const Row row("scanner");
  domain::Features features;
  ASSERT_TRUE(read_features(*map, row.fields, features));
  EXPECT_EQ(features.source, "scanner");
  EXPECT_EQ(features.stage, LeadStage::New);
  EXPECT_EQ(features.activity_count, 0);
  EXPECT_FALSE(features.business_domain.has_value());
}

TEST(LeadColumns, AnEmptyCellIsAnAbsentField) {
  const ProfileTable table;
  const auto map = map_of(table.header_text + ",stage,activity_count,business_domain");
  ASSERT_TRUE(map);
  std::string empty_row = "partner";
  for (std::size_t i = 0; i < domain::kProfileFieldCount + 3; ++i) empty_row += ",";
  const Row row(empty_row);
  ASSERT_TRUE(row.parsed);
  domain::Features features;
  ASSERT_TRUE(read_features(*map, row.fields, features));
  EXPECT_EQ(features.stage, LeadStage::New);
  EXPECT_EQ(features.activity_count, 0);
  EXPECT_FALSE(features.business_domain.has_value());
  domain::for_each_profile_field(features.profile, [](const char* name, const auto& value) {
    EXPECT_FALSE(value.has_value()) << name;
  });
}

TEST(LeadColumns, AReusedFeaturesKeepsNothingOfTheRowBefore) {
  // A worker reads all its rows into one Features: every field is set again by every row.
  const ProfileTable table;
  const auto map = map_of(table.header_text + ",stage,activity_count,business_domain");
  ASSERT_TRUE(map);
  const Row full(table.row_text + ",contacted,9,example.com");
  std::string sparse_text = "manual";
  for (std::size_t i = 0; i < domain::kProfileFieldCount + 3; ++i) sparse_text += ",";
  const Row sparse(sparse_text);
  ASSERT_TRUE(full.parsed && sparse.parsed);

  domain::Features features;
  const auto offer = std::make_shared<const domain::OfferView>();
  features.offer = offer;
  ASSERT_TRUE(read_features(*map, full.fields, features));
  ASSERT_EQ(features.stage, LeadStage::Contacted);
  ASSERT_EQ(features.activity_count, 9);
  ASSERT_TRUE(features.business_domain.has_value());

  ASSERT_TRUE(read_features(*map, sparse.fields, features));
  EXPECT_EQ(features.source, "manual");
  EXPECT_EQ(features.stage, LeadStage::New);
  EXPECT_EQ(features.activity_count, 0);
  EXPECT_FALSE(features.business_domain.has_value());
  domain::for_each_profile_field(features.profile, [](const char* name, const auto& value) {
    EXPECT_FALSE(value.has_value()) << name << " kept the row before's value";
  });
  EXPECT_EQ(features.offer, offer);  // the offer is the caller's, not the row's

  ASSERT_TRUE(read_features(*map, full.fields, features));
  domain::for_each_profile_field(features.profile, [](const char* name, const auto& value) {
    EXPECT_EQ(value, "value of " + std::string(name));
  });
}

TEST(LeadColumns, RefusesARowWithoutSource) {
  const auto map = map_of("name,source");
  ASSERT_TRUE(map);
  const Row row("Ada,");
  domain::Features features;
  const auto read = read_features(*map, row.fields, features);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), "source is empty");
}

TEST(LeadColumns, ReadsEveryLeadStageByItsName) {
  const auto map = map_of("source,stage");
  ASSERT_TRUE(map);
  for (LeadStage stage : domain::kAllLeadStages) {
    const Row row("partner," + std::string(domain::to_string(stage)));
    domain::Features features;
    ASSERT_TRUE(read_features(*map, row.fields, features)) << domain::to_string(stage);
    EXPECT_EQ(features.stage, stage);
  }
}

TEST(LeadColumns, RefusesAnUnknownStageNamingIt) {
  const auto map = map_of("source,stage");
  ASSERT_TRUE(map);
  for (const std::string stage : {"won", "Qualified", " new", "NEW"}) {
    const Row row("partner," + stage);
    domain::Features features;
    const auto read = read_features(*map, row.fields, features);
    ASSERT_FALSE(read) << stage;
    EXPECT_EQ(read.error(), "stage '" + stage + "' is not a lead stage");
  }
}

TEST(LeadColumns, ReadsAnActivityCountThatIsAWholeNumberAtLeastZero) {
  const auto map = map_of("source,activity_count");
  ASSERT_TRUE(map);
  for (const auto& [text, value] : std::vector<std::pair<std::string, std::int64_t>>{
           {"0", 0}, {"7", 7}, {"0012", 12}, {"9223372036854775807", INT64_MAX}}) {
    const Row row("partner," + text);
    domain::Features features;
    ASSERT_TRUE(read_features(*map, row.fields, features)) << text;
    EXPECT_EQ(features.activity_count, value) << text;
  }
}

TEST(LeadColumns, RefusesAnActivityCountThatIsNot) {
  const auto map = map_of("source,activity_count");
  ASSERT_TRUE(map);
  for (const std::string text : {"-1", "1.5", "3 ", " 3", "+3", "three", "1e3", "0x10",
                                 "9223372036854775808", "99999999999999999999"}) {
    const Row row("partner,\"" + text + "\"");
    ASSERT_TRUE(row.parsed);
    domain::Features features;
    const auto read = read_features(*map, row.fields, features);
    ASSERT_FALSE(read) << text;
    EXPECT_EQ(read.error(), "activity_count '" + text + "' is not an integer >= 0");
  }
}

TEST(LeadColumns, KeepsQuotedTextAsItIs) {
  const auto map = map_of(std::string("source,") + std::string(kProfileFields[0].name));
  ASSERT_TRUE(map);
  const Row row("partner,\"Doe, \"\"Ada\"\"\nsecond line\"");
  ASSERT_TRUE(row.parsed);
  domain::Features features;
  ASSERT_TRUE(read_features(*map, row.fields, features));
  std::optional<std::string> first;
  domain::for_each_profile_field(features.profile, [&](const char* name, const auto& value) {
    if (name == kProfileFields[0].name) first = value;
  });
  EXPECT_EQ(first, "Doe, \"Ada\"\nsecond line");
}

}  // namespace
}  // namespace leadscore::tools
