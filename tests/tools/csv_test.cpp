// CSV for bulk reading: rows found across quoted line breaks and CRLF with their line numbers,
// rows cut at a length limit, slices of whole rows, fields as views (unescaped only when a quote
// is doubled) and no more of them than wanted, and output quoted only when it must be.
#include "tools/csv.h"

#include <gtest/gtest.h>

namespace leadscore::tools {
namespace {

std::vector<CsvRow> all_rows(std::string_view input, std::size_t first_line = 1) {
  std::vector<CsvRow> rows;
  CsvRowReader reader(input, first_line);
  while (auto row = reader.next()) rows.push_back(*row);
  return rows;
}

std::vector<std::string> fields_of(std::string_view row) {
  CsvFields fields;
  EXPECT_TRUE(fields.parse(row)) << row;
  std::vector<std::string> out;
  for (std::size_t i = 0; i < fields.size(); ++i) out.emplace_back(fields[i]);
  return out;
}

TEST(CsvRowReader, SkipsEmptyLinesAndStripsCrlf) {
  const auto rows = all_rows("a,b\r\n\r\n\nc,d\r\ne");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].line, 1u);
  EXPECT_EQ(rows[0].text, "a,b");
  EXPECT_EQ(rows[1].line, 4u);
  EXPECT_EQ(rows[1].text, "c,d");
  EXPECT_EQ(rows[2].line, 5u);
  EXPECT_EQ(rows[2].text, "e");  // no line break at the end
}

TEST(CsvRowReader, SkipsAByteOrderMarkAtTheStartOfAFileOnly) {
  const auto rows = all_rows("\xEF\xBB\xBFsource,name\nmanual,\xEF\xBB\xBFx\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].text, "source,name");
  EXPECT_EQ(rows[0].line, 1u);
  EXPECT_EQ(rows[1].text, "manual,\xEF\xBB\xBFx");
  // A slice that starts further into a file keeps its bytes.
  tools::CsvRowReader slice("\xEF\xBB\xBFa\n", 7);
  EXPECT_EQ(slice.next()->text, "\xEF\xBB\xBFa");
}

TEST(CsvRowReader, KeepsQuotedLineBreaksInTheRowAndCountsTheirLines) {
  const auto rows = all_rows("x,\"1\r\n2\n3\"\ny,\"a\"\"\n\"\nz\n", 10);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].line, 10u);
  EXPECT_EQ(rows[0].text, "x,\"1\r\n2\n3\"");
  EXPECT_EQ(rows[1].line, 13u);
  EXPECT_EQ(rows[1].text, "y,\"a\"\"\n\"");
  EXPECT_EQ(rows[2].line, 15u);
  EXPECT_EQ(rows[2].text, "z");
}

TEST(CsvRowReader, ReportsWhereTheNextRowStarts) {
  CsvRowReader reader("h\r\n\nrow\n");
  ASSERT_TRUE(reader.next());
  EXPECT_EQ(reader.position(), 3u);
  EXPECT_EQ(reader.line(), 2u);
}

TEST(CsvRowReader, CutsARowLongerThanTheLimitAndStops) {
  CsvRowReader reader("\n\nabcdef\nnext\n");
  auto row = reader.next(4);
  ASSERT_TRUE(row);
  EXPECT_TRUE(row->cut);
  EXPECT_EQ(row->line, 3u);
  EXPECT_EQ(row->text, "abcd");
  EXPECT_FALSE(reader.next());  // the reader stops at a cut row
}

TEST(CsvRowReader, ReadsRowsUpToTheLimitWhole) {
  CsvRowReader reader("abcd\r\n\"x\ny\"\nlast");
  auto first = reader.next(5);  // "abcd\r": the carriage return counts
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->cut);
  EXPECT_EQ(first->text, "abcd");
  auto quoted = reader.next(5);
  ASSERT_TRUE(quoted);
  EXPECT_FALSE(quoted->cut);
  EXPECT_EQ(quoted->text, "\"x\ny\"");
  EXPECT_EQ(quoted->line, 2u);
  auto last = reader.next(4);  // the input ends within the limit
  ASSERT_TRUE(last);
  EXPECT_FALSE(last->cut);
  EXPECT_EQ(last->text, "last");
  EXPECT_FALSE(reader.next(4));
}

TEST(CsvRowReader, CutsAQuotedLineBreakPastTheLimit) {
  CsvRowReader reader("a,\"long\nquoted\ntext\"\nb\n");
  auto row = reader.next(8);
  ASSERT_TRUE(row);
  EXPECT_TRUE(row->cut);
  EXPECT_EQ(row->text, "a,\"long\n");
}

