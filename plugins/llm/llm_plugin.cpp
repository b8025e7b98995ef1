// The LLM scorer as a plugin module (include/leadscore/plugin.h): a slow plugin
// (LS_PLUGIN_SLOW: the engine runs it on its own pool), with the audit of every run, answered
// or failed, in ls_result.audit_json. Answers from per-thread buffers of each instance.
#include <string>

#include "leadscore/plugin.h"
#include "plugins/llm/llm_scorer.h"
#include "plugins/support/error_channel.h"
#include "plugins/support/per_thread.h"
#include "plugins/support/score_answer.h"

namespace {

using leadscore::llm::LlmScorer;
using leadscore::plugin::catch_all;
using leadscore::plugin::write_error;

struct RunBuffer {
  leadscore::plugin::ResultBuffer answer;
  std::string audit;
};

}  // namespace

struct ls_instance {
  std::unique_ptr<LlmScorer> scorer;
  leadscore::plugin::PerThread<RunBuffer> buffers;
};

namespace {

ls_instance* create(const char* params_json, const char* config_dir, char* err,
                    std::size_t err_size) {
  return catch_all("llm", err, err_size, static_cast<ls_instance*>(nullptr), [&] {
    auto scorer = LlmScorer::create(params_json != nullptr ? params_json : "{}",
                                    config_dir != nullptr ? config_dir : ".");
    if (!scorer) {
      write_error(err, err_size, scorer.error());
      return static_cast<ls_instance*>(nullptr);
    }
    return new ls_instance{std::move(*scorer), {}};
  });
}

int score(ls_instance* instance, const ls_features* in, ls_result* out, char* err,
          std::size_t err_size) {
  return catch_all("llm scorer failed", err, err_size, LS_ERROR, [&] {
    RunBuffer& buffer = instance->buffers.for_this_thread();
    if (LS_HAS_FIELD(out, audit_json)) out->audit_json = nullptr;
    if (!leadscore::plugin::read_features(*in, buffer.answer.features, "llm", err, err_size))
      return LS_ERROR;
    const char* offer = LS_HAS_FIELD(in, offer_json) ? in->offer_json : nullptr;
    auto run = instance->scorer->score(buffer.answer.features, offer);
    buffer.audit = std::move(run.audit_json);
    if (LS_HAS_FIELD(out, audit_json)) out->audit_json = buffer.audit.c_str();
    if (!run.result) {
      write_error(err, err_size, "llm: " + run.result.error());
      return LS_ERROR;
    }
    buffer.answer.result = std::move(*run.result);
    buffer.answer.answer(*out);
    return LS_OK;
  });
}

void destroy(ls_instance* instance) { delete instance; }

const char* instance_version(const ls_instance* instance) {
  return instance->scorer->version().c_str();
}

// No self_test: a test would call the upstream, which costs time and tokens. No trace.
const ls_plugin kPlugin = {
    LEADSCORE_PLUGIN_ABI_VERSION,
    0,
    sizeof(ls_plugin),
    "llm",
    "1.0",
    &create,
    &score,
    &destroy,
    &instance_version,
    nullptr,
    nullptr,
    LS_PLUGIN_SLOW,
};

}  // namespace

extern "C" LEADSCORE_PLUGIN_EXPORT const ls_plugin* leadscore_plugin(void) { return &kPlugin; }
