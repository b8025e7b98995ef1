// One unit although it is long: a rule-test file is read (its shape checked, every problem
// positioned at its file and line), its cases run on a scorer and reported as text and JSON;
// the trace of one lead reads its lead the same way (lead_from_json) and reports in the same
// two forms. The YAML-to-JSON reading and the number and recommendation texts they share stay
// private to this file.
#include "plugins/lua/rule_tests.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

namespace leadscore::lua {
namespace {

namespace fs = std::filesystem;
using plugin::Features;
using plugin::ScoreResult;

constexpr double kTolerance = 1e-9;

std::string shortest(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, ec == std::errc{} ? end : buffer);
}

// yaml-cpp throws when a missing key's node is asked its type: ask these instead.
bool is_map(const YAML::Node& node) { return node.IsDefined() && node.IsMap(); }
bool is_list(const YAML::Node& node) { return node.IsDefined() && node.IsSequence(); }
bool is_scalar(const YAML::Node& node) { return node.IsDefined() && node.IsScalar(); }

int line_of(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const YAML::Mark mark = node.Mark();
  return mark.is_null() || mark.line < 0 ? 0 : mark.line + 1;
}

// YAML as JSON: a quoted scalar is a string; a plain one is a boolean, null, integer or
// number when it reads as one.
nlohmann::json to_json(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  if (node.IsSequence()) {
    auto out = nlohmann::json::array();
    for (const auto& item : node) out.push_back(to_json(item));
    return out;
  }
  if (node.IsMap()) {
    auto out = nlohmann::json::object();
    for (const auto& item : node) out[item.first.Scalar()] = to_json(item.second);
    return out;
  }
  const std::string& text = node.Scalar();
  if (node.Tag() != "?") return text;
  if (text == "true") return true;
  if (text == "false") return false;
  if (text == "null" || text == "~") return nullptr;
  std::int64_t integer = 0;
  if (auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), integer);
      ec == std::errc{} && end == text.data() + text.size())
    return integer;
  double number = 0;
  if (auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      ec == std::errc{} && end == text.data() + text.size())
    return number;
  return text;
}

std::string recommendation_text(plugin::Recommendation r) {
  return std::string(plugin::to_string(r));
}

// Compares one case's result with its expectations; returns the mismatches.
std::vector<std::string> check_case(const YAML::Node& expect,
                                    const std::expected<ScoreResult, std::string>& actual) {
  std::vector<std::string> failures;
  const YAML::Node error = expect["error"];
  if (error.IsDefined()) {
    const std::string wanted = error.Scalar();
    if (actual)
      failures.push_back("error: expected a failure containing '" + wanted + "', got score " +
                         shortest(actual->score) + " (" +
                         recommendation_text(actual->recommendation) + ")");
    else if (actual.error().find(wanted) == std::string::npos)
      failures.push_back("error: expected a message containing '" + wanted + "', got '" +
                         actual.error() + "'");
    return failures;
  }
  if (!actual) {
    failures.push_back("expected a result, got the error: " + actual.error());
    return failures;
  }
  if (const YAML::Node r = expect["recommendation"]; r.IsDefined()) {
    const auto wanted = plugin::parse_recommendation(r.Scalar());
    if (!wanted)
      failures.push_back("recommendation: '" + r.Scalar() +
                         "' is not transfer_to_sales, continue_qualification or drop_lead");
    else if (*wanted != actual->recommendation)
      failures.push_back("recommendation: expected " + r.Scalar() + ", got " +
                         recommendation_text(actual->recommendation));
  }
  if (const YAML::Node s = expect["score"]; s.IsDefined()) {
    const double wanted = s.as<double>();
    if (!(std::abs(actual->score - wanted) <= kTolerance))
      failures.push_back("score: expected " + shortest(wanted) + ", got " +
                         shortest(actual->score));
  }
  if (const YAML::Node range = expect["score_range"]; range.IsDefined()) {
    const double low = range[0].as<double>(), high = range[1].as<double>();
    if (!(actual->score >= low && actual->score <= high))
      failures.push_back("score: expected in [" + shortest(low) + ", " + shortest(high) +
                         "], got " + shortest(actual->score));
  }
  if (const YAML::Node list = expect["contributions"]; list.IsDefined()) {
    for (const auto& item : list) {
      const std::string rule = item.IsMap() ? item["rule"].Scalar() : item.Scalar();
      const auto found =
          std::ranges::find(actual->contributions, rule, &plugin::Contribution::rule);
      std::string got;
      for (const auto& c : actual->contributions)
        got += (got.empty() ? "" : ", ") + c.rule + " " + shortest(c.points);
      if (found == actual->contributions.end()) {
        failures.push_back("contributions: expected '" + rule + "' among them, got [" + got + "]");
      } else if (item.IsMap() && item["points"].IsDefined()) {
        const double wanted = item["points"].as<double>();
        if (!(std::abs(found->points - wanted) <= kTolerance))
          failures.push_back("contributions: expected '" + rule + "' with " + shortest(wanted) +
                             " points, got " + shortest(found->points));
      }
    }
  }
  return failures;
}

