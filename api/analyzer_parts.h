// The analysis pipeline's parts as the server runs it: the live scorers (and their health for
// GET /scorers), the offer cache, the lead cache, the shadow pool, the slow-scorer pool and the
// log.
//
// Threading: the parts are safe from any thread, as the caches and pools they use are.
#pragma once

#include <atomic>
#include <chrono>

#include "api/live_scorers.h"
#include "api/offer_cache.h"
#include "api/worker_pool.h"
#include "engine/analysis/analyzer.h"

namespace leadscore::api {

// `offers`, `leads`, `shadows` and `slow` may be null (no offer, no lead cache, no shadow runs,
// slow scorers run on the calling thread); each that is not must outlive the Analyzer made with
// the parts. `slow_run_limit`: how long a slow run is waited for when no request sets a
// deadline (shadow runs). `stopping` (may be null), once set, ends every wait for a slow run.
analysis::AnalyzerParts analyzer_parts(LiveScorers& scorers, OfferCache* offers,
                                       analysis::LeadCache* leads, WorkerPool* shadows,
                                       WorkerPool* slow = nullptr,
                                       std::chrono::milliseconds slow_run_limit = {},
                                       const std::atomic<bool>* stopping = nullptr);

}  // namespace leadscore::api
