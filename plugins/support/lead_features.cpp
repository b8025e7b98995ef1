#include "plugins/support/lead_features.h"

#include <array>

#include "plugins/support/error_channel.h"

namespace leadscore::plugin {
namespace {

constexpr std::array<std::string_view, 5> kStageNames = {"new", "contacted", "qualified",
                                                         "transferred", "lost"};

void assign(std::optional<std::string>& out, const char* text) {
  if (text == nullptr)
    out.reset();
  else if (out)
    out->assign(text);
  else
    out.emplace(text);
}

// The named profile members of ls_features, in the order of kNamedProfileFields.
std::array<const char*, std::size(kNamedProfileFields)> named_members(const ls_features& in) {
  return {in.name, in.email, in.role, in.company, in.industry, in.location, in.bio};
}

const char* c_str_or_null(const std::optional<std::string>& text) {
  return text ? text->c_str() : nullptr;
}

}  // namespace

std::string_view to_string(Stage stage) {
  const auto index = static_cast<std::size_t>(stage);
  return index < kStageNames.size() ? kStageNames[index] : "unknown";
}

std::optional<Stage> parse_stage(std::string_view text) {
  for (std::size_t i = 0; i < kStageNames.size(); ++i)
    if (kStageNames[i] == text) return static_cast<Stage>(i);
  return std::nullopt;
}

const std::optional<std::string>* Features::field(std::string_view name) const {
  for (const auto& f : profile)
    if (f.name == name) return &f.value;
  return nullptr;
}

void Features::set_field(std::string_view name, std::optional<std::string> value) {
  for (auto& f : profile)
    if (f.name == name) {
      f.value = std::move(value);
      return;
    }
  profile.push_back({std::string(name), std::move(value)});
}

bool read_features(const ls_features& in, Features& out, std::string_view plugin, char* err,
                   std::size_t err_size) {
  if (in.stage_code < 0 || in.stage_code >= static_cast<std::int32_t>(kStageNames.size())) {
    write_error(err, err_size,
                std::string(plugin) + ": unknown stage code " + std::to_string(in.stage_code));
    return false;
  }
  out.source.assign(in.source != nullptr ? in.source : "");
  out.stage = static_cast<Stage>(in.stage_code);
  out.activity_count = in.activity_count;
  assign(out.business_domain, in.business_domain);
  if (LS_HAS_FIELD(&in, field_count) && in.fields != nullptr) {
    out.profile.resize(in.field_count);
    for (std::size_t i = 0; i < in.field_count; ++i) {
      if (in.fields[i].name == nullptr) {
        write_error(err, err_size,
                    std::string(plugin) + ": profile field " + std::to_string(i) + " has no name");
        return false;
      }
      if (out.profile[i].name != in.fields[i].name) out.profile[i].name = in.fields[i].name;
      assign(out.profile[i].value, in.fields[i].value);
    }
    return true;
  }
  // An engine built before ls_features had `fields`: the named members are the profile.
  const auto values = named_members(in);
  out.profile.resize(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (out.profile[i].name != kNamedProfileFields[i])
      out.profile[i].name = std::string(kNamedProfileFields[i]);
    assign(out.profile[i].value, values[i]);
  }
  return true;
}

CFeatures::CFeatures(const Features& f, const char* offer_json) {
  c_.struct_size = sizeof c_;
  c_.source = f.source.c_str();
  c_.stage = kStageNames[static_cast<std::size_t>(f.stage) % kStageNames.size()].data();
  c_.stage_code = static_cast<std::int32_t>(f.stage);
  c_.activity_count = f.activity_count;
  c_.business_domain = c_str_or_null(f.business_domain);
  fields_.reserve(f.profile.size());
  for (const auto& field : f.profile)
    fields_.push_back({field.name.c_str(), c_str_or_null(field.value)});
  const char** named[] = {&c_.name,     &c_.email,    &c_.role, &c_.company,
                          &c_.industry, &c_.location, &c_.bio};
  for (std::size_t i = 0; i < std::size(named); ++i)
    if (const auto* value = f.field(kNamedProfileFields[i])) *named[i] = c_str_or_null(*value);
  c_.offer_json = offer_json;
  c_.fields = fields_.data();
  c_.field_count = fields_.size();
}

}  // namespace leadscore::plugin
