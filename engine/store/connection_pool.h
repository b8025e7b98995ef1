// A fixed set of PgConnections shared by the threads of a Database. Private to engine/store.
//
// Threading: acquire() and release() are safe from any thread; a connection acquired belongs
// to its caller alone until released.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/store/pg_connection.h"

namespace leadscore::store {

class ConnectionPool {
 public:
  explicit ConnectionPool(std::vector<std::unique_ptr<PgConnection>> connections);

  // A free connection, waiting up to `wait` for one; nullptr on timeout.
  PgConnection* acquire(std::chrono::milliseconds wait);
  void release(PgConnection* connection);
  int size() const { return static_cast<int>(connections_.size()); }

 private:
  std::vector<std::unique_ptr<PgConnection>> connections_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<PgConnection*> idle_;  // LIFO: the most recently used connection is warmest
};

}  // namespace leadscore::store
