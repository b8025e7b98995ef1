// What a Session and a Database hold. Private to engine/store.
#pragma once

#include "engine/store/connection_pool.h"
#include "engine/store/store.h"

namespace leadscore::store {

struct Database::Impl {
  explicit Impl(std::vector<std::unique_ptr<PgConnection>> connections)
      : pool(std::move(connections)) {}
  ConnectionPool pool;
};

// A leased connection; returns it to the pool, clean, when destroyed.
struct Session::Impl {
  Impl(ConnectionPool& pool, PgConnection& connection) : pool(pool), connection(connection) {}
  ~Impl() {
    connection.prepare_for_reuse();
    pool.release(&connection);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  ConnectionPool& pool;
  PgConnection& connection;
};

}  // namespace leadscore::store