// The shape of a test file, checked before anything runs: every problem with its line.
std::vector<LoadError> check_shape(const std::string& file, const YAML::Node& root) {
  std::vector<LoadError> errors;
  const auto add = [&](const YAML::Node& at, std::string message) {
    errors.push_back({file, line_of(at), std::move(message)});
  };
  if (!is_map(root)) {
    add(root, "a rule-test file must be a mapping with `script` and `cases`");
    return errors;
  }
  for (const auto& item : root) {
    const std::string& key = item.first.Scalar();
    if (key != "script" && key != "params" && key != "offer" && key != "cases")
      add(item.first, "unknown key '" + key + "' (known: script, params, offer, cases)");
  }
  if (!is_scalar(root["script"])) add(root, "missing key 'script': the rule script to test");
  if (root["params"].IsDefined() && !is_map(root["params"]))
    add(root["params"], "params must be a mapping");
  const YAML::Node cases = root["cases"];
  if (!is_list(cases) || cases.size() == 0) {
    add(cases.IsDefined() ? cases : root, "cases must be a non-empty list");
    return errors;
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const YAML::Node c = cases[i];
    const std::string at = "cases[" + std::to_string(i) + "]";
    if (!is_map(c)) {
      add(c, at + " must be a mapping with name, lead and expect");
      continue;
    }
    for (const auto& item : c) {
      const std::string& key = item.first.Scalar();
      if (key != "name" && key != "lead" && key != "offer" && key != "expect")
        add(item.first, at + ": unknown key '" + key + "' (known: name, lead, offer, expect)");
    }
    if (!is_map(c["lead"])) add(c, at + ": missing mapping 'lead'");
    const YAML::Node expect = c["expect"];
    if (!is_map(expect)) {
      add(c, at + ": missing mapping 'expect'");
      continue;
    }
    for (const auto& item : expect) {
      const std::string& key = item.first.Scalar();
      const YAML::Node v = item.second;
      const auto is_number = [](const YAML::Node& n) {
        try {
          (void)n.as<double>();
          return is_scalar(n) && n.Tag() == "?";
        } catch (const YAML::Exception&) {
          return false;
        }
      };
      if (key == "recommendation" || key == "error") {
        if (!is_scalar(v)) add(v, at + ".expect." + key + " must be a text");
      } else if (key == "score") {
        if (!is_number(v)) add(v, at + ".expect.score must be a number");
      } else if (key == "score_range") {
        if (!is_list(v) || v.size() != 2 || !is_number(v[0]) || !is_number(v[1]))
          add(v, at + ".expect.score_range must be [low, high]");
      } else if (key == "contributions") {
        if (!is_list(v)) {
          add(v, at + ".expect.contributions must be a list");
          continue;
        }
        for (const auto& entry : v)
          if (!(is_scalar(entry) || (is_map(entry) && is_scalar(entry["rule"]) &&
                                     (!entry["points"].IsDefined() || is_number(entry["points"])))))
            add(entry, at + ".expect.contributions: each is a rule label or {rule, points}");
      } else {
        add(item.first, at + ".expect: unknown key '" + key +
                            "' (known: recommendation, score, score_range, contributions, error)");
      }
    }
  }
  return errors;
}

// A test file read and its shape checked; `errors` says why it cannot run.
struct LoadedTestFile {
  YAML::Node root;
  RuleTestFile result;
};

