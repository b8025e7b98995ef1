#include "tools/batch_score.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>

#include "engine/analysis/scoring_step.h"
#include "engine/domain/analysis.h"
#include "tools/csv.h"
#include "tools/input_file.h"
#include "tools/lead_columns.h"
#include "tools/output_file.h"

namespace leadscore::tools {
namespace {

// The input row with score, recommendation, reason and scorer appended.
void append_scored_row(std::string& out, std::string_view row, const domain::ScoreResult& result,
                       const scoring::Scorer& scorer) {
  out += row;
  out += ',';
  append_csv_number(out, result.score);
  out += ',';
  out += domain::to_string(result.recommendation);
  out += ',';
  append_csv_field(out, result.reason);
  out += ',';
  append_csv_field(out, scorer.name());
  out += '\n';
}

// A run of whole rows scored by one worker; the writer takes its output once it is done.
struct Chunk {
  std::string_view text;
  std::size_t first_line = 0;
  std::size_t lines = 0;  // for progress
  std::string output;
  std::vector<BatchProblem> problems;
  std::size_t rows = 0;
  std::size_t scored = 0;
};

// Cuts input[from..] into chunks of about `chunk_bytes`, each ending at a row end.
std::vector<Chunk> cut_into_chunks(std::string_view input, std::size_t from, std::size_t first_line,
                                   std::size_t chunk_bytes) {
  std::vector<Chunk> chunks;
  for (const CsvSlice& slice : cut_into_slices(input, from, first_line, chunk_bytes)) {
    Chunk chunk;
    chunk.text = slice.text;
    chunk.first_line = slice.first_line;
    chunk.lines = slice.lines;
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

struct RowContext {
  const scoring::ScorerSet& set;
  const scoring::Scorer& scorer;
  const ColumnMap& map;
  std::size_t columns;
  const std::shared_ptr<const domain::OfferView>& offer;
};

void score_chunk(const RowContext& context, Chunk& chunk) {
  // The scored columns usually take several times the input row (the reason is a sentence or
  // two): reserving up front saves regrowing and copying the buffer.
  chunk.output.reserve(chunk.text.size() * 8);
  CsvRowReader reader(chunk.text, chunk.first_line);
  CsvFields fields;
  domain::Features features;
  features.offer = context.offer;  // read_features() fills in the rest, row by row
  while (const std::optional<CsvRow> row = reader.next()) {
    ++chunk.rows;
    auto problem = [&](std::string message) {
      chunk.problems.push_back({row->line, std::move(message)});
    };
    if (!fields.parse(row->text)) {
      problem("the row is not valid CSV (an unclosed or stray quote)");
    } else if (fields.size() != context.columns) {
      problem("the row has " + std::to_string(fields.size()) + " fields, the header " +
              std::to_string(context.columns));
    } else if (auto read = read_features(context.map, fields, features); !read) {
      problem(read.error());
    } else if (auto run = analysis::score_features(context.set, context.scorer, features);
               !run.result) {
      problem(run.failure_summary());
    } else {
      append_scored_row(chunk.output, row->text, *run.result, *run.scorer);
      ++chunk.scored;
    }
  }
}

// Hands chunks to the workers in order and tells the writer when each is done. Workers claim
// at most `window` chunks past the last one written, which bounds the memory held when the
// output is slower than the scoring. Output buffers of written chunks go to the next chunks
// claimed: a few buffers serve the whole run, with no fresh pages to fault in and no heap
// fragmentation from large blocks freed on another thread.
class ChunkQueue {
 public:
  ChunkQueue(std::vector<Chunk>& chunks, std::size_t window) : chunks_(chunks), window_(window) {}

  // The next chunk for a worker; nullptr when none is left or the run stopped.
  Chunk* claim() {
    std::unique_lock lock(mutex_);
    claimable_.wait(lock, [&] { return stopped_ || next_ < written_ + window_; });
    if (stopped_ || next_ == chunks_.size()) return nullptr;
    Chunk& chunk = chunks_[next_++];
    if (!spare_outputs_.empty()) {
      chunk.output = std::move(spare_outputs_.back());
      spare_outputs_.pop_back();
    }
    return &chunk;
  }

  void finish(const Chunk& chunk) {
    {
      std::lock_guard lock(mutex_);
      finished_[static_cast<std::size_t>(&chunk - chunks_.data())] = 1;
    }
    done_.notify_all();
  }

  // For the writer: waits until chunk `i` is done.
  Chunk& wait_done(std::size_t i) {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return finished_[i] != 0; });
    return chunks_[i];
  }

  // The writer is through with chunk `i` (or, stop(), with all of them).
  void written(std::size_t i) {
    release([&] {
      written_ = i + 1;
      chunks_[i].output.clear();
      spare_outputs_.push_back(std::move(chunks_[i].output));
    });
  }
  void stop() {
    release([&] { stopped_ = true; });
  }

 private:
  template <typename Change>
  void release(Change change) {
    {
      std::lock_guard lock(mutex_);
      change();
    }
    claimable_.notify_all();
  }

  std::vector<Chunk>& chunks_;
  const std::size_t window_;
  std::mutex mutex_;
  std::condition_variable claimable_, done_;
  std::size_t next_ = 0, written_ = 0;
  bool stopped_ = false;
  std::vector<std::string> spare_outputs_;
  std::vector<char> finished_ = std::vector<char>(chunks_.size(), 0);
};

// Calls `progress` at most every 100 ms, and always for the last call.
class ProgressThrottle {
 public:
  ProgressThrottle(const BatchOptions& options, std::size_t all)
      : progress_(options.progress), all_(all) {}

