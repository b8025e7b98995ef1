// The heuristic scorer as a plugin module (plugins/leadscore_plugin.h): reads its params from
// the JSON text the engine gives, with positions ("LINE:COLUMN: message"), and answers from
// per-thread buffers of each instance.
#include <yaml-cpp/yaml.h>

#include <array>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#include "plugins/heuristic/heuristic_scorer.h"
#include "plugins/leadscore_plugin.h"

struct ls_instance {
  leadscore::scoring::HeuristicScorer scorer;
  std::uint64_t id;  // unique for the life of the process: keys the per-thread buffers
};

namespace {

using leadscore::domain::LeadStage;
using leadscore::domain::Recommendation;
using leadscore::scoring::Features;
using leadscore::scoring::HeuristicScorer;
using leadscore::scoring::ScoreResult;

std::atomic<std::uint64_t> next_instance_id{1};

void write_error(char* err, std::size_t size, const std::string& message) {
  if (err == nullptr || size == 0) return;
  const std::size_t n = message.size() < size - 1 ? message.size() : size - 1;
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

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

// A result of one instance on one thread, valid until that thread's next score() call on the
// instance (the ABI's ownership rule). Buffers never move once made, so that a result stays
// put while other instances score on the same thread.
struct ResultBuffer {
  std::uint64_t instance = 0;  // 0: unused
  std::uint64_t last_used = 0;
  Features features;
  ScoreResult result;
  std::vector<ls_contribution> contributions;
};

// Instances are few (one per configured heuristic scorer): a few buffers per thread, the least
// recently used one reused for an instance that has none.
constexpr std::size_t kBuffersPerThread = 8;
thread_local std::array<ResultBuffer, kBuffersPerThread> buffers;
thread_local std::uint64_t buffer_clock = 0;

ResultBuffer& buffer_for(std::uint64_t instance) {
  ResultBuffer* oldest = &buffers[0];
  for (ResultBuffer& buffer : buffers) {
    if (buffer.instance == instance) {
      buffer.last_used = ++buffer_clock;
      return buffer;
    }
    if (buffer.last_used < oldest->last_used) oldest = &buffer;
  }
  oldest->instance = instance;
  oldest->last_used = ++buffer_clock;
  return *oldest;
}

const char* recommendation_text(Recommendation r) {
  switch (r) {
    case Recommendation::TransferToSales:
      return "transfer_to_sales";
    case Recommendation::DropLead:
      return "drop_lead";
    case Recommendation::ContinueQualification:
      break;
  }
  return "continue_qualification";
}

ls_instance* create(const char* params_json, const char*, char* err, std::size_t err_size) {
  try {
    const YAML::Node params = YAML::Load(params_json != nullptr ? params_json : "{}");
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
    return new ls_instance{HeuristicScorer("heuristic", std::move(read)),
                           next_instance_id.fetch_add(1)};
  } catch (const YAML::Exception& e) {
    write_error(err, err_size, "params are not valid JSON: " + e.msg);
  } catch (const std::exception& e) {
    write_error(err, err_size, std::string("heuristic: ") + e.what());
  } catch (...) {
    write_error(err, err_size, "heuristic: create failed");
  }
  return nullptr;
}

int score(ls_instance* instance, const ls_features* in, ls_result* out, char* err,
          std::size_t err_size) {
  try {
    if (in->stage_code < 0 || in->stage_code > static_cast<int>(LeadStage::Lost)) {
      write_error(err, err_size, "heuristic: unknown stage code " + std::to_string(in->stage_code));
      return LS_ERROR;
    }
    ResultBuffer& buffer = buffer_for(instance->id);
    Features& features = buffer.features;  // reused: no allocation for short texts
    features.source.assign(in->source != nullptr ? in->source : "");
    features.stage = static_cast<LeadStage>(in->stage_code);
    features.activity_count = in->activity_count;
    if (in->business_domain == nullptr)
      features.business_domain.reset();
    else if (features.business_domain)
      features.business_domain->assign(in->business_domain);
    else
      features.business_domain.emplace(in->business_domain);

    const HeuristicScorer& scorer = instance->scorer;
    buffer.result = scorer.explain(features, scorer.evaluate(features));
    const ScoreResult& result = buffer.result;
    buffer.contributions.resize(result.contributions.size());
    for (std::size_t i = 0; i < result.contributions.size(); ++i)
      buffer.contributions[i] = {result.contributions[i].rule.c_str(),
                                 result.contributions[i].points};
    out->score = result.score;
    out->recommendation = recommendation_text(result.recommendation);
    out->reason = result.reason.c_str();
    out->contributions = buffer.contributions.data();
    out->contribution_count = buffer.contributions.size();
    out->intent = nullptr;
    return LS_OK;
  } catch (const std::exception& e) {
    write_error(err, err_size, std::string("heuristic scorer failed: ") + e.what());
  } catch (...) {
    write_error(err, err_size, "heuristic scorer failed");
  }
  return LS_ERROR;
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