LoadedTestFile load_file(const fs::path& path) {
  LoadedTestFile loaded;
  RuleTestFile& result = loaded.result;
  result.file = display_path(path);
  try {
    loaded.root = YAML::LoadFile(path.string());
  } catch (const YAML::ParserException& e) {
    result.errors.push_back({result.file, e.mark.line + 1, e.msg});
    return loaded;
  } catch (const YAML::Exception& e) {
    result.errors.push_back({result.file, 0, e.what()});
    return loaded;
  }
  result.errors = check_shape(result.file, loaded.root);
  return loaded;
}

// The script a test file names, absolute and normalised.
fs::path script_of(const fs::path& path, const YAML::Node& root) {
  const fs::path script = root["script"].Scalar();
  std::error_code ec;
  const fs::path absolute =
      script.is_absolute() ? script : fs::absolute(path.parent_path() / script, ec);
  return absolute.lexically_normal();
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::equivalent(a, b, ec)) return true;
  return a.lexically_normal() == b.lexically_normal();
}

// Runs every case of a loaded file on `scorer`.
void run_cases(const YAML::Node& root, const LuaScorer& scorer, RuleTestFile& result) {
  result.script = scorer.files().front();
  const nlohmann::json file_offer = to_json(root["offer"]);
  for (const auto& c : root["cases"]) {
    RuleCaseResult outcome;
    outcome.line = line_of(c);
    outcome.name =
        is_scalar(c["name"]) ? c["name"].Scalar() : "case at line " + std::to_string(outcome.line);
    const auto lead = lead_from_json(to_json(c["lead"]));
    if (!lead) {
      outcome.failures.push_back("lead: " + lead.error());
    } else {
      const nlohmann::json offer = c["offer"].IsDefined() ? to_json(c["offer"]) : file_offer;
      const auto actual = scorer.score(*lead, offer.is_null() ? nullptr : &offer);
      if (actual)
        outcome.actual = *actual;
      else
        outcome.error = actual.error();
      outcome.failures = check_case(c["expect"], actual);
    }
    outcome.passed = outcome.failures.empty();
    result.cases.push_back(std::move(outcome));
  }
}

// A file on the script it names.
RuleTestFile run_file(const fs::path& path) {
  LoadedTestFile loaded = load_file(path);
  RuleTestFile& result = loaded.result;
  if (!result.errors.empty()) return result;
  const YAML::Node& root = loaded.root;
  nlohmann::json params =
      root["params"].IsDefined() ? to_json(root["params"]) : nlohmann::json::object();
  params["script"] = root["script"].Scalar();
  auto scorer = LuaScorer::create("rule-test", params, path.parent_path());
  if (!scorer) {
    result.errors = scorer.error();
    return result;
  }
  run_cases(root, **scorer, result);
  return std::move(result);
}

// A loaded file on a configured scorer's rules.
RuleTestFile run_file_on(LoadedTestFile loaded, const LuaScorer& scorer) {
  RuleTestFile& result = loaded.result;
  const YAML::Node& root = loaded.root;
  if (!root["params"].IsDefined()) {
    run_cases(root, scorer, result);
    return std::move(result);
  }
  auto with_params = scorer.with_params(to_json(root["params"]));
  if (!with_params) {
    result.errors = with_params.error();
    return std::move(result);
  }
  run_cases(root, **with_params, result);
  return std::move(result);
}

std::vector<fs::path> test_files(const fs::path& path) {
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec))
      if (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml")
        files.push_back(entry.path());
    std::ranges::sort(files);
  } else if (fs::exists(path, ec)) {
    files.push_back(path);
  }
  return files;
}

RuleTestFile missing_files(const fs::path& path, const std::string& why) {
  RuleTestFile missing;
  missing.file = display_path(path);
  missing.errors.push_back({missing.file, 0, why});
  return missing;
}

void count(RuleTestReport& report) {
  for (const auto& file : report.files) {
    report.load_errors += file.errors.size();
    for (const auto& c : file.cases) (c.passed ? report.cases_passed : report.cases_failed)++;
  }
}

}  // namespace

bool RuleTestFile::passed() const {
  return errors.empty() && std::ranges::all_of(cases, &RuleCaseResult::passed);
}

