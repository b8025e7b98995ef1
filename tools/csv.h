// RFC 4180 CSV: fields separated by commas, optionally quoted ("" is a quote inside a quoted
// field, which may also hold commas and line breaks); rows end with LF or CRLF.
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace leadscore::tools {

struct CsvRow {
  std::size_t line = 0;     // 1-based line where the row starts
  std::string_view text;    // the row as it stands in the input, without its line break
};

// Splits `input` into rows, honouring quoted line breaks. Empty lines are skipped.
std::vector<CsvRow> split_csv_rows(std::string_view input);

// The fields of one row; false when a quote is left open or stray text follows a quote.
bool parse_csv_fields(std::string_view row, std::vector<std::string>& fields);

// Appends `field`, quoted when it must be.
void append_csv_field(std::string& out, std::string_view field);

}  // namespace leadscore::tools
