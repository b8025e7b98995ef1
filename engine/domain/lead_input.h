// What a caller may set on a lead, and the rules for those values. Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/domain/error.h"
#include "engine/domain/lead.h"

namespace leadscore::domain {

// Fields of a new lead. Stage, id and the ai_* fields are never set by a caller.
struct NewLead {
  std::string source;
  std::optional<std::string> business_domain;
  std::int64_t activity_count = 0;
  Profile profile;
};

// An edit of business_domain and profile fields. An outer nullopt leaves the field alone;
// an inner nullopt clears it.
struct LeadPatch {
  std::optional<std::optional<std::string>> business_domain;
#define LEADSCORE_PATCH_MEMBER(member, max_bytes) std::optional<std::optional<std::string>> member;
  LEADSCORE_PROFILE_FIELDS(LEADSCORE_PATCH_MEMBER)
#undef LEADSCORE_PATCH_MEMBER
  bool empty() const;
};

// Longest accepted value, in bytes, of each text field.
std::size_t max_length(std::string_view field);

// The names of the editable text fields, in a fixed order: business_domain, then the profile
// fields in the order of kProfileFields.
const std::vector<std::string_view>& text_field_names();

// text_field_names() as "business_domain, name, email, ...", for messages.
const std::string& text_field_list();

// The first problem found, naming the field; nullopt when the values are acceptable.
std::optional<Error> validate(const NewLead& lead, const std::vector<std::string>& sources);
std::optional<Error> validate(const LeadPatch& patch);

// Applies a patch to a lead (after validate()).
void apply(const LeadPatch& patch, Lead& lead);

}  // namespace leadscore::domain