RuleTestReport run_rule_tests(const fs::path& path) {
  RuleTestReport report;
  const std::vector<fs::path> files = test_files(path);
  std::error_code ec;
  if (files.empty())
    report.files.push_back(missing_files(path, fs::exists(path, ec)
                                                   ? "no rule-test files (*.yaml) here"
                                                   : "no such file or directory"));
  for (const auto& file : files) report.files.push_back(run_file(file));
  count(report);
  return report;
}

RuleTestReport run_rule_tests(const fs::path& path, const LuaScorer& scorer) {
  RuleTestReport report;
  const std::vector<fs::path> files = test_files(path);
  std::error_code ec;
  const bool one_file = !fs::is_directory(path, ec);
  const std::string script = display_path(scorer.script_path());
  for (const auto& file : files) {
    LoadedTestFile loaded = load_file(file);
    if (!loaded.result.errors.empty()) {
      report.files.push_back(std::move(loaded.result));
      continue;
    }
    const fs::path tested = script_of(file, loaded.root);
    if (same_file(tested, scorer.script_path())) {
      report.files.push_back(run_file_on(std::move(loaded), scorer));
    } else if (one_file) {
      loaded.result.errors.push_back(
          {loaded.result.file, line_of(loaded.root["script"]),
           "tests " + display_path(tested) + ", not " + script + ", the script of this scorer"});
      report.files.push_back(std::move(loaded.result));
    }
  }
  if (report.files.empty())
    report.files.push_back(missing_files(
        path, files.empty() ? (fs::exists(path, ec) ? "no rule-test files (*.yaml) here"
                                                    : "no such file or directory")
                            : "no rule-test file here tests " + script));
  count(report);
  return report;
}

std::vector<LoadError> RuleTestReport::problems() const {
  std::vector<LoadError> out;
  for (const auto& file : files) {
    for (const auto& e : file.errors) out.push_back(e);
    for (const auto& c : file.cases) {
      if (c.passed) continue;
      std::string what = "rule test '" + c.name + "' failed";
      for (const auto& f : c.failures) what += "; " + f;
      if (c.error) what += "; " + *c.error;
      out.push_back({file.file, c.line, what});
    }
  }
  if (out.empty() && !passed()) out.push_back({"", 0, "no rule test ran"});
  return out;
}

std::string RuleTestReport::to_text() const {
  std::string text;
  for (const auto& file : files) {
    text += file.file + (file.script.empty() ? "" : " (" + file.script + ")") + "\n";
    for (const auto& error : file.errors) text += "  ERROR " + error.to_text() + "\n";
    for (const auto& c : file.cases) {
      text += std::string(c.passed ? "  PASS " : "  FAIL ") + c.name + " (line " +
              std::to_string(c.line) + ")\n";
      for (const auto& failure : c.failures) text += "       " + failure + "\n";
    }
  }
  text += std::to_string(cases_passed) + " passed, " + std::to_string(cases_failed) + " failed";
  if (load_errors > 0) text += ", " + std::to_string(load_errors) + " load errors";
  text += "\n";
  return text;
}

nlohmann::json RuleTestReport::to_json() const {
  auto out = nlohmann::json::object();
  out["passed"] = passed();
  out["cases_passed"] = cases_passed;
  out["cases_failed"] = cases_failed;
  auto list = nlohmann::json::array();
  for (const auto& file : files) {
    auto f = nlohmann::json::object();
    f["file"] = file.file;
    f["script"] = file.script;
    f["errors"] = nlohmann::json::array();
    for (const auto& error : file.errors) f["errors"].push_back(error.to_json());
    f["cases"] = nlohmann::json::array();
    for (const auto& c : file.cases) {
      nlohmann::json one = {
          {"name", c.name}, {"line", c.line}, {"passed", c.passed}, {"failures", c.failures}};
      if (c.actual)
        one["actual"] = {{"score", c.actual->score},
                         {"recommendation", plugin::to_string(c.actual->recommendation)},
                         {"reason", c.actual->reason}};
      if (c.error) one["error"] = *c.error;
      f["cases"].push_back(std::move(one));
    }
    list.push_back(std::move(f));
  }
  out["files"] = std::move(list);
  out["problems"] = nlohmann::json::array();
  for (const auto& problem : problems()) out["problems"].push_back(problem.to_json());
  return out;
}

