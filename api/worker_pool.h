// A fixed pool of threads that runs blocking work (database, scoring) off Pistache's
// reactor threads, so that a slow request never delays unrelated connections.
//
// Threading: post() is safe from any thread. The queue is bounded: post() refuses work
// when it is full, and the caller answers 503 at once instead of queueing without end.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/metrics/metrics.h"

namespace leadscore::api {

class WorkerPool {
 public:
  using Task = std::move_only_function<void()>;

  // What `limit` bounds: the tasks waiting for a thread, or those and the running ones together
  // (a pool whose every task holds a waiting caller: the slow-scorer pool).
  enum class Limit { Queued, InFlight };

  WorkerPool(int threads, std::size_t limit, Limit what = Limit::Queued);
  ~WorkerPool();  // drains the queue, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the limit is reached or the pool is stopping; the task is then left untouched
  // (not moved from) and not run, so the caller can still answer with what it holds.
  bool post(Task&& task);

  // Runs what is queued, then joins the threads. Idempotent.
  void stop();

  std::size_t queued() const;
  int threads() const { return static_cast<int>(threads_.size()); }
  // Adds the tasks waiting here to `gauge` from now on (GET /metrics); call before posting.
  void report_depth(metrics::Gauge& gauge) { depth_ = &gauge; }

 private:
  void run();

  const std::size_t limit_;
  const Limit what_;
  std::size_t running_ = 0;  // counted only for Limit::InFlight
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  metrics::Gauge* depth_ = nullptr;
  std::vector<std::thread> threads_;
};

}  // namespace leadscore::api
