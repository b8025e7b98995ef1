#include "engine/store/connection_pool.h"

namespace leadscore::store {

ConnectionPool::ConnectionPool(std::vector<std::unique_ptr<PgConnection>> connections)
    : connections_(std::move(connections)) {
  idle_.reserve(connections_.size());
  for (auto& connection : connections_) idle_.push_back(connection.get());
}

PgConnection* ConnectionPool::acquire(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (!freed_.wait_for(lock, wait, [this] { return !idle_.empty(); })) return nullptr;
  PgConnection* connection = idle_.back();
  idle_.pop_back();
  return connection;
}

void ConnectionPool::release(PgConnection* connection) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(connection);
  }
  freed_.notify_one();
}

}  // namespace leadscore::store
