// The error channel: messages truncated into the engine's buffer, exceptions kept on the
// plugin's side.
#include "plugins/support/error_channel.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace leadscore::plugin {
namespace {

TEST(ErrorChannel, TruncatesToTheBufferWithItsNul) {
  char err[6];
  write_error(err, sizeof err, "a long message");
  EXPECT_STREQ(err, "a lon");
  write_error(nullptr, 0, "nowhere");  // no buffer: nothing written, no crash
}

TEST(ErrorChannel, CatchAllTurnsAnExceptionIntoTheFailedValue) {
  char err[64] = {};
  const int status =
      catch_all("plugin x", err, sizeof err, 1, []() -> int { throw std::runtime_error("broke"); });
  EXPECT_EQ(status, 1);
  EXPECT_STREQ(err, "plugin x: broke");
  EXPECT_EQ(catch_all("plugin x", err, sizeof err, 1, [] { return 0; }), 0);
}

}  // namespace
}  // namespace leadscore::plugin
