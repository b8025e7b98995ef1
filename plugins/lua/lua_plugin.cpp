// The Lua rules scorer as a plugin module (plugins/leadscore_plugin.h): a thin C wrapper over
// LuaScorer. The instance version is the script's version plus the hash of the rule files
// (script and rules/lib), so that every analysis names the exact rules that produced it.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plugins/leadscore_plugin.h"
#include "plugins/lua/lua_scorer.h"

struct ls_instance {
  std::unique_ptr<leadscore::lua::LuaScorer> scorer;
  std::uint64_t id;  // unique for the life of the process: keys the per-thread buffers
};

namespace {

using leadscore::domain::Features;
using leadscore::domain::LeadStage;
using leadscore::domain::Recommendation;
using leadscore::domain::ScoreResult;

std::atomic<std::uint64_t> next_instance_id{1};

void write_error(char* err, std::size_t size, const std::string& message) {
  if (err == nullptr || size == 0) return;
  const std::size_t n = message.size() < size - 1 ? message.size() : size - 1;
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

// One instance's result on one thread, valid until that thread's next score() on the instance.
struct ResultBuffer {
  std::uint64_t instance = 0;
  Features features;
  ScoreResult result;
  std::vector<ls_contribution> contributions;
  std::string offer_text;  // the offer as last parsed, to parse it once per change
  nlohmann::json offer;
};

// Per thread, one buffer per instance that scored on it. A destroyed instance's buffer stays
// until the thread ends (a few hundred bytes; instances are made only at start and on reload).
thread_local std::vector<std::unique_ptr<ResultBuffer>> buffers;

ResultBuffer& buffer_for(std::uint64_t instance) {
  for (auto& buffer : buffers)
    if (buffer->instance == instance) return *buffer;
  buffers.push_back(std::make_unique<ResultBuffer>());
  buffers.back()->instance = instance;
  return *buffers.back();
}

void assign(std::optional<std::string>& out, const char* text) {
  if (text == nullptr)
    out.reset();
  else
    out = text;
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

ls_instance* create(const char* params_json, const char* config_dir, char* err,
                    std::size_t err_size) {
  try {
    const auto params = nlohmann::json::parse(params_json != nullptr ? params_json : "{}");
    auto scorer =
        leadscore::lua::LuaScorer::create("lua", params, config_dir != nullptr ? config_dir : ".");
    if (!scorer) {
      std::string message = leadscore::lua::to_text(scorer.error());
      if (!message.empty() && message.back() == '\n') message.pop_back();
      write_error(err, err_size, message);
      return nullptr;
    }
    return new ls_instance{std::move(*scorer), next_instance_id.fetch_add(1)};
  } catch (const nlohmann::json::exception& e) {
    write_error(err, err_size, std::string("params are not valid JSON: ") + e.what());
  } catch (const std::exception& e) {
    write_error(err, err_size, std::string("lua: ") + e.what());
  } catch (...) {
    write_error(err, err_size, "lua: create failed");
  }
  return nullptr;
}

int score(ls_instance* instance, const ls_features* in, ls_result* out, char* err,
          std::size_t err_size) {
  try {
    if (in->stage_code < 0 || in->stage_code > static_cast<int>(LeadStage::Lost)) {
      write_error(err, err_size, "lua: unknown stage code " + std::to_string(in->stage_code));
      return LS_ERROR;
    }
    ResultBuffer& buffer = buffer_for(instance->id);
    Features& f = buffer.features;
    f.source.assign(in->source != nullptr ? in->source : "");
    f.stage = static_cast<LeadStage>(in->stage_code);
    f.activity_count = in->activity_count;
    assign(f.business_domain, in->business_domain);
    assign(f.profile.name, in->name);
    assign(f.profile.email, in->email);
    assign(f.profile.role, in->role);
    assign(f.profile.company, in->company);
    assign(f.profile.industry, in->industry);
    assign(f.profile.location, in->location);
    assign(f.profile.bio, in->bio);

    const bool has_offer_field =
        in->struct_size >= offsetof(ls_features, offer_json) + sizeof(in->offer_json);
    const char* offer_json = has_offer_field ? in->offer_json : nullptr;
    const nlohmann::json* offer = nullptr;
    if (offer_json != nullptr) {
      if (buffer.offer_text != offer_json) {
        buffer.offer = nlohmann::json::parse(offer_json);
        buffer.offer_text = offer_json;
      }
      offer = &buffer.offer;
    }

    auto result = instance->scorer->score(f, offer);
    if (!result) {
      write_error(err, err_size, result.error());
      return LS_ERROR;
    }
    buffer.result = std::move(*result);
    const ScoreResult& r = buffer.result;
    buffer.contributions.resize(r.contributions.size());
    for (std::size_t i = 0; i < r.contributions.size(); ++i)
      buffer.contributions[i] = {r.contributions[i].rule.c_str(), r.contributions[i].points};
    out->score = r.score;
    out->recommendation = recommendation_text(r.recommendation);
    out->reason = r.reason.c_str();
    out->contributions = buffer.contributions.data();
    out->contribution_count = buffer.contributions.size();
    if (out->struct_size >= offsetof(ls_result, intent) + sizeof(out->intent))
      out->intent = r.intent ? r.intent->c_str() : nullptr;
    return LS_OK;
  } catch (const std::exception& e) {
    write_error(err, err_size, std::string("lua scorer failed: ") + e.what());
  } catch (...) {
    write_error(err, err_size, "lua scorer failed");
  }
  return LS_ERROR;
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
