#include "tools/lead_columns.h"

#include <charconv>
#include <optional>
#include <unordered_set>

namespace leadscore::tools {

std::expected<ColumnMap, std::string> map_columns(const CsvFields& header) {
  ColumnMap map;
  auto slot = [&map](std::string_view column) -> int* {
    if (column == "source") return &map.source;
    if (column == "stage") return &map.stage;
    if (column == "activity_count") return &map.activity_count;
    if (column == "business_domain") return &map.business_domain;
    for (std::size_t i = 0; i < domain::kProfileFieldCount; ++i)
      if (column == domain::kProfileFields[i].name) return &map.profile[i];
    return nullptr;
  };
  // One pass with a set: a header of many columns costs linear time, not quadratic.
  std::unordered_set<std::string_view> seen;
  seen.reserve(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (!seen.insert(header[i]).second)
      return std::unexpected("the header repeats column " + std::string(header[i]));
    if (int* index = slot(header[i])) *index = static_cast<int>(i);
  }
  if (map.source < 0) return std::unexpected(std::string("the header has no source column"));
  return map;
}

std::string_view cell(const CsvFields& fields, int index) {
  return index < 0 ? std::string_view() : fields[static_cast<std::size_t>(index)];
}

namespace {

// An optional lead field from its cell (empty: absent). Assigning into the string it already
// holds keeps that string's buffer from row to row.
void read_optional(const CsvFields& fields, int index, std::optional<std::string>& to) {
  const std::string_view text = cell(fields, index);
  if (text.empty())
    to.reset();
  else if (to)
    to->assign(text);
  else
    to.emplace(text);
}

}  // namespace

std::expected<void, std::string> read_features(const ColumnMap& map, const CsvFields& fields,
                                               domain::Features& features) {
  const std::string_view source = cell(fields, map.source);
  if (source.empty()) return std::unexpected(std::string("source is empty"));
  features.source.assign(source);
  features.stage = domain::LeadStage::New;
  if (const std::string_view stage = cell(fields, map.stage); !stage.empty()) {
    auto parsed = domain::parse_lead_stage(stage);
    if (!parsed) return std::unexpected("stage '" + std::string(stage) + "' is not a lead stage");
    features.stage = *parsed;
  }
  features.activity_count = 0;
  if (const std::string_view count = cell(fields, map.activity_count); !count.empty()) {
    const char* end = count.data() + count.size();
    auto [stop, ec] = std::from_chars(count.data(), end, features.activity_count);
    if (ec != std::errc() || stop != end || features.activity_count < 0)
      return std::unexpected("activity_count '" + std::string(count) + "' is not an integer >= 0");
  }
  read_optional(fields, map.business_domain, features.business_domain);
  std::size_t i = 0;
  domain::for_each_profile_field(features.profile, [&](const char*, auto& value) {
    read_optional(fields, map.profile[i++], value);
  });
  return {};
}

}  // namespace leadscore::tools
