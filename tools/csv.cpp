#include "tools/csv.h"

#include <algorithm>
#include <charconv>
#include <system_error>

namespace leadscore::tools {
namespace {

// The position of the line break that ends the row running through `at` (input.size() when
// the input ends first), given whether `at` is inside quotes; counts the line breaks passed
// inside quotes on the way.
std::size_t find_row_break(std::string_view input, std::size_t at, bool quoted,
                           std::size_t& quoted_breaks) {
  if (!quoted) {
    // Most lines hold no quote at all: then the first line break ends the row.
    const std::size_t lf = std::min(input.find('\n', at), input.size());
    if (input.substr(at, lf - at).find('"') == std::string_view::npos) return lf;
  }
  for (std::size_t i = at; i < input.size(); ++i) {
    if (input[i] == '"') {
      quoted = !quoted;
    } else if (input[i] == '\n') {
      if (!quoted) return i;
      ++quoted_breaks;
    }
  }
  return input.size();
}

}  // namespace

std::optional<CsvRow> CsvRowReader::next(std::size_t max_bytes) {
  while (pos_ < input_.size()) {
    const std::size_t start = pos_;
    const std::size_t start_line = line_;
    // The row's first max_bytes bytes and the byte after them (its line break, if it fits).
    const std::size_t room = input_.size() - start;
    const std::string_view scanned =
        input_.substr(0, start + (max_bytes < room ? max_bytes + 1 : room));
    std::size_t quoted_breaks = 0;
    const std::size_t lf = find_row_break(scanned, start, false, quoted_breaks);
    if (lf == scanned.size() && scanned.size() < input_.size()) {
      pos_ = input_.size();
      return CsvRow{start_line, input_.substr(start, max_bytes), true};
    }
    pos_ = std::min(lf + 1, input_.size());
    line_ += quoted_breaks + 1;
    std::string_view text = input_.substr(start, lf - start);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (!text.empty()) return CsvRow{start_line, text};
  }
  return std::nullopt;
}

std::vector<CsvSlice> cut_into_slices(std::string_view input, std::size_t from,
                                      std::size_t first_line, std::size_t bytes) {
  std::vector<CsvSlice> slices;
  while (from < input.size()) {
    const std::size_t end = end_of_row_at(input, from, from + std::max<std::size_t>(bytes, 1));
    CsvSlice slice{input.substr(from, end - from), first_line, 0};
    const auto breaks = static_cast<std::size_t>(std::ranges::count(slice.text, '\n'));
    slice.lines = breaks + (slice.text.back() == '\n' ? 0 : 1);
    first_line += breaks;
    from = end;
    slices.push_back(slice);
  }
  return slices;
}

std::size_t end_of_row_at(std::string_view input, std::size_t from, std::size_t target) {
  if (target >= input.size()) return input.size();
  // Every quote toggles, "" included, so the parity of the quotes since the row start tells
  // whether `target` is inside a quoted field.
  const bool quoted = std::count(input.begin() + static_cast<std::ptrdiff_t>(from),
                                 input.begin() + static_cast<std::ptrdiff_t>(target), '"') %
                      2;
  std::size_t quoted_breaks = 0;
  const std::size_t lf = find_row_break(input, target, quoted, quoted_breaks);
  return std::min(lf + 1, input.size());
}

bool CsvFields::parse(std::string_view row, std::size_t max_fields) {
  fields_.clear();
  if (row.find('"') != std::string_view::npos) return parse_quoted(row, max_fields);
  std::size_t start = 0;
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (row[i] == ',') {
      fields_.push_back(row.substr(start, i - start));
      if (fields_.size() >= max_fields) {  // a field follows this comma: one too many
        fields_.emplace_back();
        return true;
      }
      start = i + 1;
    }
  }
  fields_.push_back(row.substr(start));
  return true;
}

bool CsvFields::parse_quoted(std::string_view row, std::size_t max_fields) {
  unescaped_.clear();
  unescaped_.reserve(row.size());
  std::size_t i = 0;
  for (;;) {
    if (i < row.size() && row[i] == '"') {
      const std::size_t first = ++i;
      bool doubled = false;
      for (;; ++i) {
        if (i >= row.size()) return false;  // the quote was never closed
        if (row[i] != '"') continue;
        if (i + 1 < row.size() && row[i + 1] == '"') {
          doubled = true;
          ++i;
          continue;
        }
        break;
      }
      const std::string_view raw = row.substr(first, i - first);
      ++i;  // the closing quote
      if (!doubled) {
        fields_.push_back(raw);
      } else {
        const std::size_t at = unescaped_.size();
        for (std::size_t j = 0; j < raw.size(); ++j) {
          unescaped_ += raw[j];
          if (raw[j] == '"') ++j;  // the second quote of the pair
        }
        fields_.push_back(std::string_view(unescaped_).substr(at));
      }
      if (i < row.size() && row[i] != ',') return false;  // text after the closing quote
    } else {
      const std::size_t end = std::min(row.find(',', i), row.size());
      const std::string_view field = row.substr(i, end - i);
      if (field.find('"') != std::string_view::npos) return false;
      fields_.push_back(field);
      i = end;
    }
    if (i >= row.size()) return true;
    ++i;  // the comma
    if (i == row.size() || fields_.size() >= max_fields) {
      fields_.emplace_back();  // the field after the comma: empty, or one too many
      return true;
    }
  }
}

void append_csv_field(std::string& out, std::string_view field) {
  // Reasons are long and most need no quotes: four memchr scans (vectorised in the C library)
  // cost a fraction of one byte-by-byte loop over the four characters.
  const bool special =
      field.find(',') != std::string_view::npos || field.find('"') != std::string_view::npos ||
      field.find('\n') != std::string_view::npos || field.find('\r') != std::string_view::npos;
  if (!special) {
    out += field;
    return;
  }
  out += '"';
  for (std::size_t quote; (quote = field.find('"')) != std::string_view::npos;
       field.remove_prefix(quote + 1)) {
    out.append(field.data(), quote + 1);
    out += '"';  // doubled
  }
  out += field;
  out += '"';
}

void append_csv_number(std::string& out, double value) {
  char number[32];  // the shortest round-trip form of a double takes at most 24 characters
  const auto [end, ec] = std::to_chars(number, number + sizeof number, value);
  out.append(number, ec == std::errc() ? end : number);
}

}  // namespace leadscore::tools
