// A fixed set of PgConnections shared by the threads of a Database. Private to engine/store.
//
// Threading: acquire() and release() are safe from any thread; a connection acquired belongs
// to its caller alone until released. Waiters are served first come, first served.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/store/pg_connection.h"

namespace leadscore::store {

class ConnectionPool {
 public:
  explicit ConnectionPool(std::vector<std::unique_ptr<PgConnection>> connections);
  ~ConnectionPool();

  // A free connection, waiting up to `wait` for one; nullptr on timeout.
  PgConnection* acquire(std::chrono::milliseconds wait);
  // A free connection when one is free now and nobody waits for one; else nullptr.
  PgConnection* try_acquire();
  void release(PgConnection* connection);
  int size() const { return static_cast<int>(connections_.size()); }
  std::size_t waiting() const;  // threads waiting in acquire()
  // Cancels the statements running on the connections that are leased now.
  void cancel_leased();

 private:
  std::vector<std::unique_ptr<PgConnection>> connections_;
  struct Waiter;
  mutable std::mutex mutex_;
  std::deque<Waiter*> waiters_;      // oldest first
  std::vector<PgConnection*> idle_;  // LIFO: the most recently used connection is warmest
};

}  // namespace leadscore::store
