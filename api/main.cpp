// leadscore: the one binary. `leadscore serve | migrate | keys create | score | compare | rules |
// front-door | demo-data | report`: the command line, and the commands other than `serve`
// (api/serve.h).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "api/auth.h"
#include "api/command_support.h"
#include "api/front_door.h"
#include "api/json_mapping.h"
#include "api/scorer_commands.h"
#include "api/serve.h"
#include "engine/config/app_config.h"
#include "engine/scoring/comparison_report.h"
#include "engine/scoring/registry.h"
#include "engine/store/store.h"
#include "tools/batch_score.h"
#include "tools/compare.h"
#include "tools/input_file.h"
#include "tools/rule_commands.h"

namespace {

using namespace leadscore;
using command::connect;
using command::default_config_path;
using command::load_config;
using command::load_scorers;
using command::migrate;
using command::serve;

int print_front_door(const std::string& config_path, api::FrontDoorSite site) {
  auto cfg = load_config(config_path);
  if (!cfg) return 2;
  if (site.upstream.empty()) site.upstream = "127.0.0.1:" + std::to_string(cfg->server.port);
  std::fputs(api::front_door_config(cfg->server, site).c_str(), stdout);
  return 0;
}

int run_migrate(const std::string& config_path) {
  auto cfg = load_config(config_path);
  if (!cfg) return 2;
  auto db = connect(*cfg, 1);
  if (!db) return 1;
  auto applied = db->migrate();
  if (!applied) {
    std::fprintf(stderr, "leadscore: migration failed: %s\n", applied.error().message.c_str());
    return 1;
  }
  std::printf("%zu migration(s) applied\n", applied->size());
  for (const auto& name : *applied) std::printf("  %s\n", name.c_str());
  return 0;
}

int create_key(const std::string& config_path, const std::string& name, const std::string& role) {
  auto parsed = store::parse_role(role);
  if (!parsed) {
    std::fprintf(stderr, "leadscore: role must be one of: viewer, manager, analyst, admin\n");
    return 2;
  }
  auto cfg = load_config(config_path);
  if (!cfg) return 2;
  auto db = connect(*cfg, 1);
  if (!db || !migrate(*db)) return 1;
  auto session = db->session();
  if (!session) return 1;
  const std::string key = api::generate_key();
  auto created = session->create_api_key(name, *parsed, api::hash_key(key));
  if (!created) {
    std::fprintf(stderr, "leadscore: %s\n", created.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", key.c_str());
  return 0;
}

// The Lua plugin module that `leadscore rules` runs: lua.so in plugins.dir of the config when
// that file exists, else in the build's plugin directory. Empty, after saying why, when the
// config has errors.
std::string lua_module(const std::string& config_path) {
  std::error_code ec;
  std::string dir = scoring::default_plugin_dir();
  if (std::filesystem::exists(config_path, ec)) {
    auto cfg = load_config(config_path);
    if (!cfg) return "";
    if (!cfg->plugins.dir.empty()) dir = cfg->plugins.dir;
  }
  return (std::filesystem::path(dir) / "lua.so").string();
}

// `leadscore rules test [PATH]`: every case of a rule-test file (or of every *.yaml in a
// directory) as PASS/FAIL with expected vs actual; exit 1 on any failure. Run by lua.so's self
// test, as a reload runs each Lua scorer's.
int run_rule_tests(const std::string& config_path, const std::string& path, bool as_json) {
  const std::string module = lua_module(config_path);
  if (module.empty()) return 2;
  auto run = tools::run_rule_tests(module, path);
  if (!run) {
    std::fprintf(stderr, "leadscore: %s\n", run.error().c_str());
    return 1;
  }
  nlohmann::json report = std::move(run->report);
  report.erase("problems");  // what a reload reports; the cases say it here
  std::printf("%s\n", as_json ? report.dump(2).c_str() : tools::rule_tests_text(report).c_str());
  return run->passed ? 0 : 1;
}

// The offer of `--offer FILE` (`leadscore score`, `leadscore rules trace`) as scorers see it;
// nullopt, with the message naming the file, when the file cannot be read or is not an offer.
std::optional<std::shared_ptr<const domain::OfferView>> read_offer_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    std::fprintf(stderr, "leadscore: --offer: cannot read %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return std::nullopt;
  }
  std::stringstream text;
  text << file.rdbuf();
  const auto body = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    std::fprintf(stderr, "leadscore: --offer: %s is not valid JSON\n", path.c_str());
    return std::nullopt;
  }
  auto offer = api::parse_offer_file(body);
  if (!offer) {
    std::fprintf(stderr, "leadscore: --offer: %s: %s\n", path.c_str(),
                 offer.error().message.c_str());
    return std::nullopt;
  }
  return api::offer_view(*offer);
}

// `leadscore rules trace SCRIPT --lead JSON`: each rule, whether it matched, its points and the
// values it saw; then the result. Run by lua.so's trace.
// `--offer FILE` gives ctx.offer, `--params JSON` ctx.params (as a scorer's params in the config).
int trace_rules(const std::string& config_path, const std::string& script,
                const std::string& lead_text, const std::string& offer_path,
                const std::string& params_text, bool as_json) {
  auto lead_json = nlohmann::json::parse(lead_text, nullptr, false);
  if (lead_json.is_discarded() || !lead_json.is_object()) {
    std::fprintf(stderr, "leadscore: --lead must be a JSON object\n");
    return 2;
  }
  auto features = tools::features_from_json(lead_json);
  if (!features) {
    std::fprintf(stderr, "leadscore: --lead: %s\n", features.error().c_str());
    return 2;
  }
  nlohmann::json params = nlohmann::json::object();
  if (!params_text.empty()) {
    params = nlohmann::json::parse(params_text, nullptr, false);
    if (params.is_discarded() || !params.is_object()) {
      std::fprintf(stderr, "leadscore: --params must be a JSON object\n");
      return 2;
    }
  }
  if (!offer_path.empty()) {
    auto view = read_offer_file(offer_path);
    if (!view) return 2;
    features->offer = std::move(*view);
  }
  const std::string module = lua_module(config_path);
  if (module.empty()) return 2;
  auto trace = tools::trace_rules(module, script, params, *features);
  if (!trace) {
    std::fprintf(stderr, "%s\n", trace.error().c_str());
    return 1;
  }
  std::printf("%s\n", as_json ? trace->dump(2).c_str() : tools::trace_text(*trace).c_str());
  return trace->contains("result") ? 0 : 1;
}

// What the offline commands (score, compare) score with: the config's scorers, and the offer of
// `--offer FILE` (none when the path is empty). nullopt, after saying why, when either fails.
struct OfflineScorers {
  config::AppConfig config;
  scoring::ScorerSet scorers;
  std::shared_ptr<const domain::OfferView> offer;
};

std::optional<OfflineScorers> load_offline_scorers(const std::string& config_path,
                                                   const std::string& offer_path) {
  std::shared_ptr<const domain::OfferView> offer;
  if (!offer_path.empty()) {
    auto read = read_offer_file(offer_path);
    if (!read) return std::nullopt;
    offer = std::move(*read);
  }
  auto cfg = load_config(config_path);
  if (!cfg) return std::nullopt;
  auto scorers = load_scorers(*cfg);
  if (!scorers) return std::nullopt;
  return OfflineScorers{std::move(*cfg), std::move(*scorers), std::move(offer)};
}

// What `leadscore compare` was asked for on its command line.
struct CompareCommand {
  std::string input;
  std::vector<std::string> scorers;
  std::string outcome;
  std::string offer;
  std::string html;  // where to write the HTML report; empty: none
  bool as_json = false;
  std::size_t bootstrap = 200;
  std::uint64_t seed = 1;
  std::size_t min_n = 30;
  int threads = 2;
};

// `leadscore compare IN.csv --scorers A,B [--outcome COLUMN] [--offer FILE] [--json] [--html
// FILE] [--bootstrap N] [--seed S] [--min-n N] [--threads N]`: the named scorers side by side over
// the same leads, offline; the handoff threshold of the flip table is the config's
// handoff.min_score. Exit 0 when every row was compared, 1 when some were skipped (each reported
// with its line), 2 on bad usage or when the HTML report cannot be written.
int compare_file(const std::string& config_path, const CompareCommand& command) {
  auto offline = load_offline_scorers(config_path, command.offer);
  if (!offline) return 2;
  tools::CompareOptions options{command.scorers, command.outcome, offline->offer};
  options.settings.min_n = command.min_n;
  options.settings.bootstrap = command.bootstrap;
  options.settings.seed = command.seed;
  options.settings.handoff_min_score = offline->config.handoff.min_score;
  options.settings.threads = static_cast<unsigned>(command.threads);
  options.threads = command.threads;
  auto input = tools::InputFile::open(command.input);
  if (!input) {
    std::fprintf(stderr, "leadscore: cannot read %s: %s\n", command.input.c_str(),
                 input.error().c_str());
    return 2;
  }
  auto result = tools::compare_csv(offline->scorers, input->text(), options);
  if (!result) {
    std::fprintf(stderr, "leadscore: %s: %s\n", command.input.c_str(), result.error().c_str());
    return 2;
  }
  for (const auto& problem : result->problems)
    std::fprintf(stderr, "%s:%zu: %s\n", command.input.c_str(), problem.line,
                 problem.message.c_str());
  if (!command.html.empty()) {
    const std::string title =
        "Scorers compared: " + std::filesystem::path(command.input).filename().string();
    std::ofstream page(command.html, std::ios::binary | std::ios::trunc);
    page << scoring::report_html(result->report, title);
    page.close();
    if (!page) {
      std::fprintf(stderr, "leadscore: --html: cannot write %s: %s\n", command.html.c_str(),
                   std::strerror(errno));
      return 2;
    }
  }
  std::printf("%s\n", command.as_json ? scoring::report_json(result->report).dump(2).c_str()
                                      : scoring::report_text(result->report).c_str());
  return result->problems.empty() ? 0 : 1;
}

// `leadscore score IN.csv -o OUT.csv [--scorer NAME] [--offer FILE]`: offline, no database.
// Exit 0 when every row was scored, 1 when some were skipped (each reported with its line), 2
// on bad usage.
int score_file(const std::string& config_path, const std::string& input_path,
               const std::string& output_path, const std::string& scorer_name,
               const std::string& offer_path, int threads) {
  auto offline = load_offline_scorers(config_path, offer_path);
  if (!offline) return 2;
  const scoring::ScorerSet& scorers = offline->scorers;
  tools::BatchOptions options;
  options.offer = offline->offer;
  const scoring::Scorer* scorer =
      scorer_name.empty() ? &scorers.primary() : scorers.find(scorer_name);
  if (!scorer) {
    std::fprintf(stderr, "leadscore: --scorer: no scorer named %s in %s\n", scorer_name.c_str(),
                 offline->config.path.c_str());
    return 2;
  }
  options.threads = threads;
  if (isatty(STDERR_FILENO)) {
    options.progress = [](std::size_t done, std::size_t all) {
      const int width = 40;
      const int filled = all ? static_cast<int>(width * done / all) : width;
      std::fprintf(stderr, "\r[%-*s] %zu/%zu", width, std::string(filled, '#').c_str(), done, all);
      if (done == all) std::fputc('\n', stderr);
    };
  }
  const auto started = std::chrono::steady_clock::now();
  auto report = tools::score_csv_file(scorers, *scorer, input_path, output_path, options);
  if (!report) {
    std::fprintf(stderr, "leadscore: %s\n", report.error().c_str());
    return 2;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (const auto& p : report->problems)
    std::fprintf(stderr, "%s:%zu: skipped: %s\n", input_path.c_str(), p.line, p.message.c_str());
  std::fprintf(stderr, "scored %zu of %zu rows with %s (%zu skipped) in %.2f s: %.0f rows/s\n",
               report->scored, report->rows, scorer->name().c_str(), report->problems.size(),
               seconds, seconds > 0 ? report->rows / seconds : 0.0);
  return report->problems.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"leadscore: lead qualification service"};
  app.require_subcommand(1);
  std::string config_path = default_config_path();
  app.add_option("--config", config_path, "configuration file (env LEADSCORE_CONFIG)");

  auto* serve_cmd = app.add_subcommand("serve", "serve the REST API");
  auto* migrate_cmd = app.add_subcommand("migrate", "apply the database migrations");
  auto* keys_cmd = app.add_subcommand("keys", "manage API keys");
  keys_cmd->require_subcommand(1);
  auto* create_cmd = keys_cmd->add_subcommand("create", "create a key and print it once");
  std::string key_name, key_role = "manager";
  create_cmd->add_option("name", key_name, "the key's name (recorded as the actor)")->required();
  create_cmd->add_option("--role", key_role, "viewer | manager | analyst | admin");

  auto* rules_cmd = app.add_subcommand("rules", "test and trace Lua rule scripts");
  rules_cmd->require_subcommand(1);
  auto* rules_test_cmd = rules_cmd->add_subcommand("test", "run rule tests (rules/tests/*.yaml)");
  std::string rules_path = "rules/tests";
  bool as_json = false;
  rules_test_cmd->add_option("path", rules_path, "a test file or a directory of them");
  rules_test_cmd->add_flag("--json", as_json, "print JSON");
  auto* rules_trace_cmd = rules_cmd->add_subcommand("trace", "trace one lead through a script");
  std::string trace_script, trace_lead, trace_offer, trace_params;
  rules_trace_cmd->add_option("script", trace_script, "the rule script")->required();
  rules_trace_cmd->add_option("--lead", trace_lead, "the lead as JSON")->required();
  rules_trace_cmd->add_option("--offer", trace_offer, "ctx.offer: an offer as JSON (POST /offers)");
  rules_trace_cmd->add_option("--params", trace_params, "ctx.params: the scorer's params as JSON");
  rules_trace_cmd->add_flag("--json", as_json, "print JSON");

  auto* compare_cmd =
      app.add_subcommand("compare", "compare scorers over a CSV of leads offline (no database)");
  CompareCommand compare;
  compare_cmd->add_option("input", compare.input, "CSV with a header row")->required();
  compare_cmd->add_option("--scorers", compare.scorers, "configured scorers, comma-separated")
      ->required()
      ->delimiter(',');
  compare_cmd->add_option("--outcome", compare.outcome,
                          "a column saying whether the lead converted (1/0, true/false, ...)");
  compare_cmd->add_option("--offer", compare.offer, "score every lead against this offer (JSON)");
  compare_cmd->add_flag("--json", compare.as_json, "print JSON");
  compare_cmd->add_option("--html", compare.html,
                          "also write the report as one self-contained HTML page to FILE");
  compare_cmd
      ->add_option("--bootstrap", compare.bootstrap,
                   "resamples for the AUC's 95% interval (default 200; 0: none)")
      ->check(CLI::Range(0, 100000));
  compare_cmd->add_option("--seed", compare.seed, "of the bootstrap, so a report repeats");
  compare_cmd
      ->add_option("--min-n", compare.min_n,
                   "leads per outcome class below which outcome metrics are not given "
                   "(default 30)")
      ->check(CLI::Range(1, 1000000000));
  compare_cmd->add_option("--threads", compare.threads, "scoring threads (default 2)")
      ->check(CLI::Range(1, 64));

  auto* score_cmd = app.add_subcommand("score", "score a CSV of leads offline (no database)");
  std::string score_in, score_out, score_scorer, score_offer;
  int score_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  score_cmd->add_option("input", score_in, "CSV with a header row")->required();
  score_cmd->add_option("-o,--output", score_out, "the scored CSV ('-' for stdout)")->required();
  score_cmd->add_option("--scorer", score_scorer, "a configured scorer (default: the primary)");
  score_cmd->add_option("--offer", score_offer,
                        "the offer scorers see: a JSON file as POST /offers takes it");
  score_cmd->add_option("--threads", score_threads, "worker threads")->check(CLI::Range(1, 64));

  auto* door_cmd = app.add_subcommand(
      "front-door", "print the nginx configuration that serves leadscore (the front door)");
  api::FrontDoorSite site;
  site.upstream.clear();
  door_cmd->add_option("--listen", site.listen, "where clients connect: HOST:PORT or PORT");
  door_cmd->add_option("--upstream", site.upstream,
                       "where leadscore listens (default 127.0.0.1:server.port)");
  door_cmd->add_option("--dir", site.dir, "directory of nginx's pid, log and temporary files")
      ->required();
  door_cmd->add_option("--user", site.user, "nginx worker user when started as root");

  // demo-data and report (api/scorer_commands.h).
  const command::ScorerCommands scorer_commands(app);

  CLI11_PARSE(app, argc, argv);
  if (auto code = scorer_commands.run(config_path)) return *code;
  if (door_cmd->parsed()) return print_front_door(config_path, site);
  if (compare_cmd->parsed()) return compare_file(config_path, compare);
  if (score_cmd->parsed())
    return score_file(config_path, score_in, score_out, score_scorer, score_offer, score_threads);
  if (rules_test_cmd->parsed()) return run_rule_tests(config_path, rules_path, as_json);
  if (rules_trace_cmd->parsed())
    return trace_rules(config_path, trace_script, trace_lead, trace_offer, trace_params, as_json);
  if (serve_cmd->parsed()) return serve(config_path);
  if (migrate_cmd->parsed()) return run_migrate(config_path);
  if (create_cmd->parsed()) return create_key(config_path, key_name, key_role);
  return 2;
}
