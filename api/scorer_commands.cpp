#include "api/scorer_commands.h"

#include <cstdio>

#include "api/command_support.h"
#include "engine/analysis/scorer_report.h"
#include "tools/demo_data.h"
#include "tools/output_file.h"

namespace leadscore::command {
namespace {

// `leadscore demo-data --n N --seed S -o FILE`: exit 0, or 2 when the file cannot be written.
int write_demo_data(std::size_t n, std::uint64_t seed, const std::string& path) {
  tools::OutputFile out(path);
  if (!out.write(tools::demo_leads_csv(n, seed)) || !out.close()) {
    std::fprintf(stderr, "leadscore: %s\n", out.error().c_str());
    return 2;
  }
  if (path != "-") std::fprintf(stderr, "wrote %zu demo leads to %s\n", n, path.c_str());
  return 0;
}

// `leadscore report [--since T] [--until T] [--json | --html FILE]`: exit 0; 2 on bad usage
// (or an HTML file that cannot be written), 1 when the database fails.
int print_report(const std::string& config_path, const std::string& since, const std::string& until,
                 bool as_json, const std::string& html_path) {
  store::ReportWindow window;
  for (auto [text, field, into] :
       {std::tuple{&since, "since", &window.since}, std::tuple{&until, "until", &window.until}}) {
    if (text->empty()) continue;
    auto time = analysis::parse_report_time(*text, field);
    if (!time) {
      std::fprintf(stderr, "leadscore: --%s: %s\n", field, time.error().message.c_str());
      return 2;
    }
    *into = std::move(*time);
  }
  auto cfg = load_config(config_path);
  if (!cfg) return 2;
  auto db = connect(*cfg, 1);
  if (!db) return 1;
  auto session = db->session();
  if (!session) {
    std::fprintf(stderr, "leadscore: %s\n", session.error().message.c_str());
    return 1;
  }
  auto runs = session->scorer_runs(window);
  if (!runs) {
    std::fprintf(stderr, "leadscore: %s\n", runs.error().message.c_str());
    return 1;
  }
  scoring::ComparisonSettings settings;
  settings.handoff_min_score = cfg->handoff.min_score;
  const auto report = analysis::scorer_report(*runs, settings);
  if (!html_path.empty()) {
    tools::OutputFile out(html_path);
    if (!out.write(analysis::scorer_report_html(report)) || !out.close()) {
      std::fprintf(stderr, "leadscore: --html: %s\n", out.error().c_str());
      return 2;
    }
    return 0;
  }
  std::printf("%s\n", as_json ? analysis::scorer_report_json(report).dump(2).c_str()
                              : analysis::scorer_report_text(report).c_str());
  return 0;
}

}  // namespace

ScorerCommands::ScorerCommands(CLI::App& app) {
  demo_ = app.add_subcommand("demo-data",
                             "write demo leads with known outcomes (a hidden truth model) as CSV");
  demo_->add_option("--n", demo_n_, "how many leads")->check(CLI::Range(0, 10'000'000));
  demo_->add_option("--seed", demo_seed_, "the same seed gives the same leads");
  demo_->add_option("-o,--output", demo_out_, "the CSV file ('-' for stdout)")->required();

  report_ = app.add_subcommand(
      "report", "every scorer version's metrics against closed sales (DATABASE_URL)");
  report_->add_option("--since", since_, "from this date or time (default: 30 days before until)");
  report_->add_option("--until", until_, "before this date or time (default: now)");
  auto* json = report_->add_flag("--json", as_json_, "print JSON");
  report_->add_option("--html", html_path_, "write the report as an HTML page to FILE")
      ->excludes(json);
}

std::optional<int> ScorerCommands::run(const std::string& config_path) const {
  if (demo_->parsed()) return write_demo_data(demo_n_, demo_seed_, demo_out_);
  if (report_->parsed()) return print_report(config_path, since_, until_, as_json_, html_path_);
  return std::nullopt;
}

}  // namespace leadscore::command
