#include "engine/store/analysis_writer.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace leadscore::store {

// One record() call's analysis, on its caller's stack until its outcome is set. Its owner
// is woken alone: when the outcome is set, or when it is the oldest queued and a batch may
// start (woken all at once, the waiters would mostly go back to sleep).
struct AnalysisWriter::Pending {
  AnalysisToRecord item;
  std::optional<Result<domain::Lead>> outcome;
  std::condition_variable wake;
};

AnalysisWriter::AnalysisWriter(Database& db, std::size_t max_batch, int max_in_flight)
    : db_(db), max_batch_(std::max<std::size_t>(max_batch, 1)),
      max_in_flight_(std::max(max_in_flight, 1)) {}

Result<domain::Lead> AnalysisWriter::record(const domain::Lead& seen,
                                            const domain::Analysis& analysis) {
  Pending mine{{&seen, &analysis}, std::nullopt, {}};
  std::unique_lock lock(mutex_);
  queue_.push_back(&mine);
  // Whoever finds a free slot writes what is queued — its own analysis, usually, and those
  // that came while the last batch was being written.
  while (!mine.outcome) {
    if (in_flight_ < max_in_flight_ && !queue_.empty()) {
      std::vector<Pending*> batch = take_batch();
      ++in_flight_;
      wake_next_writer();
      lock.unlock();
      std::vector<Result<domain::Lead>> outcomes = write(batch);
      lock.lock();
      --in_flight_;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        batch[i]->outcome = std::move(outcomes[i]);
        if (batch[i] != &mine) batch[i]->wake.notify_one();
      }
      stats_.batches += 1;
      stats_.analyses += batch.size();
      stats_.largest_batch = std::max(stats_.largest_batch, batch.size());
      wake_next_writer();
    } else {
      mine.wake.wait(lock);
    }
  }
  return std::move(*mine.outcome);
}

// When a batch may start and analyses are queued, wakes the oldest one's owner to write it.
// Called with the mutex held.
void AnalysisWriter::wake_next_writer() {
  if (in_flight_ < max_in_flight_ && !queue_.empty()) queue_.front()->wake.notify_one();
}

AnalysisWriter::Stats AnalysisWriter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

// The oldest queued analyses, at most one per lead (the write of a lead's analysis is
// guarded by the lead's version, so two in one statement could not both be stored), up to
// max_batch. Called with the mutex held.
std::vector<AnalysisWriter::Pending*> AnalysisWriter::take_batch() {
  std::vector<Pending*> batch;
  for (auto it = queue_.begin(); it != queue_.end() && batch.size() < max_batch_;) {
    const std::int64_t lead = (*it)->item.seen->id;
    const bool taken = std::ranges::any_of(
        batch, [lead](const Pending* p) { return p->item.seen->id == lead; });
    if (taken) {
      ++it;
    } else {
      batch.push_back(*it);
      it = queue_.erase(it);
    }
  }
  return batch;
}

// Without the mutex: the batch's Pendings belong to this writer until record() sets their
// outcomes. Never throws, so that no waiter is left without an outcome.
std::vector<Result<domain::Lead>> AnalysisWriter::write(const std::vector<Pending*>& batch) noexcept {
  using Outcomes = std::vector<Result<domain::Lead>>;
  try {
    auto session = db_.session();
    if (!session) return Outcomes(batch.size(), std::unexpected(session.error()));
    std::vector<AnalysisToRecord> items;
    items.reserve(batch.size());
    for (const Pending* p : batch) items.push_back(p->item);
    return session->record_analyses(items);
  } catch (const std::exception& e) {
    return Outcomes(batch.size(),
                    std::unexpected(Error::internal(std::string("analysis writer: ") + e.what())));
  }
}

}  // namespace leadscore::store