TEST(EndOfRowAt, EndsAfterTheLineBreakOfTheRowHoldingTheTarget) {
  const std::string_view input = "ab,c\nde,\"f\ng\"\nhi\n";
  EXPECT_EQ(end_of_row_at(input, 0, 0), 5u);
  EXPECT_EQ(end_of_row_at(input, 0, 4), 5u);
  EXPECT_EQ(end_of_row_at(input, 5, 6), 14u);   // runs over the quoted line break
  EXPECT_EQ(end_of_row_at(input, 5, 11), 14u);  // starts inside the quotes
  EXPECT_EQ(end_of_row_at(input, 14, 15), input.size());
  EXPECT_EQ(end_of_row_at(input, 14, 99), input.size());
  EXPECT_EQ(end_of_row_at("a\nb", 2, 2), 3u);  // the last row has no line break
}

TEST(EndOfRowAt, SlicesReadBackAsTheSameRows) {
  const std::string input = "a,\"x\ny\"\nb,\"\"\"\n\"\"\"\n\nc,d\r\ne,\"f,\ng\"\n";
  for (std::size_t step = 1; step <= input.size(); ++step) {
    std::vector<std::string> sliced;
    for (std::size_t from = 0; from < input.size();) {
      const std::size_t end = end_of_row_at(input, from, from + step);
      for (const auto& row : all_rows(std::string_view(input).substr(from, end - from)))
        sliced.emplace_back(row.text);
      from = end;
    }
    std::vector<std::string> whole;
    for (const auto& row : all_rows(input)) whole.emplace_back(row.text);
    EXPECT_EQ(sliced, whole) << "slices of " << step;
  }
}

TEST(CsvFields, SplitsPlainRowsOnCommas) {
  EXPECT_EQ(fields_of("a,bc,,d"), (std::vector<std::string>{"a", "bc", "", "d"}));
  EXPECT_EQ(fields_of("a,,"), (std::vector<std::string>{"a", "", ""}));
  EXPECT_EQ(fields_of(""), (std::vector<std::string>{""}));
}

TEST(CsvFields, UnquotesAndUndoublesQuotedFields) {
  EXPECT_EQ(fields_of("\"a,b\",\"say \"\"hi\"\"\",\"\",\"x\ny\",\"\"\"\"\"\",z,"),
            (std::vector<std::string>{"a,b", "say \"hi\"", "", "x\ny", "\"\"", "z", ""}));
}

TEST(CsvFields, RefusesOpenQuotesAndStrayText) {
  CsvFields fields;
  EXPECT_FALSE(fields.parse("\"open"));
  EXPECT_FALSE(fields.parse("a,\"open\"\""));
  EXPECT_FALSE(fields.parse("\"x\"y"));
  EXPECT_FALSE(fields.parse("a,b\"c"));
}

TEST(CsvFields, StopsSplittingPastTheMostFieldsWanted) {
  CsvFields fields;
  EXPECT_TRUE(fields.parse("a,b,c", 3));
  EXPECT_EQ(fields.size(), 3u);
  EXPECT_TRUE(fields.parse("a,b,c,d,e,f", 3));
  EXPECT_EQ(fields.size(), 4u);  // one more than wanted: the row has too many
  EXPECT_EQ(fields[2], "c");
  EXPECT_TRUE(fields.parse(std::string(1000000, ','), 64));
  EXPECT_EQ(fields.size(), 65u);
  EXPECT_TRUE(fields.parse("\"a\",\"b\",\"c\",d", 2));
  EXPECT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[1], "b");
  EXPECT_TRUE(fields.parse("\"a\",b,", 2));
  EXPECT_EQ(fields.size(), 3u);
  EXPECT_TRUE(fields.parse("\"a\",b", 2));
  EXPECT_EQ(fields.size(), 2u);
}

TEST(AppendCsvField, QuotesOnlyWhatMustBeQuoted) {
  for (const std::string_view field : {"a,b", "a\"b", "a\rb", "a\nb"}) {
    std::string out;
    append_csv_field(out, field);
    EXPECT_EQ(out.front(), '"') << field;
    EXPECT_EQ(fields_of(out), std::vector<std::string>{std::string(field)});
  }
  std::string out;
  append_csv_field(out, "plain text → 0.30 ≤ 0.30: drop (lead)");
  EXPECT_EQ(out, "plain text → 0.30 ≤ 0.30: drop (lead)");
  out.clear();
  append_csv_field(out, "\"a,\"\"b\"\nc\"");
  EXPECT_EQ(out, "\"\"\"a,\"\"\"\"b\"\"\nc\"\"\"");
  EXPECT_EQ(fields_of(out), std::vector<std::string>{"\"a,\"\"b\"\nc\""});
}

}  // namespace
}  // namespace leadscore::tools
