// The Lua rules scorer as a plugin module (plugins/leadscore_plugin.h): a thin C wrapper over
// LuaScorer. The instance version is the script's version plus the hash of the rule files
// (script and rules/lib), so that every analysis names the exact rules that produced it.
#include <cstddef>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "plugins/leadscore_plugin.h"
#include "plugins/lua/lua_scorer.h"
#include "plugins/plugin_support.h"

namespace {

// A thread's result buffer, with the offer as last parsed, to parse it once per change.
struct LuaResultBuffer : leadscore::plugins::ResultBuffer {
  std::string offer_text;
  nlohmann::json offer;
};

}  // namespace

struct ls_instance {
  std::unique_ptr<leadscore::lua::LuaScorer> scorer;
  leadscore::plugins::PerThread<LuaResultBuffer> buffers;
};

namespace {

using leadscore::plugins::catch_all;
using leadscore::plugins::write_error;

ls_instance* make_instance(const char* params_json, const char* config_dir, char* err,
                           std::size_t err_size) {
  nlohmann::json params;
  try {
    params = nlohmann::json::parse(params_json != nullptr ? params_json : "{}");
  } catch (const nlohmann::json::exception& e) {
    write_error(err, err_size, std::string("params are not valid JSON: ") + e.what());
    return nullptr;
  }
  auto scorer =
      leadscore::lua::LuaScorer::create("lua", params, config_dir != nullptr ? config_dir : ".");
  if (!scorer) {
    std::string message = leadscore::lua::to_text(scorer.error());
    if (!message.empty() && message.back() == '\n') message.pop_back();
    write_error(err, err_size, message);
    return nullptr;
  }
  return new ls_instance{std::move(*scorer), {}};
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

int score(ls_instance* instance, const ls_features* in, ls_result* out, char* err,
          std::size_t err_size) {
  return catch_all("lua scorer failed", err, err_size, LS_ERROR, [&] {
    LuaResultBuffer& buffer = instance->buffers.for_this_thread();
    if (!leadscore::plugins::read_features(*in, buffer.features, "lua", err, err_size))
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
  return instance->scorer->version().c_str();
}

const ls_plugin kPlugin = {
    LEADSCORE_PLUGIN_ABI_VERSION,
    0,
    sizeof(ls_plugin),
    "lua",
    "1.0",
    &create,
    &score,
    &destroy,
    &instance_version,
};

}  // namespace

extern "C" LEADSCORE_PLUGIN_EXPORT const ls_plugin* leadscore_plugin(void) { return &kPlugin; }
