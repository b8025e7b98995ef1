#include "engine/scoring/plugin_scorer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <string_view>

#include "engine/domain/score_result.h"

namespace leadscore::scoring {
namespace {

constexpr std::size_t kErrorSize = 1024;
// A bound on what one result may claim, so that a corrupt count cannot make the engine read
// or allocate without end.
constexpr std::size_t kMaxContributions = 10'000;

const char* const kStageNames[] = {"new", "contacted", "qualified", "transferred", "lost"};
static_assert(std::size(kStageNames) == std::size(domain::kAllLeadStages));

const char* c_str_or_null(const std::optional<std::string>& text) {
  return text ? text->c_str() : nullptr;
}

// A lead as ls_features, with the storage of its `fields`. Points into the Features given.
struct CLead {
  ls_features c{};
  std::array<ls_field, 16> inline_fields{};
  std::vector<ls_field> more_fields;  // when the profile has more fields than inline_fields
};

void to_c(const Features& f, CLead& lead) {
  ls_features& c = lead.c;
  c.struct_size = sizeof c;
  c.source = f.source.c_str();
  const auto stage = static_cast<std::size_t>(f.stage);
  c.stage = stage < std::size(kStageNames) ? kStageNames[stage] : "";
  c.stage_code = static_cast<std::int32_t>(stage);
  c.activity_count = f.activity_count;
  c.business_domain = c_str_or_null(f.business_domain);
  c.name = c_str_or_null(f.profile.name);
  c.email = c_str_or_null(f.profile.email);
  c.role = c_str_or_null(f.profile.role);
  c.company = c_str_or_null(f.profile.company);
  c.industry = c_str_or_null(f.profile.industry);
  c.location = c_str_or_null(f.profile.location);
  c.bio = c_str_or_null(f.profile.bio);
  // The offer's text is made once per change of the offer; every call passes the same pointer.
  c.offer_json = f.offer && !f.offer->json.empty() ? f.offer->json.c_str() : nullptr;
  // Every profile field, by name: the one list of them is domain::for_each_profile_field.
  std::size_t count = 0;
  domain::for_each_profile_field(
      f.profile, [&](const char* name, const std::optional<std::string>& value) {
        const ls_field field{name, c_str_or_null(value)};
        if (count < lead.inline_fields.size()) {
          lead.inline_fields[count] = field;
        } else {
          if (lead.more_fields.empty())
            lead.more_fields.assign(lead.inline_fields.begin(), lead.inline_fields.end());
          lead.more_fields.push_back(field);
        }
        ++count;
      });
  c.fields = lead.more_fields.empty() ? lead.inline_fields.data() : lead.more_fields.data();
  c.field_count = count;
}

// The problems of a self_test report ({"problems": [{file, line, message}]}); empty when it
// lists none or is no such object.
std::vector<SelfTestResult::Problem> problems_of(const std::string& report) {
  std::vector<SelfTestResult::Problem> out;
  const auto json = nlohmann::json::parse(report, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("problems") || !json["problems"].is_array()) return out;
  for (const auto& p : json["problems"]) {
    if (!p.is_object()) continue;
    SelfTestResult::Problem problem;
    if (p.contains("file") && p["file"].is_string()) problem.file = p["file"];
    if (p.contains("line") && p["line"].is_number_integer()) problem.line = p["line"];
    if (p.contains("message") && p["message"].is_string()) problem.message = p["message"];
    if (problem.message.empty()) problem.message = "a self test failed";
    out.push_back(std::move(problem));
  }
  return out;
}

// Copies a C result and holds it to the result contract (domain::check); what is wrong with it
// otherwise. Only what C can get wrong beyond the contract is checked here: NULL pointers,
// counts, the recommendation's text.
std::expected<ScoreResult, std::string> from_c(const ls_result& c) {
  ScoreResult result;
  result.score = c.score;
  if (c.recommendation == nullptr) return std::unexpected("the result has no recommendation");
  auto recommendation = domain::parse_recommendation(c.recommendation);
  if (!recommendation)
    return std::unexpected("recommendation '" + std::string(c.recommendation) +
                           "' is not one of transfer_to_sales, continue_qualification, "
                           "drop_lead");
  result.recommendation = *recommendation;
  if (c.reason != nullptr) result.reason = c.reason;
  if (c.contribution_count > kMaxContributions)
    return std::unexpected("the result claims " + std::to_string(c.contribution_count) +
                           " contributions (at most " + std::to_string(kMaxContributions) + ")");
  if (c.contribution_count > 0 && c.contributions == nullptr)
    return std::unexpected("the result has " + std::to_string(c.contribution_count) +
                           " contributions but no array");
  result.contributions.reserve(c.contribution_count);
  for (std::size_t i = 0; i < c.contribution_count; ++i) {
    const ls_contribution& item = c.contributions[i];
    if (item.rule == nullptr)
      return std::unexpected("contribution " + std::to_string(i) + " has no rule");
    result.contributions.push_back({item.rule, item.points});
  }
  // Read one byte past the limit at most: an overlong intent is refused, not copied whole.
  if (c.intent != nullptr)
    result.intent.emplace(c.intent, ::strnlen(c.intent, domain::kMaxIntentBytes + 1));
  if (auto ok = domain::check(result); !ok) return std::unexpected(ok.error());
  return result;
}

std::string invalid_audit(const std::string& why) {
  return nlohmann::json{{"invalid_audit", why}}.dump();
}

// A plugin's audit_json, read no further than one byte past the limit.
std::string audit_of(const char* text) {
  const std::size_t length = ::strnlen(text, kMaxAuditBytes + 1);
  if (length > kMaxAuditBytes)
    return invalid_audit("longer than " + std::to_string(kMaxAuditBytes) + " bytes");
  return checked_audit(std::string_view(text, length));
}

}  // namespace

std::string checked_audit(std::string_view text) {
  if (text.size() > kMaxAuditBytes)
    return invalid_audit("longer than " + std::to_string(kMaxAuditBytes) + " bytes");
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return invalid_audit("not JSON (or not UTF-8)");
  if (!json.is_object()) return invalid_audit("not a JSON object");
  std::string compact;
  try {
    compact = json.dump();
  } catch (const nlohmann::json::exception&) {
    return invalid_audit("not UTF-8");
  }
  // PostgreSQL's jsonb refuses the NUL character even escaped.
  if (compact.find("\\u0000") != std::string::npos) return invalid_audit("holds a NUL character");
  return compact;
}

PluginScorer::PluginScorer(std::shared_ptr<const PluginModule> module, std::string name,
                           ls_instance* instance)
    : module_(std::move(module)), name_(std::move(name)), instance_(instance) {
  const char* own = nullptr;
  if (auto hook = module_->instance_version()) own = hook(instance_);
  version_ = own != nullptr && *own != '\0' ? own : module_->version();
}

PluginScorer::~PluginScorer() { module_->table().destroy(instance_); }

std::expected<std::unique_ptr<PluginScorer>, std::string> PluginScorer::create(
    std::shared_ptr<const PluginModule> module, std::string name, const std::string& params_json,
    const std::string& config_dir) {
  char error[kErrorSize] = {};
  ls_instance* instance = nullptr;
  try {
    instance = module->table().create(params_json.c_str(), config_dir.c_str(), error, sizeof error);
  } catch (...) {
    return std::unexpected("plugin " + module->name() + ": create() threw an exception");
  }
  error[sizeof error - 1] = '\0';
  if (instance == nullptr)
    return std::unexpected(*error != '\0' ? std::string(error)
                                          : "plugin " + module->name() +
                                                ": create() failed without a message");
  try {
    return std::unique_ptr<PluginScorer>(
        new PluginScorer(std::move(module), std::move(name), instance));
  } catch (const std::exception& e) {
    module->table().destroy(instance);
    return std::unexpected(std::string(e.what()));
  }
}

std::expected<ScoreResult, std::string> PluginScorer::score(const Features& features) const {
  return run(features).result;
}

ScorerAnswer PluginScorer::run(const Features& features) const {
  ScorerAnswer answer{std::unexpected(std::string()), std::nullopt};
  try {
    CLead input;
    to_c(features, input);
    ls_result output{};
    output.struct_size = sizeof output;
    output.audit_json = nullptr;
    char error[kErrorSize];
    error[0] = '\0';
    const int status = module_->table().score(instance_, &input.c, &output, error, sizeof error);
    error[sizeof error - 1] = '\0';
    if (module_->gives_audit() && output.audit_json != nullptr &&
        (status == LS_OK || status == LS_ERROR))
      answer.audit = audit_of(output.audit_json);
    if (status != LS_OK) {
      if (status != LS_ERROR)
        answer.result =
            std::unexpected("scorer " + name_ + " returned status " + std::to_string(status) +
                            (*error != '\0' ? std::string(": ") + error : std::string()));
      else
        answer.result = std::unexpected(
            *error != '\0' ? std::string(error) : "scorer " + name_ + " failed without a message");
      return answer;
    }
    auto result = from_c(output);
    if (!result)
      answer.result =
          std::unexpected("scorer " + name_ + " returned a malformed result: " + result.error());
    else
      answer.result = std::move(*result);
    return answer;
  } catch (const std::exception& e) {
    answer.result = std::unexpected("scorer " + name_ + ": " + e.what());
  } catch (...) {
    answer.result =
        std::unexpected("scorer " + name_ + ": an exception crossed the plugin boundary");
  }
  return answer;
}

SelfTestResult PluginScorer::self_test() const {
  SelfTestResult result;
  const PluginModule::SelfTest hook = module_->self_test();
  if (hook == nullptr) return result;
  const auto failed = [&](std::string message) {
    result.outcome = SelfTestResult::Outcome::Failed;
    result.problems.push_back({"", 0, std::move(message)});
    return result;
  };
  try {
    const char* report = nullptr;
    char error[kErrorSize];
    error[0] = '\0';
    const int status = hook(instance_, &report, error, sizeof error);
    error[sizeof error - 1] = '\0';
    if (report != nullptr) result.report = report;
    if (status == LS_OK) {
      result.outcome = SelfTestResult::Outcome::Passed;
      return result;
    }
    result.outcome = SelfTestResult::Outcome::Failed;
    result.problems = problems_of(result.report);
    if (result.problems.empty())
      return failed(*error != '\0' ? std::string(error)
                                   : "the self test of plugin " + module_->name() +
                                         " failed without saying why");
    return result;
  } catch (...) {
    return failed("the self test of plugin " + module_->name() + " threw an exception");
  }
}

std::expected<std::string, std::string> PluginScorer::trace(const Features& features) const {
  const PluginModule::Trace hook = module_->trace();
  if (hook == nullptr) return std::unexpected("plugin " + module_->name() + " has no trace");
  try {
    CLead input;
    to_c(features, input);
    const char* report = nullptr;
    char error[kErrorSize];
    error[0] = '\0';
    const int status = hook(instance_, &input.c, &report, error, sizeof error);
    error[sizeof error - 1] = '\0';
    if (status != LS_OK || report == nullptr)
      return std::unexpected(*error != '\0' ? std::string(error)
                                            : "the trace of plugin " + module_->name() +
                                                  " failed without a message");
    return std::string(report);
  } catch (...) {
    return std::unexpected("the trace of plugin " + module_->name() + " threw an exception");
  }
}

}  // namespace leadscore::scoring
