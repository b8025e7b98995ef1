// What a plugin reads of a lead, as C++ values: the ls_features of include/leadscore/plugin.h
// read into Features, and Features laid out as ls_features again (CFeatures) for code that
// calls a plugin's score() itself, such as its tests.
//
// The profile is a list of named fields, as the engine gives them in ls_features.fields, so a
// profile field the engine adds reaches a plugin without a change to it.
//
// Threading: values; read_features() and CFeatures are safe from any thread on their own
// objects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "leadscore/plugin.h"

namespace leadscore::plugin {

enum class Stage : std::uint8_t { New, Contacted, Qualified, Transferred, Lost };

inline constexpr Stage kAllStages[] = {Stage::New, Stage::Contacted, Stage::Qualified,
                                       Stage::Transferred, Stage::Lost};

std::string_view to_string(Stage stage);
std::optional<Stage> parse_stage(std::string_view text);

// The profile fields that ls_features also carries as named members, in their order.
inline constexpr std::string_view kNamedProfileFields[] = {
    "name", "email", "role", "company", "industry", "location", "bio"};

struct ProfileField {
  std::string name;
  std::optional<std::string> value;  // nullopt when the lead has none

  bool operator==(const ProfileField&) const = default;
};

struct Features {
  std::string source;
  Stage stage = Stage::New;
  std::int64_t activity_count = 0;
  std::optional<std::string> business_domain;  // may be blank (blank counts as missing)
  std::vector<ProfileField> profile;           // in the engine's order

  // The value of the profile field `name`; nullptr when the lead has no such field.
  const std::optional<std::string>* field(std::string_view name) const;
  // Sets the profile field `name`, adding it at the end when the lead has none of that name.
  void set_field(std::string_view name, std::optional<std::string> value);
};

// Reads the lead into `out`, reusing the storage of its strings: the profile from
// ls_features.fields when the engine's struct has them, else from the named members. False,
// with "<plugin>: ..." in err, when stage_code names no stage or a field has no name.
bool read_features(const ls_features& in, Features& out, std::string_view plugin, char* err,
                   std::size_t err_size);

// Features as the engine lays them out for score(): the named profile members and the fields
// both filled. Points into `features`, which must outlive it and stay unchanged.
class CFeatures {
 public:
  explicit CFeatures(const Features& features, const char* offer_json = nullptr);
  CFeatures(const CFeatures&) = delete;
  CFeatures& operator=(const CFeatures&) = delete;

  const ls_features& get() const { return c_; }

 private:
  std::vector<ls_field> fields_;
  ls_features c_{};
};

}  // namespace leadscore::plugin
