// What a Session and a Database hold, and what the Session's queries share: running a body on
// the leased connection (guarded), transactions, failures as Errors, lookups by id and keyset
// pages. Private to engine/store.
//
// The queries are split by aggregate, each file with the statements it runs beside the methods
// that run them: lead_queries.cpp (leads, their stage changes and the handoff),
// analysis_queries.cpp, sale_queries.cpp, offer_queries.cpp, api_key_queries.cpp,
// job_queries.cpp, webhook_queries.cpp (the outbox: events and their deliveries); session.cpp
// holds the Session's lifetime. A Statement is defined `const` at namespace scope there, so it
// is private to its file (internal linkage); its name must still be unique in the store.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <expected>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "engine/store/connection_pool.h"
#include "engine/store/pg_connection.h"
#include "engine/store/store.h"

namespace leadscore::store {

struct Database::Impl {
  explicit Impl(std::vector<std::unique_ptr<PgConnection>> connections)
      : pool(std::move(connections)) {}
  ConnectionPool pool;

  // The webhooks each event is written for; never null.
  std::shared_ptr<const WebhookSubscriptions> subscriptions() const {
    std::lock_guard lock(subscriptions_mutex);
    return subscriptions_;
  }
  void set_subscriptions(std::shared_ptr<const WebhookSubscriptions> subscriptions) {
    std::lock_guard lock(subscriptions_mutex);
    subscriptions_ = std::move(subscriptions);
  }

 private:
  mutable std::mutex subscriptions_mutex;
  std::shared_ptr<const WebhookSubscriptions> subscriptions_ =
      std::make_shared<const WebhookSubscriptions>();
};

// A leased connection; returns it to the pool, clean, when destroyed.
struct Session::Impl {
  Impl(Database::Impl& db, PgConnection& connection)
      : db(db), pool(db.pool), connection(connection) {}
  ~Impl() {
    connection.prepare_for_reuse();
    pool.release(&connection);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Database::Impl& db;
  ConnectionPool& pool;
  PgConnection& connection;
};

// The text of a statement built from pieces (select lists, kTouch).
inline std::string cat(std::initializer_list<std::string_view> parts) {
  std::string text;
  for (std::string_view part : parts) text += part;
  return text;
}

// Every change of a row moves its updated_at strictly forward, even within one microsecond:
// the time of its last change of any kind. (What an analysis is guarded by is a lead's
// input_revision, which the database moves on a change of a scorer's inputs: migration 005.)
inline constexpr std::string_view kTouch =
    "updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')";

// --- errors ---

inline std::unexpected<Error> failure(const PgFailure& failure) {
  return std::unexpected(to_error(failure));
}

inline std::unexpected<Error> error(domain::ErrorCode code, std::string message) {
  return std::unexpected(Error{code, std::move(message), {}, {}});
}

inline std::unexpected<Error> lead_not_found(std::int64_t id) {
  return std::unexpected(Error::not_found("lead " + std::to_string(id) + " not found"));
}

inline std::unexpected<Error> lead_final(std::int64_t id, domain::LeadStage stage) {
  return error(domain::ErrorCode::LeadFinal, "lead " + std::to_string(id) + " is " +
                                                 std::string(domain::to_string(stage)) +
                                                 ", a final stage: it cannot change");
}

// --- running statements ---

// Runs `body` on the session's connection; nothing thrown escapes (a corrupt row, a JSON
// error, bad_alloc become Internal), and a transaction left open is rolled back.
template <typename Body>
auto guarded(Session::Impl* impl, Body&& body) -> decltype(body(impl->connection)) {
  if (impl == nullptr) return std::unexpected(Error::internal("store session used after move"));
  try {
    return body(impl->connection);
  } catch (const std::exception& e) {
    impl->connection.prepare_for_reuse();
    return std::unexpected(Error::internal(std::string("store: ") + e.what()));
  } catch (...) {
    impl->connection.prepare_for_reuse();
    return std::unexpected(Error::internal("store: unknown exception"));
  }
}

// BEGIN; body; COMMIT — or ROLLBACK when the body fails.
template <typename Body>
auto in_transaction(PgConnection& c, Body&& body) -> decltype(body()) {
  if (auto begun = c.execute_script("BEGIN"); !begun) return failure(begun.error());
  auto result = body();
  if (!result) {
    c.prepare_for_reuse();
    return result;
  }
  if (auto committed = c.execute_script("COMMIT"); !committed) return failure(committed.error());
  return result;
}

// The row that `statement` finds by `id` ($1), read from column 0 by `read`; `missing(id)`
// when there is none.
template <typename Read, typename Missing>
auto find_by_id(PgConnection& c, const Statement& statement, std::int64_t id, Read read,
                Missing missing) -> Result<decltype(read(std::declval<const PgResult&>(), 0, 0))> {
  auto r = c.execute(statement, Params().integer(id));
  if (!r) return failure(r.error());
  if (r->rows() == 0) return missing(id);
  return read(*r, 0, 0);
}

// --- keyset pages ---

// The page of at most `limit` items that `r` holds, read from column 0 by `read`.
template <typename T, typename Read>
Page<T> read_page(const PgResult& r, int limit, Read read) {
  Page<T> page;
  const int rows = std::min(r.rows(), limit);
  page.items.reserve(static_cast<std::size_t>(rows));
  for (int row = 0; row < rows; ++row) page.items.push_back(read(r, row, 0));
  // One row more than asked for was requested: its presence says another page follows.
  if (r.rows() > limit && !page.items.empty()) page.next_after_id = page.items.back().id;
  return page;
}

inline std::optional<Error> check_limit(const PageRequest& page) {
  if (page.limit < 1) return Error::validation("limit", "limit must be >= 1");
  return std::nullopt;
}

// One keyset page of what `statement` lists in id order ($1: after this id, $2: how many).
template <typename T, typename Read>
Result<Page<T>> list_page(PgConnection& c, const Statement& statement, const PageRequest& page,
                          Read read) {
  if (auto e = check_limit(page)) return std::unexpected(*e);
  auto r =
      c.execute(statement, Params().integer(page.after_id).integer(std::int64_t{page.limit} + 1));
  if (!r) return failure(r.error());
  return read_page<T>(*r, page.limit, read);
}

// Binds the filters of GET /leads, in this order: stage, source, min_score, max_score,
// recommendation (NULL for each one not given). `Filter` is a LeadFilter, or anything with its
// members (a job's filter).
template <typename Filter>
Params& bind_lead_filter(Params& p, const Filter& filter) {
  if (filter.stage)
    p.text(domain::to_string(*filter.stage));
  else
    p.null();
  p.text(filter.source).real(filter.min_score).real(filter.max_score);
  if (filter.recommendation)
    p.text(domain::to_string(*filter.recommendation));
  else
    p.null();
  return p;
}

}  // namespace leadscore::store
