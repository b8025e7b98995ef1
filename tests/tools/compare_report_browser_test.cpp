// The HTML report of `leadscore compare --html` in a real browser (Debian's headless chromium):
// a CSV with outcomes compared by the heuristic, the Lua rules and the ICP-fit rules, the page
// loaded from its file with the network off. Chromium renders the page as it is (its DOM dumped:
// every chart element there), then a copy with a measuring script appended reports each chart
// element's drawn size (getBBox), so the charts are asserted drawn, not just written. A
// screenshot is kept at compare_report.png in the build directory for people to look at.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "tests/support/browser.h"
#include "tests/support/run_command.h"

namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// 600 leads over every source, stage and activity count, about a third converted (more with
// activity and from partners), every tenth without an outcome yet.
std::string leads_csv() {
  std::string csv = "source,stage,activity_count,business_domain,role,industry,converted\n";
  const char* sources[] = {"scanner", "partner", "manual"};
  const char* stages[] = {"new", "contacted", "qualified"};
  const char* roles[] = {"CTO", "engineer", "VP Sales", "intern"};
  for (int i = 0; i < 600; ++i) {
    const int source = i % 3, stage = (i / 3) % 3, activity = (i * 7) % 13;
    const double chance = 0.1 + 0.15 * (source == 1) + 0.03 * activity + 0.05 * stage;
    const double draw = static_cast<double>((i * 2654435761u) % 1000) / 1000;
    const std::string outcome = i % 10 == 9 ? "" : draw < chance ? "1" : "0";
    csv += std::string(sources[source]) + "," + stages[stage] + "," + std::to_string(activity) +
           "," + (i % 4 ? "acme.io" : "") + "," + roles[i % 4] + ",B2B SaaS," + outcome + "\n";
  }
  return csv;
}

TEST(CompareReportInBrowser, ChartsAreDrawnFromACsvWithOutcomes) {
  const fs::path dir = fs::path(LEADSCORE_BINARY_DIR) / "compare_report_test";
  fs::create_directories(dir);
  std::ofstream(dir / "leads.csv") << leads_csv();
  const fs::path page = dir / "report.html";
  fs::remove(page);
  const auto [status, output] = leadscore::testing::run_with_errors(
      std::string(LEADSCORE_EXECUTABLE) + " --config " + LEADSCORE_SOURCE_DIR +
      "/config/leadscore.yaml compare " + (dir / "leads.csv").string() +
      " --scorers heuristic,rules,icp_fit --outcome converted --html " + page.string());
  ASSERT_EQ(status, 0) << output;
  EXPECT_NE(output.find("AUC 0."), std::string::npos) << output;  // enough leads per class
  const std::string html = read_file(page);
  ASSERT_FALSE(html.empty());
  EXPECT_EQ(html.find("<script"), std::string::npos);

  // The page as it is: the browser's DOM holds every chart element.
  const auto [dom_status, dom] = leadscore::testing::browser_dom(page);
  ASSERT_EQ(dom_status, 0) << dom.substr(0, 2000);
  const auto count = [&](const std::string& pattern) {
    const std::regex re(pattern);
    return std::distance(std::sregex_iterator(dom.begin(), dom.end(), re), std::sregex_iterator());
  };
  EXPECT_GE(count("<rect class=\"bar\" x=\"[0-9.]+\" y=\"[0-9.]+\" width=\"[1-9][0-9.]*\" "
                  "height=\"[0-9]*[1-9.][0-9.]*\""),
            10);
  EXPECT_EQ(count("<path class=\"roc\" d=\"M[0-9. ]+( L[0-9. ]+){2,}\""), 3);
  EXPECT_EQ(count("<path class=\"calibration\" d=\"M[0-9. ]+( L[0-9. ]+)+\""), 3);
  EXPECT_EQ(count("<circle class=\"point (converted|lost|open)\" cx=\"[0-9.]+\" cy=\"[0-9.]+\" "
                  "r=\"[1-9]"),
            3 * 600);  // three pairs, every lead (fewer than the scatter's cap)
  EXPECT_EQ(count("<table class=\"flip\">"), 3);

  // A copy with the measuring script: every element drawn with a size.
  const auto measured = leadscore::testing::measure_charts(page);
  for (const char* kind : {"bars", "roc", "calibration", "points"}) {
    EXPECT_GT(measured[kind]["count"].get<int>(), 0) << kind << ": " << measured;
    EXPECT_EQ(measured[kind]["drawn"], measured[kind]["count"]) << kind << ": " << measured;
  }
  EXPECT_GT(measured["shortest_path"].get<double>(), 100) << measured;  // px along the curve
  EXPECT_EQ(measured["flip_cells"], 3 * 4);
  EXPECT_GT(measured["width"].get<double>(), 200) << measured;

  // The screenshot, for people.
  const fs::path screenshot = fs::path(LEADSCORE_BINARY_DIR) / "compare_report.png";
  const auto [shot_status, shot_output] = leadscore::testing::screenshot(page, screenshot, 2400);
  EXPECT_EQ(shot_status, 0) << shot_output;
  ASSERT_TRUE(fs::exists(screenshot)) << shot_output;
  EXPECT_GT(fs::file_size(screenshot), 50'000u);  // a drawn page, not a blank one
}

}  // namespace
