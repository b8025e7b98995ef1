// The lead fields of a CSV row, by the header's column names (source, stage, activity_count,
// business_domain and the profile fields of domain::kProfileFields; other columns are left
// alone): what `leadscore score` and `leadscore compare` read.
//
// Threading: pure functions.
#pragma once

#include <array>
#include <expected>
#include <string>

#include "engine/domain/analysis.h"
#include "tools/csv.h"

namespace leadscore::tools {

// Where each lead field stands in a row; -1 when the CSV has no such column.
struct ColumnMap {
  int source = -1, stage = -1, activity_count = -1, business_domain = -1;
  // In the order of domain::kProfileFields.
  std::array<int, domain::kProfileFieldCount> profile = filled(-1);

 private:
  static constexpr std::array<int, domain::kProfileFieldCount> filled(int value) {
    std::array<int, domain::kProfileFieldCount> all{};
    all.fill(value);
    return all;
  }
};

// The columns of a header row; an error when it repeats a column or has no source column.
std::expected<ColumnMap, std::string> map_columns(const CsvFields& header);

// The cell of column `index`; empty when the CSV has no such column (index -1).
std::string_view cell(const CsvFields& fields, int index);

// Fills every lead field of `features` from one row (not the offer, which is the same for every
// row): a worker reuses one Features for all its rows. The error says which field is wrong.
std::expected<void, std::string> read_features(const ColumnMap& map, const CsvFields& fields,
                                               domain::Features& features);

}  // namespace leadscore::tools
