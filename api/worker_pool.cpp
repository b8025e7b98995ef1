#include "api/worker_pool.h"

namespace leadscore::api {

WorkerPool::WorkerPool(int threads, std::size_t limit, Limit what) : limit_(limit), what_(what) {
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() { stop(); }

bool WorkerPool::post(Task&& task) {
  {
    std::lock_guard lock(mutex_);
    const std::size_t taken = queue_.size() + (what_ == Limit::InFlight ? running_ : 0);
    if (stopping_ || taken >= limit_) return false;
    queue_.push_back(std::move(task));
    if (depth_ != nullptr) depth_->add(1);
  }
  ready_.notify_one();
  return true;
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

std::size_t WorkerPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void WorkerPool::run() {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      task = std::move(queue_.front());
      queue_.pop_front();
      if (depth_ != nullptr) depth_->add(-1);
      if (what_ == Limit::InFlight) ++running_;
    }
    task();
    if (what_ == Limit::InFlight) {
      task = nullptr;  // what the task holds goes before its place is given back
      std::lock_guard lock(mutex_);
      --running_;
    }
  }
}

}  // namespace leadscore::api
