// The Lua rules scorer as a plugin module (include/leadscore/plugin.h): a thin C wrapper over
// LuaScorer. The instance version is the script's version plus the hash of the rule files
// (script and rules/lib), so that every analysis names the exact rules that produced it.
//
// self_test runs the rule tests that the `tests` param names on the instance's own rules, the
// ones that score (rule_tests.h); trace explains one lead rule by rule. An instance made with
// params {"tests": PATH, "only_tests": true} only runs rule tests, each file on the script it
// names (what `leadscore rules test PATH` asks for): it cannot score.
#include <cstddef>
#include <exception>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "leadscore/plugin.h"
#include "plugins/lua/lua_scorer.h"
#include "plugins/lua/rule_tests.h"
#include "plugins/support/error_channel.h"
#include "plugins/support/per_thread.h"
#include "plugins/support/score_answer.h"

namespace {

// A thread's result buffer, with the offer as last parsed, to parse it once per change.
struct LuaResultBuffer : leadscore::plugin::ResultBuffer {
  std::string offer_text;
  nlohmann::json offer;
};

}  // namespace

struct ls_instance {
  std::unique_ptr<leadscore::lua::LuaScorer> scorer;  // null: the instance only runs rule tests
  std::filesystem::path tests;                        // empty: no rule tests
  leadscore::plugin::PerThread<LuaResultBuffer> buffers;
  std::string report;  // the last self_test() or trace() report
};

