// The server's log sink: each line is formatted on the thread that logs it and appended to a
// buffer in memory; one writer thread writes the buffer to stdout once a second, and at once
// when a warning or worse is logged or the buffer passes kWakeBytes.
//
// Why not spdlog's asynchronous logger: its queue wakes its thread for every line, which is one
// thread hand-off per request (the request log line) on top of the request's own; here logging a
// line wakes nobody, and a request thread still never waits on stdout. When the writer falls
// kMaxBytes behind (a stalled stdout), lines are dropped rather than waited for, and how many is
// written once the writer catches up.
//
// Threading: spdlog calls sink_it_ and flush_ from any thread, under base_sink's mutex; the
// writer is the sink's own thread, stopped by the destructor after it wrote what is left.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace leadscore::api {

class BatchedLogSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  static constexpr std::size_t kWakeBytes = 256 << 10;
  static constexpr std::size_t kMaxBytes = 4 << 20;

  explicit BatchedLogSink(std::FILE* out = stdout);
  ~BatchedLogSink() override;
  BatchedLogSink(const BatchedLogSink&) = delete;
  BatchedLogSink& operator=(const BatchedLogSink&) = delete;

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override;
  void flush_() override;  // wakes the writer; does not wait for it

 private:
  void run();

  std::FILE* out_;
  // Guarded by base_sink's mutex_.
  std::string pending_;
  std::size_t dropped_ = 0;
  bool wake_ = false;
  bool stopping_ = false;
  std::condition_variable ready_;
  std::thread writer_;  // last: started once the rest is in place
};

}  // namespace leadscore::api
