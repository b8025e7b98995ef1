#include "engine/store/analysis_writer.h"

#include <exception>
#include <string>

namespace leadscore::store {
namespace {

using Outcomes = std::vector<Result<domain::Lead>>;

// Writes one batch on a leased connection. Never throws: when no connection can be had or
// something throws, every analysis of the batch fails alike, so no caller is left waiting.
Outcomes write_batch(Database& db, const std::vector<const AnalysisToRecord*>& batch) noexcept {
  try {
    auto session = db.session();
    if (!session) return Outcomes(batch.size(), std::unexpected(session.error()));
    std::vector<AnalysisToRecord> items;
    items.reserve(batch.size());
    for (const AnalysisToRecord* item : batch) items.push_back(*item);
    return session->record_analyses(items);
  } catch (const std::exception& e) {
    return Outcomes(batch.size(),
                    std::unexpected(Error::internal(std::string("analysis writer: ") + e.what())));
  }
}

}  // namespace

AnalysisWriter::AnalysisWriter(Database& db, std::size_t max_batch, int max_in_flight)
    : batcher_([&db](const auto& batch) { return write_batch(db, batch); }, max_batch,
               max_in_flight) {}

Result<domain::Lead> AnalysisWriter::record(const domain::Lead& seen,
                                            const domain::Analysis& analysis) {
  return batcher_.submit({&seen, &analysis});
}

}  // namespace leadscore::store