namespace {

using leadscore::plugin::catch_all;
using leadscore::plugin::write_error;
namespace fs = std::filesystem;

constexpr const char* kVersion = "1.0";

void write_load_errors(const std::vector<leadscore::lua::LoadError>& errors, char* err,
                       std::size_t err_size) {
  std::string message = leadscore::lua::to_text(errors);
  if (!message.empty() && message.back() == '\n') message.pop_back();
  write_error(err, err_size, message);
}

ls_instance* make_instance(const char* params_json, const char* config_dir, char* err,
                           std::size_t err_size) {
  nlohmann::json params;
  try {
    params = nlohmann::json::parse(params_json != nullptr ? params_json : "{}");
  } catch (const nlohmann::json::exception& e) {
    write_error(err, err_size, std::string("params are not valid JSON: ") + e.what());
    return nullptr;
  }
  const fs::path base = config_dir != nullptr ? config_dir : ".";
  auto instance = std::make_unique<ls_instance>();
  const bool tests_only = params.is_object() && params.value("only_tests", false) == true;
  if (tests_only) {
    if (params.size() != 2 || !params.contains("tests") || !params["tests"].is_string() ||
        params["tests"].get<std::string>().empty()) {
      write_error(err, err_size,
                  "params of lua: only_tests takes one other param, tests: the path of a "
                  "rule-test file or directory");
      return nullptr;
    }
    instance->tests = base / params["tests"].get<std::string>();
    return instance.release();
  }
  auto read = leadscore::lua::read_lua_params(params);
  if (!read) {
    std::vector<leadscore::lua::LoadError> errors;
    for (auto& problem : read.error()) errors.push_back({"params of lua", 0, problem});
    write_load_errors(errors, err, err_size);
    return nullptr;
  }
  auto scorer = leadscore::lua::LuaScorer::create_with("lua", *read, base);
  if (!scorer) {
    write_load_errors(scorer.error(), err, err_size);
    return nullptr;
  }
  instance->scorer = std::move(*scorer);
  if (!read->tests.empty()) {
    instance->tests = read->tests.is_absolute() ? read->tests : base / read->tests;
    std::error_code ec;
    if (!fs::exists(instance->tests, ec)) {
      write_error(err, err_size,
                  "params of lua: tests: " + leadscore::lua::display_path(instance->tests) +
                      ": no such file or directory");
      return nullptr;
    }
  }
  return instance.release();
}

ls_instance* create(const char* params_json, const char* config_dir, char* err,
                    std::size_t err_size) {
  return catch_all("lua", err, err_size, static_cast<ls_instance*>(nullptr),
                   [&] { return make_instance(params_json, config_dir, err, err_size); });
}

// The offer as a JSON value, parsed once per change of its text; nullptr when there is none.
const nlohmann::json* offer_of(const ls_features& in, LuaResultBuffer& buffer) {
  const char* offer_json = LS_HAS_FIELD(&in, offer_json) ? in.offer_json : nullptr;
  if (offer_json == nullptr) return nullptr;
  if (buffer.offer_text != offer_json) {
    buffer.offer = nlohmann::json::parse(offer_json);
    buffer.offer_text = offer_json;
  }
  return &buffer.offer;
}

bool can_score(const ls_instance* instance, char* err, std::size_t err_size) {
  if (instance->scorer) return true;
  write_error(err, err_size, "lua: this instance has no script: it only runs rule tests");
  return false;
}

int score(ls_instance* instance, const ls_features* in, ls_result* out, char* err,
          std::size_t err_size) {
  return catch_all("lua scorer failed", err, err_size, LS_ERROR, [&] {
    if (!can_score(instance, err, err_size)) return LS_ERROR;
    LuaResultBuffer& buffer = instance->buffers.for_this_thread();
    if (!leadscore::plugin::read_features(*in, buffer.features, "lua", err, err_size))
      return LS_ERROR;
    auto result = instance->scorer->score(buffer.features, offer_of(*in, buffer));
    if (!result) {
      write_error(err, err_size, result.error());
      return LS_ERROR;
    }
    buffer.result = std::move(*result);
    buffer.answer(*out);
    return LS_OK;
  });
}

void destroy(ls_instance* instance) { delete instance; }

const char* instance_version(const ls_instance* instance) {
  return instance->scorer ? instance->scorer->version().c_str() : kVersion;
}

int self_test(ls_instance* instance, const char** report, char* err, std::size_t err_size) {
  *report = nullptr;
  return catch_all("lua self test", err, err_size, LS_ERROR, [&] {
    leadscore::lua::RuleTestReport tests;
    if (!instance->tests.empty())
      tests = instance->scorer ? leadscore::lua::run_rule_tests(instance->tests, *instance->scorer)
                               : leadscore::lua::run_rule_tests(instance->tests);
    nlohmann::json json = tests.to_json();
    // A scorer without rule tests has nothing that failed.
    const bool passed = instance->tests.empty() || tests.passed();
    json["passed"] = passed;
    if (instance->tests.empty()) json["problems"] = nlohmann::json::array();
    instance->report = json.dump();
    *report = instance->report.c_str();
    return passed ? LS_OK : LS_ERROR;
  });
}

int trace(ls_instance* instance, const ls_features* in, const char** report, char* err,
          std::size_t err_size) {
  *report = nullptr;
  return catch_all("lua trace", err, err_size, LS_ERROR, [&] {
    if (!can_score(instance, err, err_size)) return LS_ERROR;
    LuaResultBuffer& buffer = instance->buffers.for_this_thread();
    if (!leadscore::plugin::read_features(*in, buffer.features, "lua", err, err_size))
      return LS_ERROR;
    const auto traced = instance->scorer->trace(buffer.features, offer_of(*in, buffer));
    instance->report = leadscore::lua::to_json(traced).dump();
    *report = instance->report.c_str();
    return LS_OK;
  });
}

const ls_plugin kPlugin = {
    LEADSCORE_PLUGIN_ABI_VERSION,
    0,
    sizeof(ls_plugin),
    "lua",
    kVersion,
    &create,
    &score,
    &destroy,
    &instance_version,
    &self_test,
    &trace,
};

}  // namespace

extern "C" LEADSCORE_PLUGIN_EXPORT const ls_plugin* leadscore_plugin(void) { return &kPlugin; }
