// A Scorer backed by an instance of a plugin module (include/leadscore/plugin.h): converts the
// lead's Features to the C structs, calls the plugin, checks its result and copies it out; runs
// the plugin's optional self test and trace. No exception crosses the plugin boundary in either
// direction.
//
// Threading: score() is safe from any number of threads at once (the ABI requires plugins to
// allow concurrent score() calls on one instance).
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/scoring/plugin_loader.h"
#include "engine/scoring/scorer.h"

namespace leadscore::scoring {

// What a plugin's self_test found (include/leadscore/plugin.h).
struct SelfTestResult {
  enum class Outcome {
    NotAvailable,  // the plugin has no self_test: nothing ran, which is no pass
    Passed,
    Failed,
  };
  struct Problem {
    std::string file;  // "" when the plugin named none
    int line = 0;      // 0 when unknown
    std::string message;
  };
  Outcome outcome = Outcome::NotAvailable;
  std::string report;             // the plugin's report, a JSON object text; "" when none
  std::vector<Problem> problems;  // when Failed: at least one
};

// An audit as it is kept: `text` when it is a JSON object of at most kMaxAuditBytes (written
// again compactly, as PostgreSQL's jsonb will take it), else {"invalid_audit": "<why>"}.
std::string checked_audit(std::string_view text);

class PluginScorer final : public Scorer {
 public:
  // Makes one instance of the plugin. On failure: the plugin's message (which may have several
  // lines, each possibly starting with "LINE:COLUMN: " in params_json; see params_json.h).
  static std::expected<std::unique_ptr<PluginScorer>, std::string> create(
      std::shared_ptr<const PluginModule> module, std::string name, const std::string& params_json,
      const std::string& config_dir);

  ~PluginScorer() override;
  PluginScorer(const PluginScorer&) = delete;
  PluginScorer& operator=(const PluginScorer&) = delete;

  const std::string& name() const override { return name_; }
  // The instance's version when the plugin reports one, else the plugin's version.
  const std::string& version() const override { return version_; }
  // The plugin's result once it passed the result contract (domain::check), or why this run
  // failed: the plugin's error, or what was wrong with its result.
  std::expected<ScoreResult, std::string> score(const Features& features) const override;
  // The same, with the plugin's audit_json (checked_audit) after LS_OK and after LS_ERROR, when
  // the module was built with it.
  ScorerAnswer run(const Features& features) const override;
  // The module is flagged LS_PLUGIN_SLOW.
  bool slow() const override { return module_->slow(); }

  const PluginModule& module() const { return *module_; }

  // Runs the plugin's self_test on this instance (one call at a time per instance).
  bool has_self_test() const { return module_->self_test() != nullptr; }
  SelfTestResult self_test() const;
  // The plugin's trace of one lead (its report, a JSON object text), or why there is none: the
  // plugin has no trace, or it failed.
  std::expected<std::string, std::string> trace(const Features& features) const;

 private:
  PluginScorer(std::shared_ptr<const PluginModule> module, std::string name, ls_instance* instance);

  std::shared_ptr<const PluginModule> module_;
  std::string name_;
  std::string version_;
  ls_instance* instance_;
};

}  // namespace leadscore::scoring
