#include "engine/domain/lead_input.h"

#include <algorithm>

#include "engine/domain/utf8.h"

namespace leadscore::domain {
namespace {

std::optional<Error> check_text(std::string_view field, const std::optional<std::string>& value) {
  if (!value) return std::nullopt;
  if (value->size() > max_length(field))
    return Error::validation(std::string(field), std::string(field) + " is longer than " +
                                                     std::to_string(max_length(field)) + " bytes");
  if (value->find('\0') != std::string::npos)
    return Error::validation(std::string(field), std::string(field) + " contains a NUL byte");
  if (!is_utf8(*value))
    return Error::validation(std::string(field), std::string(field) + " is not valid UTF-8");
  return std::nullopt;
}

// Visits every text field of a patch, or of a new lead, with its name.
template <typename Visit>
void each_patch_field(const LeadPatch& p, Visit&& visit) {
  visit("business_domain", p.business_domain);
  for_each_profile_field(p, visit);
}

}  // namespace

bool LeadPatch::empty() const {
  bool any = false;
  each_patch_field(*this, [&](std::string_view, const auto& f) { any = any || f.has_value(); });
  return !any;
}

std::size_t max_length(std::string_view field) {
  for (const ProfileFieldSpec& spec : kProfileFields)
    if (spec.name == field) return spec.max_bytes;
  return 200;  // business_domain
}

const std::vector<std::string_view>& text_field_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> all{"business_domain"};
    for (const ProfileFieldSpec& spec : kProfileFields) all.push_back(spec.name);
    return all;
  }();
  return names;
}

const std::string& text_field_list() {
  static const std::string list = [] {
    std::string out;
    for (std::string_view name : text_field_names())
      out.append(out.empty() ? "" : ", ").append(name);
    return out;
  }();
  return list;
}

std::optional<Error> validate(const NewLead& lead, const std::vector<std::string>& sources) {
  if (lead.source.empty()) return Error::validation("source", "source is required");
  if (std::ranges::find(sources, lead.source) == sources.end()) {
    std::string allowed;
    for (const auto& s : sources) allowed += (allowed.empty() ? "" : ", ") + s;
    return Error::validation("source", "source must be one of: " + allowed);
  }
  if (lead.activity_count < 0)
    return Error::validation("activity_count", "activity_count must be >= 0");
  if (auto e = check_text("business_domain", lead.business_domain)) return e;
  std::optional<Error> error;
  for_each_profile_field(lead.profile, [&](std::string_view field, const auto& value) {
    if (!error) error = check_text(field, value);
  });
  return error;
}

std::optional<Error> validate(const LeadPatch& patch) {
  std::optional<Error> error;
  each_patch_field(patch, [&](std::string_view field, const auto& value) {
    if (!error && value) error = check_text(field, *value);
  });
  return error;
}

void apply(const LeadPatch& patch, Lead& lead) {
  auto set = [](auto& target, const auto& value) {
    if (value) target = *value;
  };
  set(lead.business_domain, patch.business_domain);
  for_each_profile_field(lead.profile, patch,
                         [&](const char*, auto& target, const auto& value) { set(target, value); });
}

}  // namespace leadscore::domain
