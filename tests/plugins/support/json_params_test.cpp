// Params read from JSON text with the position of every key and value.
#include "plugins/support/json_params.h"

#include <gtest/gtest.h>

namespace leadscore::plugin {
namespace {

TEST(JsonParams, EveryValueAndKeyHasItsPosition) {
  auto doc = parse_positioned_json("{\n\"a\":\n1.5,\n\"b\":\n[\ntrue,\n\"x\\\"y\"]}");
  ASSERT_TRUE(doc) << doc.error();
  ASSERT_EQ(doc->members.size(), 2u);
  EXPECT_EQ(doc->members[0].key_position.line, 2);
  EXPECT_EQ(doc->members[0].value.position.line, 3);
  EXPECT_EQ(doc->members[0].value.text, "1.5");
  const JsonValue& list = doc->members[1].value;
  EXPECT_EQ(list.kind, JsonValue::Kind::List);
  EXPECT_EQ(list.position.line, 5);
  ASSERT_EQ(list.items.size(), 2u);
  EXPECT_EQ(list.items[0].position.line, 6);
  EXPECT_EQ(list.items[1].text, "x\"y");
  EXPECT_EQ(list.items[1].position.line, 7);
  EXPECT_EQ(list.items[1].position.column, 1);
}

TEST(JsonParams, NotJsonIsAnError) {
  auto doc = parse_positioned_json("{\"a\": [}");
  ASSERT_FALSE(doc);
  EXPECT_NE(doc.error().find("params are not valid JSON"), std::string::npos) << doc.error();
}

TEST(JsonParams, ReadsAreStrictAndPositioned) {
  auto doc = parse_positioned_json(
      "{\n\"points\":\n\"high\",\n\"quoted\":\n\"0.3\",\n\"count\":\n2.5,\n\"pointz\":\n1}");
  ASSERT_TRUE(doc);
  ParamsProblems problems;
  ParamsMap map(&*doc, "params", problems, {1, 1});
  double points = 0, quoted = 0;
  std::int64_t count = 0;
  EXPECT_FALSE(map.read("points", points, {0, 1}));
  EXPECT_FALSE(map.read("quoted", quoted, {0, 1}));
  EXPECT_FALSE(map.read("count", count, {0, 10}));
  EXPECT_FALSE(map.require("missing"));
  map.finish();
  EXPECT_EQ(problems.to_text(),
            "1:1: missing key 'missing' in params\n"
            "3:1: params.points must be a number, got 'high'\n"
            "5:1: params.quoted must be a number, got a quoted string '0.3'\n"
            "7:1: params.count must be an integer, got '2.5'\n"
            "8:1: unknown key 'pointz' in params (did you mean 'points'?)");
}

TEST(JsonParams, RangesAndNestedObjects) {
  auto doc = parse_positioned_json(R"({"n": 7, "inner": {"x": -2}, "list": [1]})");
  ASSERT_TRUE(doc);
  ParamsProblems problems;
  ParamsMap map(&*doc, "params", problems);
  std::int64_t n = 0;
  EXPECT_TRUE(map.read("n", n, {1, 10}));
  EXPECT_EQ(n, 7);
  ParamsMap inner = map.map("inner");
  double x = 0;
  EXPECT_FALSE(inner.read("x", x, {-1, 1}));
  ParamsMap list = map.map("list");
  EXPECT_FALSE(list.present());
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems.list()[0].message, "params.inner.x must be between -1 and 1, got -2");
  EXPECT_EQ(problems.list()[1].message, "params.list must be a mapping, got a list");
}

}  // namespace
}  // namespace leadscore::plugin
