// Positioned configuration errors (engine/config/config_error.h): "file:line:column: message",
// with each unknown part of the position left out, and a list as one error per line.
#include "engine/config/config_error.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace leadscore::config {
namespace {

TEST(ConfigError, AtTakesTheFilePositionAndMessage) {
  const ConfigError error = ConfigError::at("config/leadscore.yaml", {12, 5}, "unknown key");
  EXPECT_EQ(error.file, "config/leadscore.yaml");
  EXPECT_EQ(error.line, 12);
  EXPECT_EQ(error.column, 5);
  EXPECT_EQ(error.message, "unknown key");
}

TEST(ConfigError, APositionIsUnknownUntilSet) {
  const Position unknown;
  EXPECT_EQ(unknown.line, 0);
  EXPECT_EQ(unknown.column, 0);
  const ConfigError error = ConfigError::at("a.yaml", unknown, "m");
  EXPECT_EQ(error.line, 0);
  EXPECT_EQ(error.column, 0);
}

TEST(ConfigError, TextNamesFileLineAndColumn) {
  EXPECT_EQ(ConfigError::at("config/leadscore.yaml", {12, 5}, "unknown key 'treads'").to_text(),
            "config/leadscore.yaml:12:5: unknown key 'treads'");
  EXPECT_EQ(ConfigError::at("a.yaml", {1, 1}, "m").to_text(), "a.yaml:1:1: m");
}

TEST(ConfigError, TextLeavesOutAnUnknownColumn) {
  EXPECT_EQ(ConfigError::at("a.yaml", {7, 0}, "scorer 'x' failed its self test").to_text(),
            "a.yaml:7: scorer 'x' failed its self test");
}

TEST(ConfigError, TextLeavesOutAnUnknownPosition) {
  EXPECT_EQ(ConfigError::at("a.yaml", {}, "cannot read the file").to_text(),
            "a.yaml: cannot read the file");
  // A column means nothing without its line.
  EXPECT_EQ(ConfigError::at("a.yaml", {0, 9}, "m").to_text(), "a.yaml: m");
}

TEST(ConfigError, TextKeepsTheMessageAsItIs) {
  EXPECT_EQ(ConfigError::at("a.yaml", {2, 3}, "expected 1: got 2: no").to_text(),
            "a.yaml:2:3: expected 1: got 2: no");
  EXPECT_EQ(ConfigError::at("a.yaml", {2, 3}, "").to_text(), "a.yaml:2:3: ");
}

TEST(ConfigError, ListTextIsOneErrorPerLineInOrder) {
  const std::vector<ConfigError> errors{ConfigError::at("a.yaml", {3, 1}, "first"),
                                        ConfigError::at("a.yaml", {1, 0}, "second"),
                                        ConfigError::at("b.yaml", {}, "third")};
  EXPECT_EQ(to_text(errors), "a.yaml:3:1: first\na.yaml:1: second\nb.yaml: third\n");
}

TEST(ConfigError, AnEmptyListIsNoText) { EXPECT_EQ(to_text(std::vector<ConfigError>{}), ""); }

}  // namespace
}  // namespace leadscore::config
