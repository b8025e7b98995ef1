// The heuristic scorer as a plugin module (include/leadscore/plugin.h): reads its params from
// the JSON text the engine gives, with positions ("LINE:COLUMN: message"), and answers from
// per-thread buffers of each instance (plugins/support).
#include <string>

#include "leadscore/plugin.h"
#include "plugins/heuristic/heuristic_scorer.h"
#include "plugins/support/error_channel.h"
#include "plugins/support/per_thread.h"
#include "plugins/support/score_answer.h"

struct ls_instance {
  leadscore::heuristic::HeuristicScorer scorer;
  leadscore::plugin::PerThread<leadscore::plugin::ResultBuffer> buffers;
};

namespace {

using leadscore::heuristic::HeuristicScorer;
using leadscore::plugin::catch_all;
using leadscore::plugin::write_error;

ls_instance* make_instance(const char* params_json, char* err, std::size_t err_size) {
  auto params =
      leadscore::heuristic::read_heuristic_params(params_json != nullptr ? params_json : "{}");
  if (!params) {
    write_error(err, err_size, params.error());
    return nullptr;
  }
  return new ls_instance{HeuristicScorer("heuristic", std::move(*params)), {}};
}

ls_instance* create(const char* params_json, const char*, char* err, std::size_t err_size) {
  return catch_all("heuristic", err, err_size, static_cast<ls_instance*>(nullptr),
                   [&] { return make_instance(params_json, err, err_size); });
}

int score(ls_instance* instance, const ls_features* in, ls_result* out, char* err,
          std::size_t err_size) {
  return catch_all("heuristic scorer failed", err, err_size, LS_ERROR, [&] {
    leadscore::plugin::ResultBuffer& buffer = instance->buffers.for_this_thread();
    if (!leadscore::plugin::read_features(*in, buffer.features, "heuristic", err, err_size))
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

// No self_test (the heuristic has no tests of its own to run) and no trace.
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
    nullptr,
    nullptr,
};

}  // namespace

extern "C" LEADSCORE_PLUGIN_EXPORT const ls_plugin* leadscore_plugin(void) { return &kPlugin; }
