#include "engine/store/connection_pool.h"

#include <algorithm>

#include "engine/metrics/engine_metrics.h"

namespace leadscore::store {
namespace {

// The pool's part of the process's pool gauges (metrics.enabled is set before any pool exists).
void count(metrics::Gauge* metrics::PoolGauges::*gauge, std::int64_t by) {
  if (metrics::enabled()) (metrics::pool_gauges().*gauge)->add(by);
}

}  // namespace

// A thread waiting in acquire(), on its own stack until it returns.
struct ConnectionPool::Waiter {
  PgConnection* handed = nullptr;
  std::condition_variable ready;
};

ConnectionPool::ConnectionPool(std::vector<std::unique_ptr<PgConnection>> connections)
    : connections_(std::move(connections)) {
  idle_.reserve(connections_.size());
  for (auto& connection : connections_) idle_.push_back(connection.get());
  count(&metrics::PoolGauges::size, size());
}

ConnectionPool::~ConnectionPool() { count(&metrics::PoolGauges::size, -size()); }

PgConnection* ConnectionPool::acquire(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (!idle_.empty() && waiters_.empty()) {
    PgConnection* connection = idle_.back();
    idle_.pop_back();
    count(&metrics::PoolGauges::in_use, 1);
    return connection;
  }
  Waiter me;
  waiters_.push_back(&me);
  count(&metrics::PoolGauges::waiters, 1);
  const bool handed = me.ready.wait_for(lock, wait, [&] { return me.handed != nullptr; });
  count(&metrics::PoolGauges::waiters, -1);
  if (handed) {
    count(&metrics::PoolGauges::in_use, 1);
    return me.handed;
  }
  waiters_.erase(std::ranges::find(waiters_, &me));
  return nullptr;
}

PgConnection* ConnectionPool::try_acquire() {
  std::lock_guard lock(mutex_);
  if (idle_.empty() || !waiters_.empty()) return nullptr;
  PgConnection* connection = idle_.back();
  idle_.pop_back();
  count(&metrics::PoolGauges::in_use, 1);
  return connection;
}

void ConnectionPool::release(PgConnection* connection) {
  std::lock_guard lock(mutex_);
  count(&metrics::PoolGauges::in_use, -1);
  if (waiters_.empty()) {
    idle_.push_back(connection);
    return;
  }
  // Straight to the longest waiter: a thread that releases and at once acquires again
  // would otherwise take the connection back every time, and the waiters could starve.
  Waiter* first = waiters_.front();
  waiters_.pop_front();
  first->handed = connection;
  first->ready.notify_one();
}

std::size_t ConnectionPool::waiting() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

void ConnectionPool::cancel_leased() {
  std::lock_guard lock(mutex_);
  for (auto& connection : connections_)
    if (std::find(idle_.begin(), idle_.end(), connection.get()) == idle_.end())
      connection->cancel();
}

}  // namespace leadscore::store
