// The active offer, kept in memory so that an analysis costs no database round trip for it.
//
// Freshness: a write through this server installs its outcome at once (so the next analysis
// sees it). A change made by another process on the same database is seen within max_age
// (default 1 s) plus one round trip: the first analysis that finds the copy older than
// max_age reads it again, one statement, while concurrent ones go on with the copy. Polling
// when asked was chosen over LISTEN/NOTIFY: no extra connection or thread to keep alive, no
// notification lost while a connection is down, the same bound whatever happened to the
// connections, and at most one small query per max_age on the hot path. A state only replaces
// one of an earlier revision (store::ActiveOffer), so a slow re-read can never undo a newer
// write.
//
// Threading: safe from any thread. current() takes no lock unless the copy is due a re-read.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "engine/domain/offer.h"
#include "engine/store/store.h"

namespace leadscore::api {

class OfferCache {
 public:
  using Clock = std::chrono::steady_clock;
  // Reads the active offer as the database has it now.
  using Reader = std::function<store::Result<store::ActiveOffer>()>;

  explicit OfferCache(Reader read, std::chrono::milliseconds max_age = std::chrono::seconds(1),
                      std::function<Clock::time_point()> now = Clock::now);
  // A Reader on a connection of `db`, leased for at most 100 ms (a busy pool delays the
  // re-read to the next analysis rather than the analysis that asked).
  static Reader reader_of(store::Database& db);

  // Reads the active offer now (at start); the error when the database cannot say.
  store::Result<void> load();

  // The active offer for scorers; nullptr when none is active. Re-reads it first when the copy
  // is older than max_age and no other thread is re-reading it; a failed re-read keeps the
  // copy (and is logged), and is tried again max_age later.
  std::shared_ptr<const domain::OfferView> current();

  // Installs the active offer as an offer write (or a read) found it, unless the copy is of
  // that revision or a later one already; whether it did.
  bool install(const store::ActiveOffer& state);

 private:
  const Reader read_;
  const std::chrono::milliseconds max_age_;
  const std::function<Clock::time_point()> now_;
  std::atomic<std::shared_ptr<const domain::OfferView>> offer_;
  std::atomic<Clock::rep> next_read_{0};  // Clock ticks: the copy is due a re-read from then
  std::mutex read_mutex_;                 // one re-read at a time
  std::mutex install_mutex_;              // guards revision_ and the store into offer_
  std::int64_t revision_ = -1;            // of the copy; -1 before the first read
};

}  // namespace leadscore::api
