#include "engine/config/yaml_reader.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace leadscore::config {
namespace {

class YamlReaderTest : public ::testing::Test {
 protected:
  YamlMap map_of(const std::string& yaml, std::string path = "params") {
    node_ = YAML::Load(yaml);
    return YamlMap(node_, std::move(path), errors_);
  }
  std::string messages() const { return to_text(errors_.list()); }

  YAML::Node node_;
  YamlErrors errors_{"rules.yaml"};
};

TEST_F(YamlReaderTest, ReadsEveryKindOfValue) {
  auto map = map_of(
      "n: 42\nneg: -3\nplus: +5\nx: 0.25\ne: 1e-3\nwhole: 2\nyes: true\nno: False\ns: text\n"
      "q: \"quoted\"\nlist: [a, b]\nsize: 4096\n");
  int n = 0, neg = 0, plus = 0;
  double x = 0, e = 0, whole = 0;
  bool yes = false, no = true;
  std::string s, q;
  std::vector<std::string> list;
  std::size_t size = 0;
  EXPECT_TRUE(map.read("n", n, {}));
  EXPECT_TRUE(map.read("neg", neg, {}));
  EXPECT_TRUE(map.read("plus", plus, {}));
  EXPECT_TRUE(map.read("x", x, {}));
  EXPECT_TRUE(map.read("e", e, {}));
  EXPECT_TRUE(map.read("whole", whole, {}));
  EXPECT_TRUE(map.read("yes", yes));
  EXPECT_TRUE(map.read("no", no));
  EXPECT_TRUE(map.read("s", s));
  EXPECT_TRUE(map.read("q", q));
  EXPECT_TRUE(map.read("list", list));
  EXPECT_TRUE(map.read("size", size, {}));
  map.finish();
  EXPECT_TRUE(errors_.empty()) << messages();
  EXPECT_EQ(n, 42);
  EXPECT_EQ(neg, -3);
  EXPECT_EQ(plus, 5);
  EXPECT_EQ(x, 0.25);
  EXPECT_EQ(e, 1e-3);
  EXPECT_EQ(whole, 2.0);
  EXPECT_TRUE(yes);
  EXPECT_FALSE(no);
  EXPECT_EQ(s, "text");
  EXPECT_EQ(q, "quoted");
  EXPECT_EQ(list, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(size, 4096u);
}

TEST_F(YamlReaderTest, AbsentKeyKeepsTheDefaultWithoutError) {
  auto map = map_of("a: 1\n");
  int a = 0, b = 7;
  EXPECT_TRUE(map.read("a", a, {}));
  EXPECT_FALSE(map.read("b", b, {}));
  map.finish();
  EXPECT_EQ(b, 7);
  EXPECT_TRUE(errors_.empty()) << messages();
}

TEST_F(YamlReaderTest, WrongValueKeepsTheDefaultAndIsReported) {
  auto map = map_of("a: x\nb: 2\nc: .inf\nd: nan\ne: 1\n");
  int a = 5;
  double b = 0, c = 9, d = 9;
  bool e = false;
  EXPECT_FALSE(map.read("a", a, {}));
  EXPECT_FALSE(map.read("b", b, {0, 1}));
  EXPECT_FALSE(map.read("c", c, {}));
  EXPECT_FALSE(map.read("d", d, {}));
  EXPECT_FALSE(map.read("e", e));
  map.finish();
  EXPECT_EQ(a, 5);
  EXPECT_EQ(b, 0);
  EXPECT_EQ(c, 9);
  ASSERT_EQ(errors_.size(), 5u) << messages();
  EXPECT_EQ(errors_.list()[0].message, "params.a must be an integer, got 'x'");
  EXPECT_EQ(errors_.list()[1].message, "params.b must be between 0 and 1, got 2");
  EXPECT_EQ(errors_.list()[2].message, "params.c must be a number, got '.inf'");
  EXPECT_EQ(errors_.list()[3].message, "params.d must be a number, got 'nan'");
  EXPECT_EQ(errors_.list()[4].message, "params.e must be true or false, got '1'");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(errors_.list()[i].line, i + 1);
  for (const auto& error : errors_.list()) EXPECT_EQ(error.file, "rules.yaml");
}

TEST_F(YamlReaderTest, IntRangeIsCheckedAgainstTheTargetType) {
  auto map = map_of("a: 3000000000\n");
  int a = 1;
  EXPECT_FALSE(map.read("a", a, {}));
  EXPECT_EQ(a, 1);
  EXPECT_NE(messages().find("must be between"), std::string::npos) << messages();
}

TEST_F(YamlReaderTest, UnknownKeysAreReportedWithASuggestion) {
  auto map = map_of("weight: 1\nthresold: 2\nzzz: 3\n");
  double weight = 0, threshold = 0;
  map.read("weight", weight, {});
  map.read("threshold", threshold, {});
  map.finish();
  ASSERT_EQ(errors_.size(), 2u) << messages();
  EXPECT_EQ(errors_.list()[0].message,
            "unknown key 'thresold' in params (did you mean 'threshold'?)");
  EXPECT_EQ(errors_.list()[0].line, 2);
  EXPECT_EQ(errors_.list()[0].column, 1);
  EXPECT_EQ(errors_.list()[1].message, "unknown key 'zzz' in params");
  EXPECT_EQ(errors_.list()[1].line, 3);
}

TEST_F(YamlReaderTest, OneOfListsTheChoices) {
  auto map = map_of("level: loud\n", "log");
  std::string level = "info";
  constexpr std::array<std::string_view, 2> kLevels{"info", "warn"};
  EXPECT_FALSE(map.read_one_of("level", level, kLevels));
  EXPECT_EQ(level, "info");
  EXPECT_EQ(errors_.list().at(0).message, "log.level must be one of info, warn; got 'loud'");
}

TEST_F(YamlReaderTest, NestedMapsCarryTheirPath) {
  auto map = map_of("outer:\n  inner:\n    x: bad\n", "scoring");
  YamlMap outer = map.map("outer");
  YamlMap inner = outer.map("inner");
  int x = 0;
  inner.read("x", x, {});
  EXPECT_EQ(errors_.list().at(0).message, "scoring.outer.inner.x must be an integer, got 'bad'");
  EXPECT_EQ(errors_.list().at(0).line, 3);
  EXPECT_EQ(errors_.list().at(0).column, 8);
}

TEST_F(YamlReaderTest, NullOrAbsentMapIsEmpty) {
  auto map = map_of("a:\n");
  YamlMap a = map.map("a");
  YamlMap b = map.map("b");
  EXPECT_FALSE(a.present());
  EXPECT_FALSE(b.present());
  int x = 3;
  EXPECT_FALSE(a.read("x", x, {}));
  a.finish();
  b.finish();
  map.finish();
  EXPECT_TRUE(errors_.empty()) << messages();
}

TEST_F(YamlReaderTest, EntriesAreInFileOrderAndCountAsKnown) {
  auto map = map_of("zeta: 1\nalpha: 2\nmid: 3\n");
  std::vector<std::string> keys;
  for (const auto& entry : map.entries()) keys.push_back(entry.key);
  map.finish();
  EXPECT_EQ(keys, (std::vector<std::string>{"zeta", "alpha", "mid"}));
  EXPECT_TRUE(errors_.empty()) << messages();
}

TEST_F(YamlReaderTest, RequireReportsMissingKeyAtTheMapping) {
  auto map = map_of("x: 1\ny:\n  a: 1\n");
  map.read("x", *std::make_unique<int>(), {});
  YamlMap y = map.map("y");
  EXPECT_FALSE(y.require("plugin"));
  y.has("a");
  EXPECT_EQ(errors_.list().at(0).message, "missing key 'plugin' in params.y");
  EXPECT_EQ(errors_.list().at(0).line, 3);
}

TEST(YamlPosition, MarksAreOneBased) {
  YAML::Mark mark;
  mark.line = 0;
  mark.column = 4;
  EXPECT_EQ(position_of(mark).line, 1);
  EXPECT_EQ(position_of(mark).column, 5);
  EXPECT_EQ(position_of(YAML::Mark::null_mark()).line, 0);
}

}  // namespace
}  // namespace leadscore::config
