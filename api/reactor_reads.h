// Reads answered on the Pistache reactor thread that received the request, on that reactor's
// own database connection, instead of on the worker pool. A read of one row by its primary key
// (GET /leads/{id}) takes PostgreSQL a few tens of microseconds; handing it to a worker and the
// answer back costs more than that in thread wake-ups, and it is most of what a GET costs.
//
// A reactor must never wait long: every connection it owns waits with it. So
//  - each reactor's connection has a statement deadline (kReadDeadline): a read not answered
//    within it fails at once, whatever the server or the network does, and the request goes to
//    the worker pool;
//  - the reactor never waits for its connection nor reconnects it: when it is not ready (lost,
//    abandoned at its deadline) the request goes to the worker pool, and a worker reconnects it;
//  - a reactor whose read failed, was slow (kSlowRead) or found its connection not ready sends
//    its reads to the worker pool for a while (kPause), so a database in trouble costs the
//    reactor one bounded wait per pause, not one per request.
// The answer is the same either way: a read that fails on the reactor is read again on a worker.
//
// Threading: lease() and the Lease it returns are for the reactor threads (each uses its own
// connection); repairs run on the worker pool given to the constructor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/exchange.h"
#include "api/worker_pool.h"
#include "engine/store/store.h"

namespace leadscore::api {

class ReactorReads {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kReadDeadline{100};
  static constexpr std::chrono::milliseconds kSlowRead{50};
  static constexpr std::chrono::milliseconds kPause{1000};

  // One connection to `url` for each of `reactors` reactor threads. Without them (the database
  // refused, or no url) every read goes to the worker pool.
  ReactorReads(const std::string& url, int reactors, WorkerPool& repairs);
  ~ReactorReads();
  ReactorReads(const ReactorReads&) = delete;
  ReactorReads& operator=(const ReactorReads&) = delete;

  struct Slot;

  // This reactor's connection, leased for one read.
  class Lease {
   public:
    Lease(Slot& slot, store::Session session);
    store::Session& session() { return session_; }
    // Whether `reply`, what the read answered, is the answer: false when the read failed for
    // want of the database (500, 503), and a worker must read again. Pauses this reactor's
    // reads after a failed or slow one. Call once, after the read.
    bool answered(const Reply& reply);

   private:
    Slot* slot_;
    store::Session session_;
    Clock::time_point started_;
  };

  // This reactor's connection when it is free and ready and the reactor's reads are not paused;
  // nullopt otherwise (the request then goes to the worker pool).
  std::optional<Lease> lease();

 private:
  Slot* slot_of_this_thread();

  const std::uint64_t serial_;  // tells a thread's slot of this instance from an earlier one's
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<std::size_t> claimed_{0};
};

}  // namespace leadscore::api
