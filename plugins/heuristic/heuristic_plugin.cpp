// The heuristic scorer as a plugin module (plugins/leadscore_plugin.h): reads its params from
// the JSON text the engine gives, with positions ("LINE:COLUMN: message"), and answers from
// per-thread buffers of each instance (plugins/plugin_support.h).
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdio>
#include <exception>
#include <string>
#include <system_error>

#include "plugins/heuristic/heuristic_scorer.h"
#include "plugins/leadscore_plugin.h"
#include "plugins/plugin_support.h"

struct ls_instance {
  leadscore::scoring::HeuristicScorer scorer;
  leadscore::plugins::PerThread<leadscore::plugins::ResultBuffer> buffers;
};

namespace {

using leadscore::plugins::catch_all;
using leadscore::plugins::write_error;
using leadscore::scoring::HeuristicScorer;

bool looks_like_plain_value(const std::string& text) {
  if (text.empty() || text == "true" || text == "false" || text == "null" || text == "~")
    return true;
  double number = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, number);
  return ec == std::errc{} && ptr == end;
}

// JSON strings come from YAML scalars that were not numbers: mark those as plain scalars again,
// so that "must be a number, got 'high'" does not call `high` a quoted string. A string that
// reads as a number or a boolean was quoted in the config, and stays quoted.
void unquote_words(YAML::Node node) {
  if (node.IsMap()) {
    for (auto entry : node) unquote_words(entry.second);
  } else if (node.IsSequence()) {
    for (auto item : node) unquote_words(item);
  } else if (node.IsScalar() && node.Tag() == "!" && !looks_like_plain_value(node.Scalar())) {
    node.SetTag("?");
  }
}

ls_instance* make_instance(const char* params_json, char* err, std::size_t err_size) {
  YAML::Node params;
  try {
    params = YAML::Load(params_json != nullptr ? params_json : "{}");
  } catch (const YAML::Exception& e) {
    write_error(err, err_size, "params are not valid JSON: " + e.msg);
    return nullptr;
  }
  unquote_words(params);
  leadscore::config::YamlErrors errors("params");
  leadscore::config::YamlMap map(params, "params", errors, {1, 1});
  if (!map.present() && errors.empty())
    errors.add(leadscore::config::Position{1, 1}, "params must be a mapping");
  auto read = leadscore::scoring::read_heuristic_params(map);
  if (!errors.empty()) {
    errors.sort_by_position();
    std::string message;
    for (const auto& e : errors.list()) {
      if (!message.empty()) message += '\n';
      if (e.line > 0) message += std::to_string(e.line) + ":" + std::to_string(e.column) + ": ";
      message += e.message;
    }
    write_error(err, err_size, message);
    return nullptr;
  }
  return new ls_instance{HeuristicScorer("heuristic", std::move(read)), {}};
}

ls_instance* create(const char* params_json, const char*, char* err, std::size_t err_size) {
  return catch_all("heuristic", err, err_size, static_cast<ls_instance*>(nullptr),
                   [&] { return make_instance(params_json, err, err_size); });
}

int score(ls_instance* instance, const ls_features* in, ls_result* out, char* err,
          std::size_t err_size) {
  return catch_all("heuristic scorer failed", err, err_size, LS_ERROR, [&] {
    leadscore::plugins::ResultBuffer& buffer = instance->buffers.for_this_thread();
    if (!leadscore::plugins::read_features(*in, buffer.features, "heuristic", err, err_size))
      return LS_ERROR;
    const HeuristicScorer& scorer = instance->scorer;
    buffer.result = scorer.explain(buffer.features, scorer.evaluate(buffer.features));
    buffer.answer(*out);
    return LS_OK;
  });
}

void destroy(ls_instance* instance) { delete instance; }

const char* instance_version(const ls_instance* instance) {
  return instance->scorer.version().c_str();
}

const ls_plugin kPlugin = {
    LEADSCORE_PLUGIN_ABI_VERSION,
    0,
    sizeof(ls_plugin),
    "heuristic",
    "1.0",
    &create,
    &score,
    &destroy,
    &instance_version,
};

}  // namespace

extern "C" LEADSCORE_PLUGIN_EXPORT const ls_plugin* leadscore_plugin(void) { return &kPlugin; }
