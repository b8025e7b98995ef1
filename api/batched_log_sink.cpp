#include "api/batched_log_sink.h"

#include <chrono>

namespace leadscore::api {

BatchedLogSink::BatchedLogSink(std::FILE* out) : out_(out), writer_([this] { run(); }) {}

BatchedLogSink::~BatchedLogSink() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_one();
  writer_.join();
}

void BatchedLogSink::sink_it_(const spdlog::details::log_msg& message) {
  spdlog::memory_buf_t line;
  formatter_->format(message, line);
  if (pending_.size() + line.size() > kMaxBytes) {
    ++dropped_;
    return;
  }
  pending_.append(line.data(), line.size());
  if (pending_.size() >= kWakeBytes && !wake_) {
    wake_ = true;
    ready_.notify_one();
  }
}

void BatchedLogSink::flush_() {
  wake_ = true;
  ready_.notify_one();
}

void BatchedLogSink::run() {
  std::string writing;  // swapped with pending_: both keep their capacity
  std::unique_lock lock(mutex_);
  for (;;) {
    ready_.wait_for(lock, std::chrono::seconds(1), [this] { return wake_ || stopping_; });
    wake_ = false;
    writing.swap(pending_);
    const std::size_t dropped = dropped_;
    dropped_ = 0;
    const bool last = stopping_;
    lock.unlock();
    if (!writing.empty()) std::fwrite(writing.data(), 1, writing.size(), out_);
    if (dropped > 0)
      std::fprintf(out_, "log: %zu lines dropped while the output did not keep up\n", dropped);
    std::fflush(out_);
    writing.clear();
    lock.lock();
    if (last && pending_.empty()) return;
  }
}

}  // namespace leadscore::api