  void report(std::size_t done) {
    if (!progress_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < all_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    progress_(done, all_);
  }

 private:
  const std::function<void(std::size_t, std::size_t)>& progress_;
  std::size_t all_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

std::expected<BatchReport, std::string> score_csv(const scoring::ScorerSet& set,
                                                  const scoring::Scorer& scorer,
                                                  std::string_view input, const CsvSink& output,
                                                  const BatchOptions& options) {
  CsvRowReader reader(input);
  const std::optional<CsvRow> header_row = reader.next();
  if (!header_row)
    return std::unexpected(std::string("the input is empty: a header row is required"));
  CsvFields header;
  if (!header.parse(header_row->text))
    return std::unexpected(std::string("the header row is not valid CSV"));
  const auto map = map_columns(header);
  if (!map) return std::unexpected(map.error());

  std::vector<Chunk> chunks =
      cut_into_chunks(input, reader.position(), reader.line(), options.chunk_bytes);
  std::size_t all_lines = 0;
  for (const Chunk& chunk : chunks) all_lines += chunk.lines;
  const std::size_t threads =
      std::min(static_cast<std::size_t>(std::max(options.threads, 1)), chunks.size());
  ChunkQueue queue(chunks, 4 * std::max<std::size_t>(threads, 1));
  const RowContext context{set, scorer, *map, header.size(), options.offer};
  std::vector<std::jthread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      while (Chunk* chunk = queue.claim()) {
        score_chunk(context, *chunk);
        queue.finish(*chunk);
      }
    });
  }

  BatchReport report;
  ProgressThrottle progress(options, all_lines);
  std::size_t lines_done = 0;
  bool writing = output(std::string(header_row->text) + ",score,recommendation,reason,scorer\n");
  for (std::size_t i = 0; writing && i < chunks.size(); ++i) {
    Chunk& chunk = queue.wait_done(i);
    writing = output(chunk.output);
    report.rows += chunk.rows;
    report.scored += chunk.scored;
    std::ranges::move(chunk.problems, std::back_inserter(report.problems));
    queue.written(i);
    lines_done += chunk.lines;
    progress.report(lines_done);
  }
  if (!writing) {
    queue.stop();
    return std::unexpected(std::string("the output could not be written"));
  }
  if (chunks.empty()) progress.report(0);
  return report;
}

std::expected<BatchReport, std::string> score_csv_file(const scoring::ScorerSet& set,
                                                       const scoring::Scorer& scorer,
                                                       const std::string& input_path,
                                                       const std::string& output_path,
                                                       const BatchOptions& options) {
  // Writing the output truncates its file: when that is the input, read the input first.
  std::error_code not_found;
  const bool in_place = std::filesystem::equivalent(input_path, output_path, not_found);
  auto input = InputFile::open(input_path, in_place);
  if (!input) return std::unexpected("cannot read " + input_path + ": " + input.error());
  OutputFile output(output_path);
  auto report = score_csv(
      set, scorer, input->text(), [&output](std::string_view piece) { return output.write(piece); },
      options);
  if (!output.error().empty() || !output.close())
    return std::unexpected("cannot write " + output_path + ": " + output.error());
  if (!report) return std::unexpected(input_path + ": " + report.error());
  return report;
}

}  // namespace leadscore::tools
