// /docs and /redoc in a real browser: `leadscore serve` behind its front door (nginx), on a
// throwaway cluster, and Debian's chromium driven by playwright-core (openapi_browser.cjs):
// Swagger UI lists the operations and runs GET /health from "Try it out", ReDoc renders the
// reference, and neither page loads anything from another host. A screenshot of /docs is
// written to docs.png in the build directory. Then paths that climb out of /docs and /redoc,
// sent raw, reach no file, directly or through the front door.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "tests/support/run_command.h"
#include "tests/support/served_leadscore.h"

namespace leadscore::testing {
namespace {

TEST(DocsInBrowser, SwaggerUiRunsHealthAndRedocRendersThroughTheFrontDoor) {
  ServedLeadscore::Options options;
  options.front_door = true;
  ServedLeadscore served(options);
  const std::string base = "http://127.0.0.1:" + std::to_string(served.front_port());
  const std::string screenshot = std::string(LEADSCORE_BINARY_DIR) + "/docs.png";
  std::remove(screenshot.c_str());
  const auto [status, output] = run_with_errors(
      "node " + std::string(LEADSCORE_SOURCE_DIR) + "/tests/api/openapi_browser.cjs " + base + " " +
      screenshot + " " + std::string(LEADSCORE_SOURCE_DIR) + "/web");
  EXPECT_EQ(status, 0) << output << "\nserver log:\n" << served.log().substr(0, 4000);
  FILE* png = std::fopen(screenshot.c_str(), "rb");
  EXPECT_NE(png, nullptr) << "no screenshot at " << screenshot;
  if (png) std::fclose(png);

  // Paths that climb out, sent as they are (a browser or curl would resolve the dots first):
  // no file outside the list is served, by leadscore itself or through the front door.
  for (const int port : {served.port(), served.front_port()}) {
    for (const std::string path :
         {"/docs/../package.json", "/docs/..%2Fpackage.json", "/redoc/../../../../etc/passwd",
          "/docs/swagger-ui-dist%2Fpackage.json", "/redoc/./redoc.standalone.js.map"}) {
      const std::string answer =
          raw_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
      // 404 (no such route or file); nginx refuses a path above the root as malformed (400).
      const int status = status_of(answer);
      EXPECT_TRUE(status == 404 || (status == 400 && port == served.front_port()))
          << port << " " << path << ": " << answer.substr(0, 300);
      EXPECT_EQ(answer.find("root:"), std::string::npos) << path;
      EXPECT_EQ(answer.find("\"name\":"), std::string::npos) << path << ": a package.json";
    }
  }
}

}  // namespace
}  // namespace leadscore::testing
