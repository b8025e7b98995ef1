// Positioned load errors of the Lua rules (plugins/lua/load_error.h): the text for the CLI,
// the JSON for the API, and how a Lua message "name:12: text" becomes a file, a line and a
// message. An analyst fixes a rule from these alone, so the position must name the right file.
#include "plugins/lua/load_error.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace leadscore::lua {
namespace {

TEST(LoadError, TextNamesFileLineAndMessage) {
  EXPECT_EQ((LoadError{"rules/score.lua", 12, "unexpected symbol near '}'"}).to_text(),
            "rules/score.lua:12: unexpected symbol near '}'");
  EXPECT_EQ((LoadError{"t.lua", 1, "boom"}).to_text(), "t.lua:1: boom");
}

TEST(LoadError, TextLeavesOutAnUnknownLine) {
  EXPECT_EQ((LoadError{"rules/score.lua", 0, "bytecode is refused"}).to_text(),
            "rules/score.lua: bytecode is refused");
  EXPECT_EQ((LoadError{"rules/score.lua", -1, "odd"}).to_text(), "rules/score.lua: odd");
}

TEST(LoadError, JsonHasFileLineAndMessage) {
  const nlohmann::json json = LoadError{"rules/score.lua", 7, "x is required"}.to_json();
  EXPECT_EQ(json, (nlohmann::json{
                      {"file", "rules/score.lua"}, {"line", 7}, {"message", "x is required"}}));
  EXPECT_TRUE(json["line"].is_number_integer());
  // An unknown line is there too, as 0, so that a client reads one shape.
  const nlohmann::json unknown = LoadError{"t.lua", 0, "no position"}.to_json();
  ASSERT_TRUE(unknown.contains("line"));
  EXPECT_EQ(unknown["line"], 0);
  EXPECT_EQ(unknown.size(), 3u);
}

TEST(LoadError, ListTextIsOneErrorPerLine) {
  const std::vector<LoadError> errors{{"rules/score.lua", 3, "first"},
                                      {"rules/lib/points.lua", 0, "second"}};
  EXPECT_EQ(to_text(errors), "rules/score.lua:3: first\nrules/lib/points.lua: second\n");
  EXPECT_EQ(to_text(std::vector<LoadError>{}), "");
}

TEST(LoadError, SplitsALuaPosition) {
  const LoadError error =
      LoadError::from_lua_message("rules/score.lua", "rules/score.lua:12: unexpected symbol");
  EXPECT_EQ(error.file, "rules/score.lua");
  EXPECT_EQ(error.line, 12);
  EXPECT_EQ(error.message, "unexpected symbol");
  EXPECT_EQ(error.to_text(), "rules/score.lua:12: unexpected symbol");
}

TEST(LoadError, KeepsEverythingAfterThePosition) {
  // Colons and numbers in the message itself stay as they are.
  const LoadError error = LoadError::from_lua_message(
      "t.lua", "t.lua:4: bad argument #1 to 'find' (expected 2: got 3:4: no)");
  EXPECT_EQ(error.line, 4);
  EXPECT_EQ(error.message, "bad argument #1 to 'find' (expected 2: got 3:4: no)");
  // A nested position (an error re-raised with its own) belongs to the message.
  const LoadError nested = LoadError::from_lua_message("t.lua", "t.lua:9: t.lua:3: inner");
  EXPECT_EQ(nested.line, 9);
  EXPECT_EQ(nested.message, "t.lua:3: inner");
}

TEST(LoadError, AFileNameWithColonsIsNotTakenForAPosition) {
  const LoadError error =
      LoadError::from_lua_message("C:/rules/a:b.lua", "C:/rules/a:b.lua:5: attempt to call nil");
  EXPECT_EQ(error.file, "C:/rules/a:b.lua");
  EXPECT_EQ(error.line, 5);
  EXPECT_EQ(error.message, "attempt to call nil");
  // Digits after a colon in the name, not followed by ": ", are part of the name.
  const LoadError digits = LoadError::from_lua_message("rules/v:2.lua", "rules/v:2.lua:8: oops");
  EXPECT_EQ(digits.line, 8);
  EXPECT_EQ(digits.message, "oops");
}

TEST(LoadError, AcceptsTheShortenedNameLuaGivesALongFile) {
  // Lua keeps the last 56 bytes of a long chunk name behind "..." (LUA_IDSIZE is 60).
  const std::string file =
      "/srv/leadscore/rules/a/very/deeply/nested/directory/of/rules/score_with_a_long_name.lua";
  const std::string shortened = "..." + file.substr(file.size() - 56);
  const LoadError error = LoadError::from_lua_message(file, shortened + ":21: boom");
  EXPECT_EQ(error.file, file);
  EXPECT_EQ(error.line, 21);
  EXPECT_EQ(error.message, "boom");
}

TEST(LoadError, AMessageWithoutAPositionKeepsLineZeroAndTheWholeText) {
  for (const std::string message :
       {"not enough memory", "error raised with a table value instead of a message",
        "instruction limit of 1000 exceeded at t.lua:3 (a loop or recursion that does not end?)",
        "t.lua:x: not a line", "t.lua:12:no space", "t.lua:12:", ""}) {
    const LoadError error = LoadError::from_lua_message("t.lua", message);
    EXPECT_EQ(error.file, "t.lua") << message;
    EXPECT_EQ(error.line, 0) << message;
    EXPECT_EQ(error.message, message);
  }
}

TEST(LoadError, AnEmptyMessageAfterThePositionIsKept) {
  const LoadError error = LoadError::from_lua_message("t.lua", "t.lua:2: ");
  EXPECT_EQ(error.line, 2);
  EXPECT_EQ(error.message, "");
}

TEST(LoadError, AnAbsurdlyLongLineNumberIsNotAPosition) {
  // Digits are read up to a bound, never past int: an overlong number is no position.
  const std::string message = "t.lua:123456789012345678901234567890: boom";
  const LoadError error = LoadError::from_lua_message("t.lua", message);
  EXPECT_EQ(error.line, 0);
  EXPECT_EQ(error.message, message);
  // The largest line a real script has is read in full.
  EXPECT_EQ(LoadError::from_lua_message("t.lua", "t.lua:99999: x").line, 99999);
}

TEST(LoadError, APositionInAnotherFileIsNotGivenToThisOne) {
  // A script that calls a helper library while it loads fails with the library's position:
  // reporting that line against the script would send the analyst to the wrong place.
  const LoadError error =
      LoadError::from_lua_message("rules/score.lua", "rules/lib/util.lua:3: x is required");
  EXPECT_EQ(error.file, "rules/score.lua");
  EXPECT_EQ(error.line, 0);
  EXPECT_EQ(error.message, "rules/lib/util.lua:3: x is required");
  EXPECT_EQ(error.to_text(), "rules/score.lua: rules/lib/util.lua:3: x is required");
  // A name that merely ends like the file is another file too.
  EXPECT_EQ(LoadError::from_lua_message("score.lua", "old_score.lua:3: x").line, 0);
}

}  // namespace
}  // namespace leadscore::lua
