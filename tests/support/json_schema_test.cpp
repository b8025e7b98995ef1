// The JSON Schema checker the API tests check every answer with (json_schema.h): it must refuse
// what each keyword forbids, or the answers' checks could not fail.
#include "tests/support/json_schema.h"

#include <gtest/gtest.h>

namespace leadscore::testing {
namespace {

using nlohmann::json;

const json kDocument = json::parse(R"({
  "components": {"schemas": {
    "Point": {"type": "object", "properties": {"x": {"type": "integer", "minimum": 0},
              "y": {"type": ["number", "null"], "maximum": 1}},
              "required": ["x"], "additionalProperties": false},
    "Tag": {"type": "string", "enum": ["a", "b"]}
  }}
})");

std::vector<std::string> check(const json& value, const json& schema) {
  return JsonSchemaChecker(kDocument).check(value, schema);
}

const json kPoint = {{"$ref", "#/components/schemas/Point"}};

TEST(JsonSchema, AcceptsWhatConforms) {
  EXPECT_TRUE(check(json{{"x", 3}, {"y", nullptr}}, kPoint).empty());
  EXPECT_TRUE(check(json{{"x", 3.0}, {"y", 0.5}}, kPoint).empty());
  EXPECT_TRUE(check(json::array({"a", "b"}),
                    {{"type", "array"}, {"items", {{"$ref", "#/components/schemas/Tag"}}}})
                  .empty());
}

TEST(JsonSchema, RefusesAWrongTypeMissingMemberOrExtraMember) {
  EXPECT_EQ(check(json{{"x", "3"}}, kPoint).size(), 1u);
  EXPECT_EQ(check(json{{"y", 0}}, kPoint).size(), 1u);
  EXPECT_EQ(check(json{{"x", 1}, {"z", 0}}, kPoint).size(), 1u);
  EXPECT_EQ(check(json{{"x", 1.5}}, kPoint).size(), 1u);
  EXPECT_EQ(check(json::array(), kPoint).size(), 1u);
}

TEST(JsonSchema, RefusesOutOfRangeAndOutOfEnum) {
  EXPECT_EQ(check(json{{"x", -1}}, kPoint).size(), 1u);
  EXPECT_EQ(check(json{{"x", 1}, {"y", 2}}, kPoint).size(), 1u);
  EXPECT_EQ(check("c", {{"$ref", "#/components/schemas/Tag"}}).size(), 1u);
  EXPECT_EQ(check(json::array({"a", "c"}),
                  {{"type", "array"}, {"items", {{"$ref", "#/components/schemas/Tag"}}}})
                .size(),
            1u);
}

TEST(JsonSchema, OneOfWantsExactlyOneAnyOfAtLeastOne) {
  const json one = {{"oneOf", json::array({{{"type", "integer"}}, {{"type", "number"}}})}};
  EXPECT_EQ(check(1, one).size(), 1u);  // both match
  EXPECT_TRUE(check(1.5, one).empty());
  EXPECT_EQ(check("1", one).size(), 1u);
  const json any = {{"anyOf", json::array({{{"type", "integer"}}, {{"type", "number"}}})}};
  EXPECT_TRUE(check(1, any).empty());
  EXPECT_EQ(check(nullptr, any).size(), 1u);
}

TEST(JsonSchema, AllOfNarrowsAndUnknownKeywordsAndRefsAreProblems) {
  const json narrowed = {
      {"allOf", json::array({kPoint, {{"properties", {{"x", {{"enum", {7}}}}}}}})}};
  EXPECT_TRUE(check(json{{"x", 7}}, narrowed).empty());
  EXPECT_EQ(check(json{{"x", 8}}, narrowed).size(), 1u);
  EXPECT_EQ(check(1, {{"multipleOf", 2}}).size(), 1u);
  EXPECT_EQ(check(1, {{"$ref", "#/components/schemas/None"}}).size(), 1u);
  EXPECT_TRUE(check(1, {{"type", "integer"}, {"format", "int64"}, {"description", "d"}}).empty());
}

}  // namespace
}  // namespace leadscore::testing