std::expected<Features, std::string> lead_from_json(const nlohmann::json& lead) {
  if (!lead.is_object()) return std::unexpected(std::string("a lead must be a JSON object"));
  Features f;
  f.source = "manual";
  for (const auto& [key, value] : lead.items()) {
    std::optional<std::string> problem;
    if (key == "source") {
      if (!value.is_string() || value.get<std::string>().empty())
        problem = "source must be a non-empty string, got " + value.dump();
      else
        f.source = value.get<std::string>();
    } else if (key == "stage") {
      const auto stage =
          value.is_string() ? plugin::parse_stage(value.get<std::string>()) : std::nullopt;
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
    } else if (!value.is_null() && !value.is_string()) {
      problem = key + " must be a string or null, got " + value.dump();
    } else if (key == "business_domain") {
      if (value.is_string()) f.business_domain = value.get<std::string>();
    } else {
      f.set_field(key, value.is_string() ? std::optional(value.get<std::string>()) : std::nullopt);
    }
    if (problem) return std::unexpected(*problem);
  }
  return f;
}

std::expected<LeadTrace, std::vector<LoadError>> trace_rules(const fs::path& script,
                                                             const Features& lead,
                                                             const nlohmann::json* offer,
                                                             const nlohmann::json& params) {
  nlohmann::json all = params.is_object() ? params : nlohmann::json::object();
  all["script"] = script.string();
  auto scorer = LuaScorer::create("trace", all, fs::current_path());
  if (!scorer) return std::unexpected(scorer.error());
  return (*scorer)->trace(lead, offer);
}

std::string to_text(const LeadTrace& trace) {
  std::string text;
  const auto values = [](const std::vector<FieldValue>& fields) {
    std::string out;
    for (const auto& f : fields) out += (out.empty() ? "" : ", ") + f.field + "=" + f.value;
    return out;
  };
  if (trace.per_rule) {
    for (const auto& rule : trace.rules) {
      text += rule.matched ? "  match    " : "  no match ";
      std::string points =
          rule.matched ? (rule.points >= 0 ? "+" : "") + shortest(rule.points) : "";
      points.resize(std::max<std::size_t>(points.size(), 8), ' ');
      text += points + " " + rule.rule;
      if (!rule.seen.empty()) text += "   [saw " + values(rule.seen) + "]";
      text += "\n";
    }
  } else {
    text += "  (the script does not use the rules helper: no per-rule trace)\n";
  }
  text += "fields read: " + (trace.fields_read.empty() ? "none" : values(trace.fields_read)) + "\n";
  if (trace.result) {
    text += "score " + shortest(trace.result->score) + ", " +
            std::string(plugin::to_string(trace.result->recommendation)) + "\n";
    text += "reason: " + trace.result->reason + "\n";
  } else {
    text += "error: " + trace.result.error() + "\n";
  }
  return text;
}

nlohmann::json to_json(const LeadTrace& trace) {
  const auto fields = [](const std::vector<FieldValue>& list) {
    auto out = nlohmann::json::array();
    for (const auto& f : list) out.push_back({{"field", f.field}, {"value", f.value}});
    return out;
  };
  auto out = nlohmann::json::object();
  out["per_rule"] = trace.per_rule;
  out["rules"] = nlohmann::json::array();
  for (const auto& rule : trace.rules)
    out["rules"].push_back({{"rule", rule.rule},
                            {"matched", rule.matched},
                            {"points", rule.points},
                            {"seen", fields(rule.seen)}});
  out["fields_read"] = fields(trace.fields_read);
  if (trace.result) {
    auto contributions = nlohmann::json::array();
    for (const auto& c : trace.result->contributions)
      contributions.push_back({{"rule", c.rule}, {"points", c.points}});
    out["result"] = {{"score", trace.result->score},
                     {"recommendation", plugin::to_string(trace.result->recommendation)},
                     {"reason", trace.result->reason},
                     {"contributions", std::move(contributions)}};
  } else {
    out["error"] = trace.result.error();
  }
  return out;
}

}  // namespace leadscore::lua
