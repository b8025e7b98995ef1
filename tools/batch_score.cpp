#include "tools/batch_score.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <optional>
#include <thread>

#include "engine/domain/analysis.h"
#include "engine/scoring/fallback.h"
#include "tools/csv.h"

namespace leadscore::tools {
namespace {

// Where each lead field stands in a row; -1 when the CSV has no such column.
struct ColumnMap {
  int source = -1, stage = -1, activity_count = -1, business_domain = -1;
  int name = -1, email = -1, role = -1, company = -1, industry = -1, location = -1, bio = -1;
};

std::expected<ColumnMap, std::string> map_columns(const std::vector<std::string>& header) {
  ColumnMap map;
  auto slot = [&map](std::string_view column) -> int* {
    if (column == "source") return &map.source;
    if (column == "stage") return &map.stage;
    if (column == "activity_count") return &map.activity_count;
    if (column == "business_domain") return &map.business_domain;
    if (column == "name") return &map.name;
    if (column == "email") return &map.email;
    if (column == "role") return &map.role;
    if (column == "company") return &map.company;
    if (column == "industry") return &map.industry;
    if (column == "location") return &map.location;
    if (column == "bio") return &map.bio;
    return nullptr;
  };
  for (std::size_t i = 0; i < header.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j)
      if (header[j] == header[i]) return std::unexpected("the header repeats column " + header[i]);
    if (int* index = slot(header[i])) *index = static_cast<int>(i);
  }
  if (map.source < 0) return std::unexpected(std::string("the header has no source column"));
  return map;
}

std::optional<std::string> cell(const std::vector<std::string>& fields, int index) {
  if (index < 0 || fields[static_cast<std::size_t>(index)].empty()) return std::nullopt;
  return fields[static_cast<std::size_t>(index)];
}

std::expected<domain::Features, std::string> features_of_row(const ColumnMap& map,
                                                             const std::vector<std::string>& f) {
  domain::Features features;
  auto source = cell(f, map.source);
  if (!source) return std::unexpected(std::string("source is empty"));
  features.source = *source;
  if (auto stage = cell(f, map.stage)) {
    auto parsed = domain::parse_lead_stage(*stage);
    if (!parsed) return std::unexpected("stage '" + *stage + "' is not a lead stage");
    features.stage = *parsed;
  }
  if (auto count = cell(f, map.activity_count)) {
    auto [end, ec] = std::from_chars(count->data(), count->data() + count->size(),
                                     features.activity_count);
    if (ec != std::errc() || end != count->data() + count->size() || features.activity_count < 0)
      return std::unexpected("activity_count '" + *count + "' is not an integer >= 0");
  }
  features.business_domain = cell(f, map.business_domain);
  features.profile = {cell(f, map.name),     cell(f, map.email),    cell(f, map.role),
                      cell(f, map.company),  cell(f, map.industry), cell(f, map.location),
                      cell(f, map.bio)};
  return features;
}

// The output and problems of one contiguous slice of rows.
struct Slice {
  std::string output;
  std::vector<BatchProblem> problems;
  std::size_t scored = 0;
};

void score_slice(const scoring::ScorerSet& set, const scoring::Scorer& scorer,
                 const ColumnMap& map, std::size_t columns, const std::vector<CsvRow>& rows,
                 std::size_t begin, std::size_t end, std::atomic<std::size_t>& done, Slice& out) {
  std::vector<std::string> fields;
  char number[32];
  for (std::size_t i = begin; i < end; ++i) {
    const CsvRow& row = rows[i];
    auto problem = [&](std::string message) { out.problems.push_back({row.line, std::move(message)}); };
    if (!parse_csv_fields(row.text, fields)) {
      problem("the row is not valid CSV (an unclosed or stray quote)");
    } else if (fields.size() != columns) {
      problem("the row has " + std::to_string(fields.size()) + " fields, the header " +
              std::to_string(columns));
    } else if (auto features = features_of_row(map, fields); !features) {
      problem(features.error());
    } else {
      auto run = scoring::run_with_fallback(set, scorer, *features);
      if (!run.result) {
        problem(run.failure_summary());
      } else {
        out.output += row.text;
        out.output += ',';
        auto [end_ptr, ec] = std::to_chars(number, number + sizeof number, run.result->score);
        out.output.append(number, ec == std::errc() ? end_ptr : number);
        out.output += ',';
        out.output += domain::to_string(run.result->recommendation);
        out.output += ',';
        append_csv_field(out.output, run.result->reason);
        out.output += ',';
        append_csv_field(out.output, run.scorer->name());
        out.output += '\n';
        ++out.scored;
      }
    }
    if ((i - begin) % 1024 == 1023) done.fetch_add(1024, std::memory_order_relaxed);
  }
  done.fetch_add((end - begin) % 1024, std::memory_order_relaxed);
}

}  // namespace

std::expected<BatchReport, std::string> score_csv(const scoring::ScorerSet& set,
                                                  const scoring::Scorer& scorer,
                                                  std::string_view input, std::string& output,
                                                  const BatchOptions& options) {
  const std::vector<CsvRow> rows = split_csv_rows(input);
  if (rows.empty()) return std::unexpected(std::string("the input is empty: a header row is required"));
  std::vector<std::string> header;
  if (!parse_csv_fields(rows.front().text, header))
    return std::unexpected(std::string("the header row is not valid CSV"));
  auto map = map_columns(header);
  if (!map) return std::unexpected(map.error());

  const std::size_t data_rows = rows.size() - 1;
  const std::size_t threads =
      std::clamp<std::size_t>(static_cast<std::size_t>(std::max(options.threads, 1)), 1,
                              std::max<std::size_t>(data_rows / 256, 1));
  std::vector<Slice> slices(threads);
  std::atomic<std::size_t> done{0};
  {
    std::vector<std::jthread> workers;
    for (std::size_t t = 0; t < threads; ++t) {
      const std::size_t begin = 1 + data_rows * t / threads;
      const std::size_t end = 1 + data_rows * (t + 1) / threads;
      workers.emplace_back([&, begin, end, t] {
        score_slice(set, scorer, *map, header.size(), rows, begin, end, done, slices[t]);
      });
    }
    if (options.progress) {
      while (done.load(std::memory_order_relaxed) < data_rows) {
        options.progress(done.load(std::memory_order_relaxed), data_rows);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }  // joins
  if (options.progress) options.progress(data_rows, data_rows);

  BatchReport report;
  report.rows = data_rows;
  output.assign(rows.front().text);
  output += ",score,recommendation,reason,scorer\n";
  std::size_t size = output.size();
  for (const auto& s : slices) size += s.output.size();
  output.reserve(size);
  for (auto& s : slices) {
    output += s.output;
    report.scored += s.scored;
    for (auto& p : s.problems) report.problems.push_back(std::move(p));
  }
  return report;
}

}  // namespace leadscore::tools
