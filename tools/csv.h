// RFC 4180 CSV: fields separated by commas, optionally quoted ("" is a quote inside a quoted
// field, which may also hold commas and line breaks); rows end with LF or CRLF.
//
// Built for bulk reading: rows and fields are views into the input, nothing is copied unless a
// quoted field holds a doubled quote.
//
// Threading: CsvRowReader and CsvFields are used by one thread at a time; the free functions
// are pure.
#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leadscore::tools {

struct CsvRow {
  std::size_t line = 0;   // 1-based line where the row starts
  std::string_view text;  // the row as it stands in the input, without its line break
  bool cut = false;       // longer than the limit next() was given: `text` is its first bytes
};

// Reads `input` row by row, honouring quoted line breaks. Empty lines are skipped.
class CsvRowReader {
 public:
  // `first_line`: the line number of input's first byte (when `input` is a slice of a file).
  // A UTF-8 byte order mark at the start of a file (line 1), as spreadsheets save it, is
  // skipped: it is not part of the first cell.
  explicit CsvRowReader(std::string_view input, std::size_t first_line = 1)
      : input_(input),
        pos_(first_line == 1 && input.starts_with("\xEF\xBB\xBF") ? 3 : 0),
        line_(first_line) {}

  // The next row; nullopt at the end of the input. No more than `max_bytes` bytes of a row
  // are looked at: a longer row comes back `cut` to its first `max_bytes` bytes and the reader
  // stops there (the next call answers nullopt), so one huge row costs no more than the limit.
  std::optional<CsvRow> next(std::size_t max_bytes = std::numeric_limits<std::size_t>::max());

  // Where the next row starts: its byte offset in the input and its line.
  std::size_t position() const { return pos_; }
  std::size_t line() const { return line_; }

 private:
  std::string_view input_;
  std::size_t pos_ = 0;
  std::size_t line_;
};

// Where the row that holds byte `target` ends: the position just past its line break (or the
// input's size). `from` must start a row. Lets a large input be cut into slices of whole rows
// that CsvRowReader reads independently.
std::size_t end_of_row_at(std::string_view input, std::size_t from, std::size_t target);

// A slice of whole rows, the line it starts at and the lines it spans.
struct CsvSlice {
  std::string_view text;
  std::size_t first_line = 0;
  std::size_t lines = 0;
};

// input[from..] (`from` starts a row at line `first_line`) cut into slices of about `bytes`
// each, every one ending at a row end: work that threads read independently, in input order.
std::vector<CsvSlice> cut_into_slices(std::string_view input, std::size_t from,
                                      std::size_t first_line, std::size_t bytes);

// The fields of one row. Views stay valid until the next parse() and while the row's text
// lives.
class CsvFields {
 public:
  // False when a quote is left open or stray text follows a quote (the fields are then
  // unspecified). Splitting stops once the row is known to have more than `max_fields`
  // fields (at least 1): size() is then max_fields + 1 and the last field is unspecified, so a
  // row of a million commas is not split into a million fields.
  bool parse(std::string_view row,
             std::size_t max_fields = std::numeric_limits<std::size_t>::max());

  std::size_t size() const { return fields_.size(); }
  std::string_view operator[](std::size_t i) const { return fields_[i]; }

 private:
  bool parse_quoted(std::string_view row, std::size_t max_fields);

  std::vector<std::string_view> fields_;
  // The text of quoted fields that held doubled quotes. Reserved to the row's size before
  // parsing, so it never reallocates under the views into it.
  std::string unescaped_;
};

// Appends `field`, quoted when it must be (it holds a comma, a quote or a line break).
void append_csv_field(std::string& out, std::string_view field);

// Appends the shortest text that reads back as the same double (never needs quotes).
void append_csv_number(std::string& out, double value);

}  // namespace leadscore::tools
