#include "tools/rule_commands.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>
#include <system_error>

#include "engine/scoring/plugin_scorer.h"

namespace leadscore::tools {
namespace {

std::string shortest(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, ec == std::errc{} ? end : buffer);
}

std::string working_directory() {
  std::error_code ec;
  return std::filesystem::current_path(ec).string();
}

// An instance of the module made with `params`; the module's or the plugin's message otherwise.
std::expected<std::unique_ptr<scoring::PluginScorer>, std::string> instance_of(
    const std::string& lua_module, const nlohmann::json& params) {
  auto module = scoring::PluginModule::load(lua_module);
  if (!module) return std::unexpected(module.error());
  return scoring::PluginScorer::create(*module, "lua", params.dump(), working_directory());
}

std::string text_or(const nlohmann::json& object, const char* key, std::string fallback = {}) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// "file:line: message" ("file: message" when the line is unknown), as LoadError::to_text.
std::string load_error_text(const nlohmann::json& error) {
  const int line = error.value("line", 0);
  return text_or(error, "file") + (line > 0 ? ":" + std::to_string(line) : "") + ": " +
         text_or(error, "message");
}

std::string field_values(const nlohmann::json& fields) {
  std::string out;
  for (const auto& f : fields)
    out += (out.empty() ? "" : ", ") + text_or(f, "field") + "=" + text_or(f, "value");
  return out;
}

}  // namespace

std::expected<domain::Features, std::string> features_from_json(const nlohmann::json& lead) {
  if (!lead.is_object()) return std::unexpected(std::string("a lead must be a JSON object"));
  domain::Features f;
  f.source = "manual";
  const auto text = [](const std::string& key, const nlohmann::json& value,
                       std::optional<std::string>& out) -> std::optional<std::string> {
    if (value.is_null()) {
      out.reset();
      return std::nullopt;
    }
    if (!value.is_string()) return key + " must be a string or null, got " + value.dump();
    out = value.get<std::string>();
    return std::nullopt;
  };
  std::string known = "source, stage, activity_count, business_domain";
  domain::for_each_profile_field(
      f.profile, [&](const char* name, auto&) { known += std::string(", ") + name; });
  for (const auto& [key, value] : lead.items()) {
    std::optional<std::string> problem;
    bool found = true;
    if (key == "source") {
      if (!value.is_string() || value.get<std::string>().empty())
        problem = "source must be a non-empty string, got " + value.dump();
      else
        f.source = value.get<std::string>();
    } else if (key == "stage") {
      const auto stage =
          value.is_string() ? domain::parse_lead_stage(value.get<std::string>()) : std::nullopt;
      if (!stage)
        problem = "stage must be one of new, contacted, qualified, transferred, lost; got " +
                  value.dump();
      else
        f.stage = *stage;
    } else if (key == "activity_count") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0)
        problem = "activity_count must be an integer >= 0, got " + value.dump();
      else
        f.activity_count = value.get<std::int64_t>();
    } else if (key == "business_domain") {
      problem = text(key, value, f.business_domain);
    } else {
      found = false;
      domain::for_each_profile_field(f.profile, [&](const char* name, auto& member) {
        if (key != name) return;
        found = true;
        problem = text(key, value, member);
      });
    }
    if (!found) problem = "unknown lead field '" + key + "' (known: " + known + ")";
    if (problem) return std::unexpected(*problem);
  }
  return f;
}

std::expected<RuleTestRun, std::string> run_rule_tests(const std::string& lua_module,
                                                       const std::string& path) {
  auto instance = instance_of(lua_module, {{"tests", path}, {"only_tests", true}});
  if (!instance) return std::unexpected(instance.error());
  if (!(*instance)->has_self_test())
    return std::unexpected("plugin module " + lua_module + " has no self test to run");
  const scoring::SelfTestResult tested = (*instance)->self_test();
  RuleTestRun run;
  run.passed = tested.outcome == scoring::SelfTestResult::Outcome::Passed;
  run.report = nlohmann::json::parse(tested.report, nullptr, /*allow_exceptions=*/false);
  if (!run.report.is_object()) {
    std::string why;
    for (const auto& p : tested.problems) why += (why.empty() ? "" : "\n") + p.message;
    return std::unexpected(
        why.empty() ? "plugin module " + lua_module + " gave no report of its rule tests" : why);
  }
  return run;
}

std::string rule_tests_text(const nlohmann::json& report) {
  std::string text;
  std::size_t load_errors = 0;
  for (const auto& file : report.value("files", nlohmann::json::array())) {
    const std::string script = text_or(file, "script");
    text += text_or(file, "file") + (script.empty() ? "" : " (" + script + ")") + "\n";
    for (const auto& error : file.value("errors", nlohmann::json::array())) {
      text += "  ERROR " + load_error_text(error) + "\n";
      ++load_errors;
    }
    for (const auto& c : file.value("cases", nlohmann::json::array())) {
      text += std::string(c.value("passed", false) ? "  PASS " : "  FAIL ") + text_or(c, "name") +
              " (line " + std::to_string(c.value("line", 0)) + ")\n";
      for (const auto& failure : c.value("failures", nlohmann::json::array()))
        text +=
            "       " + (failure.is_string() ? failure.get<std::string>() : failure.dump()) + "\n";
    }
  }
  text += std::to_string(report.value("cases_passed", 0)) + " passed, " +
          std::to_string(report.value("cases_failed", 0)) + " failed";
  if (load_errors > 0) text += ", " + std::to_string(load_errors) + " load errors";
  text += "\n";
  return text;
}

std::expected<nlohmann::json, std::string> trace_rules(const std::string& lua_module,
                                                       const std::string& script,
                                                       const nlohmann::json& params,
                                                       const domain::Features& lead) {
  nlohmann::json all = params.is_object() ? params : nlohmann::json::object();
  all["script"] = script;
  auto instance = instance_of(lua_module, all);
  if (!instance) return std::unexpected(instance.error());
  auto traced = (*instance)->trace(lead);
  if (!traced) return std::unexpected(traced.error());
  auto json = nlohmann::json::parse(*traced, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object())
    return std::unexpected("plugin module " + lua_module + " gave a trace that is not JSON");
  return json;
}

std::string trace_text(const nlohmann::json& trace) {
  std::string text;
  if (trace.value("per_rule", false)) {
    for (const auto& rule : trace.value("rules", nlohmann::json::array())) {
      const bool matched = rule.value("matched", false);
      const double points = rule.value("points", 0.0);
      text += matched ? "  match    " : "  no match ";
      std::string shown = matched ? (points >= 0 ? "+" : "") + shortest(points) : "";
      shown.resize(std::max<std::size_t>(shown.size(), 8), ' ');
      text += shown + " " + text_or(rule, "rule");
      const auto seen = rule.value("seen", nlohmann::json::array());
      if (!seen.empty()) text += "   [saw " + field_values(seen) + "]";
      text += "\n";
    }
  } else {
    text += "  (the script does not use the rules helper: no per-rule trace)\n";
  }
  const auto read = trace.value("fields_read", nlohmann::json::array());
  text += "fields read: " + (read.empty() ? std::string("none") : field_values(read)) + "\n";
  if (trace.contains("result") && trace["result"].is_object()) {
    const auto& result = trace["result"];
    text += "score " + shortest(result.value("score", 0.0)) + ", " +
            text_or(result, "recommendation") + "\n";
    text += "reason: " + text_or(result, "reason") + "\n";
  } else {
    text += "error: " + text_or(trace, "error") + "\n";
  }
  return text;
}

}  // namespace leadscore::tools
