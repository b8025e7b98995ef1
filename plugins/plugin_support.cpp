#include "plugins/plugin_support.h"

#include <cstring>
#include <optional>
#include <string>

namespace leadscore::plugins {
namespace {

void assign(std::optional<std::string>& out, const char* text) {
  if (text == nullptr)
    out.reset();
  else if (out)
    out->assign(text);
  else
    out.emplace(text);
}

const char* recommendation_text(domain::Recommendation r) {
  switch (r) {
    case domain::Recommendation::TransferToSales:
      return "transfer_to_sales";
    case domain::Recommendation::DropLead:
      return "drop_lead";
    case domain::Recommendation::ContinueQualification:
      break;
  }
  return "continue_qualification";
}

}  // namespace

void write_error(char* err, std::size_t err_size, std::string_view message) {
  if (err == nullptr || err_size == 0) return;
  const std::size_t n = message.size() < err_size - 1 ? message.size() : err_size - 1;
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

bool read_features(const ls_features& in, domain::Features& out, std::string_view plugin, char* err,
                   std::size_t err_size) {
  if (in.stage_code < 0 || in.stage_code > static_cast<int>(domain::LeadStage::Lost)) {
    write_error(err, err_size,
                std::string(plugin) + ": unknown stage code " + std::to_string(in.stage_code));
    return false;
  }
  out.source.assign(in.source != nullptr ? in.source : "");
  out.stage = static_cast<domain::LeadStage>(in.stage_code);
  out.activity_count = in.activity_count;
  assign(out.business_domain, in.business_domain);
  assign(out.profile.name, in.name);
  assign(out.profile.email, in.email);
  assign(out.profile.role, in.role);
  assign(out.profile.company, in.company);
  assign(out.profile.industry, in.industry);
  assign(out.profile.location, in.location);
  assign(out.profile.bio, in.bio);
  return true;
}

void ResultBuffer::answer(ls_result& out) {
  contributions.resize(result.contributions.size());
  for (std::size_t i = 0; i < result.contributions.size(); ++i)
    contributions[i] = {result.contributions[i].rule.c_str(), result.contributions[i].points};
  out.score = result.score;
  out.recommendation = recommendation_text(result.recommendation);
  out.reason = result.reason.c_str();
  out.contributions = contributions.data();
  out.contribution_count = contributions.size();
  if (LS_HAS_FIELD(&out, intent)) out.intent = result.intent ? result.intent->c_str() : nullptr;
}

}  // namespace leadscore::plugins
