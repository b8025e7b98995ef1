// Combines the requests that threads make at the same moment into batches: each caller queues
// its request and waits; whoever finds a free slot runs the queued requests as one batch (one
// statement, one round trip, one commit) and hands each caller its response. Alone, a request
// runs at once: nothing waits for a batch to fill. Private to engine/store.
//
// Threading: submit() is safe from any number of threads; it blocks until its response is
// there. At most `max_in_flight` batches run at a time.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

namespace leadscore::store {

struct BatchStats {
  std::size_t batches = 0;
  std::size_t requests = 0;
  std::size_t largest_batch = 0;
};

template <typename Request, typename Response>
class Batcher {
 public:
  // Runs a batch: one response per request, in order. Must not throw.
  using Run = std::function<std::vector<Response>(const std::vector<const Request*>&)>;
  // Whether `next` may join `batch` (for instance, one request per row); it must admit any
  // request into an empty batch. Default: always.
  using Admits = std::function<bool(const std::vector<const Request*>& batch, const Request& next)>;

  Batcher(Run run, std::size_t max_batch, int max_in_flight, Admits admits = {})
      : run_(std::move(run)),
        admits_(std::move(admits)),
        max_batch_(std::max<std::size_t>(max_batch, 1)),
        max_in_flight_(std::max(max_in_flight, 1)) {}

  Response submit(const Request& request) {
    Pending mine{&request, std::nullopt, {}};
    std::unique_lock lock(mutex_);
    queue_.push_back(&mine);
    while (!mine.response) {
      if (in_flight_ < max_in_flight_ && !queue_.empty()) {
        std::vector<Pending*> batch = take_batch();
        ++in_flight_;
        wake_next_runner();
        lock.unlock();
        std::vector<const Request*> requests;
        requests.reserve(batch.size());
        for (const Pending* p : batch) requests.push_back(p->request);
        std::vector<Response> responses = run_(requests);
        lock.lock();
        --in_flight_;
        for (std::size_t i = 0; i < batch.size(); ++i) {
          batch[i]->response = std::move(responses[i]);
          if (batch[i] != &mine) batch[i]->wake.notify_one();
        }
        stats_.batches += 1;
        stats_.requests += batch.size();
        stats_.largest_batch = std::max(stats_.largest_batch, batch.size());
        wake_next_runner();
      } else {
        mine.wake.wait(lock);
      }
    }
    return std::move(*mine.response);
  }

  BatchStats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  // Requests waiting for a batch to take them (not those being run).
  std::size_t queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

 private:
  // One submit() call, on its caller's stack until its response is set. Its owner is woken
  // alone: when the response is set, or when it is the oldest queued and a batch may start
  // (woken all at once, the waiters would mostly go back to sleep).
  struct Pending {
    const Request* request;
    std::optional<Response> response;
    std::condition_variable wake;
  };

  // The oldest queued requests that the batch admits, up to max_batch. With the mutex held.
  std::vector<Pending*> take_batch() {
    std::vector<Pending*> batch;
    std::vector<const Request*> taken;
    for (auto it = queue_.begin(); it != queue_.end() && batch.size() < max_batch_;) {
      if (admits_ && !admits_(taken, *(*it)->request)) {
        ++it;
        continue;
      }
      batch.push_back(*it);
      taken.push_back((*it)->request);
      it = queue_.erase(it);
    }
    return batch;
  }

  // When a batch may start and requests are queued, wakes the oldest one's owner to run it.
  // With the mutex held.
  void wake_next_runner() {
    if (in_flight_ < max_in_flight_ && !queue_.empty()) queue_.front()->wake.notify_one();
  }

  const Run run_;
  const Admits admits_;
  const std::size_t max_batch_;
  const int max_in_flight_;
  mutable std::mutex mutex_;
  std::deque<Pending*> queue_;
  int in_flight_ = 0;
  BatchStats stats_;
};

}  // namespace leadscore::store
