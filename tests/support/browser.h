// A report page in a real browser (Debian's headless chromium) for the tests of the pages people
// look at: the page's DOM as chromium builds it, each chart element's drawn size measured by a
// script appended to a copy of the page (getBBox: drawn, not just written), and a screenshot
// kept in the build directory for people to look at. The pages are loaded from files, with
// chromium's background networking off: a page that needed the network would show it.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>
#include <string>

#include "tests/support/run_command.h"

namespace leadscore::testing {

// A chromium command line with `args`, in a profile of this process's own.
inline std::string chromium(const std::string& args) {
  const std::string profile =
      std::filesystem::temp_directory_path() / ("leadscore-chromium-" + std::to_string(::getpid()));
  return "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
         "--disable-background-networking --disable-component-update --disable-sync "
         "--user-data-dir=" +
         profile + " " + args;
}

// The DOM chromium builds from the page in `file` (--dump-dom), as `output`.
inline CommandResult browser_dom(const std::filesystem::path& file) {
  return run_with_errors(chromium("--dump-dom file://" + file.string()));
}

// Measures the charts of the report pages (engine/scoring/comparison_report) as drawn: per kind
// of element (bars of histograms, ROC and calibration curves, points of the A-vs-B scatter) how
// many there are and how many have a non-zero box; the shortest curve's length in px; the cells
// of the flip tables; the first chart's width.
constexpr const char* kChartProbe = R"(<script>
const drawn = (selector) => {
  const all = [...document.querySelectorAll(selector)];
  const sized = all.filter((e) => { const b = e.getBBox(); return b.width > 0 && b.height > 0; });
  return {count: all.length, drawn: sized.length};
};
const lengths = [...document.querySelectorAll('path.roc, path.calibration')]
  .map((p) => p.getTotalLength());
const svg = document.querySelector('svg');
const out = document.createElement('pre');
out.id = 'measured';
out.textContent = JSON.stringify({bars: drawn('rect.bar'), roc: drawn('path.roc'),
  calibration: drawn('path.calibration'), points: drawn('circle.point'),
  shortest_path: lengths.length ? Math.min(...lengths) : 0,
  flip_cells: document.querySelectorAll('table.flip td').length,
  width: svg ? svg.getBoundingClientRect().width : 0});
document.body.appendChild(out);
</script></body>)";

// The charts of the page in `page` as chromium draws them (kChartProbe's figures), from a copy
// with the probe, PAGE_measured.html beside it. Throws when chromium fails or the probe gives
// nothing.
inline nlohmann::json measure_charts(const std::filesystem::path& page) {
  std::ifstream in(page, std::ios::binary);
  std::string probed{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const auto end = probed.rfind("</body>");
  if (end == std::string::npos) throw std::runtime_error(page.string() + " has no </body>");
  probed.replace(end, 7, kChartProbe);
  std::filesystem::path file = page;
  file.replace_filename(page.stem().string() + "_measured.html");
  std::ofstream(file) << probed;
  const auto [status, dom] = browser_dom(file);
  if (status != 0) throw std::runtime_error("chromium failed: " + dom.substr(0, 2000));
  std::smatch match;
  if (!std::regex_search(dom, match, std::regex("<pre id=\"measured\">([^<]*)</pre>")))
    throw std::runtime_error("the probe gave nothing: " + dom.substr(0, 2000));
  return nlohmann::json::parse(match[1].str());
}

// A screenshot of the page in `file` into `png`, `height` px tall and 1280 wide.
inline CommandResult screenshot(const std::filesystem::path& file, const std::filesystem::path& png,
                                int height) {
  std::filesystem::remove(png);
  return run_with_errors(chromium("--hide-scrollbars --screenshot=" + png.string() +
                                  " --window-size=1280," + std::to_string(height) + " file://" +
                                  file.string()));
}

}  // namespace leadscore::testing
