#include "api/analyzer_parts.h"

#include <spdlog/spdlog.h>

namespace leadscore::api {

analysis::AnalyzerParts analyzer_parts(LiveScorers& scorers, OfferCache* offers,
                                       analysis::LeadCache* leads, WorkerPool* shadows,
                                       WorkerPool* slow, std::chrono::milliseconds slow_run_limit,
                                       const std::atomic<bool>* stopping) {
  analysis::AnalyzerParts parts;
  parts.scorers = [&scorers] { return scorers.current(); };
  parts.scorer_failed = [&scorers](const std::string& scorer, const std::string& error) {
    scorers.record_error(scorer, error);
  };
  if (offers != nullptr) parts.offer = [offers] { return offers->current(); };
  parts.leads = leads;
  if (shadows != nullptr)
    parts.run_off_path = [shadows](std::move_only_function<void()>&& task) {
      return shadows->post(std::move(task));
    };
  if (slow != nullptr) {
    parts.run_slow = [slow](std::move_only_function<void()>&& task) {
      return slow->post(std::move(task));
    };
    parts.slow_run_limit = slow_run_limit;
    parts.stopping = stopping;
  }
  parts.warn = [](const std::string& message) { spdlog::warn("{}", message); };
  return parts;
}

}  // namespace leadscore::api
