#include "tools/csv.h"

namespace leadscore::tools {

std::vector<CsvRow> split_csv_rows(std::string_view input) {
  std::vector<CsvRow> rows;
  std::size_t line = 1, start = 0, start_line = 1;
  bool quoted = false;
  for (std::size_t i = 0; i <= input.size(); ++i) {
    const bool end = i == input.size();
    const char c = end ? '\n' : input[i];
    if (c == '"') quoted = !quoted;
    if (c != '\n' || (quoted && !end)) {
      if (c == '\n') ++line;
      continue;
    }
    std::string_view text = input.substr(start, i - start);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (!text.empty()) rows.push_back({start_line, text});
    ++line;
    start = i + 1;
    start_line = line;
  }
  return rows;
}

bool parse_csv_fields(std::string_view row, std::vector<std::string>& fields) {
  fields.clear();
  std::size_t i = 0;
  for (;;) {
    std::string field;
    if (i < row.size() && row[i] == '"') {
      ++i;
      for (;;) {
        if (i >= row.size()) return false;  // the quote was never closed
        if (row[i] == '"') {
          if (i + 1 < row.size() && row[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += row[i++];
      }
      if (i < row.size() && row[i] != ',') return false;  // text after the closing quote
    } else {
      const std::size_t comma = row.find(',', i);
      const std::size_t end = comma == std::string_view::npos ? row.size() : comma;
      field.assign(row.substr(i, end - i));
      if (field.find('"') != std::string::npos) return false;
      i = end;
    }
    fields.push_back(std::move(field));
    if (i >= row.size()) return true;
    ++i;  // the comma
    if (i == row.size()) {
      fields.emplace_back();
      return true;
    }
  }
}

void append_csv_field(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace leadscore::tools
