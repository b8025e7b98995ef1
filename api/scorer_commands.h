// The commands about comparing scorers that the `leadscore` binary adds to its command line:
// `leadscore demo-data` (demo leads with known outcomes, tools/demo_data.h) and `leadscore
// report` (the live report of every scorer and version against closed sales, as GET
// /reports/scorers answers it).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace leadscore::command {

class ScorerCommands {
 public:
  // Adds the subcommands to `app`; the options are bound to this object, which must outlive
  // the parse.
  explicit ScorerCommands(CLI::App& app);
  ScorerCommands(const ScorerCommands&) = delete;
  ScorerCommands& operator=(const ScorerCommands&) = delete;

  // The exit code of the subcommand parsed; nullopt when it was none of these.
  std::optional<int> run(const std::string& config_path) const;

 private:
  CLI::App* demo_ = nullptr;
  std::size_t demo_n_ = 1000;
  std::uint64_t demo_seed_ = 1;
  std::string demo_out_;

  CLI::App* report_ = nullptr;
  std::string since_, until_, html_path_;
  bool as_json_ = false;
};

}  // namespace leadscore::command
