// One libpq connection and its prepared statements, with the small helpers the store's queries
// need: text parameters, result access, and the classification of PostgreSQL failures.
// Private to engine/store.
//
// Threading: a PgConnection is used by one thread at a time (the pool hands it to one Session).
#pragma once

#include <libpq-fe.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/domain/error.h"

namespace leadscore::store {

// A statement prepared once per connection, on its first use there. Define each one once, with
// static storage duration, and a name unique in the store.
class Statement {
 public:
  Statement(const char* name, std::string sql);
  const char* name() const { return name_; }
  const std::string& sql() const { return sql_; }
  std::size_t index() const { return index_; }  // dense, for the per-connection prepared set

 private:
  const char* name_;
  std::string sql_;
  std::size_t index_;
};

// The text-format parameters of one statement, in $1, $2, ... order (at most kMaxParams).
// Strings passed as lvalue `std::string`s or `const char*` are referenced, not copied: they must
// outlive the execution; temporaries and string_views are kept inside. Storage is inline, so
// building parameters allocates only for long copied strings. Use in place: do not copy or move.
class Params {
 public:
  static constexpr int kMaxParams = 24;

  Params() = default;
  Params(const Params&) = delete;
  Params& operator=(const Params&) = delete;

  Params& text(const std::string& value);
  Params& text(std::string&& value);
  Params& text(const char* value);
  Params& text(std::string_view value);
  Params& text(const std::optional<std::string>& value);
  Params& text(std::optional<std::string>&& value);
  Params& integer(std::int64_t value);
  Params& integer(const std::optional<std::int64_t>& value);
  Params& real(double value);
  Params& real(const std::optional<double>& value);
  Params& null();

  int size() const { return size_; }
  const char* const* values() const;
  // A text value with a NUL byte cannot be sent; the statement is refused as a validation error.
  bool has_nul() const { return has_nul_; }

 private:
  Params& referenced(const char* value);
  Params& owned(std::string value);
  int next_slot();

  // Slot i is owned_[i] when is_owned_[i], else the pointer referenced_[i] (nullptr: NULL).
  std::array<const char*, kMaxParams> referenced_{};
  std::array<std::string, kMaxParams> owned_;
  std::array<bool, kMaxParams> is_owned_{};
  mutable std::array<const char*, kMaxParams> values_{};
  int size_ = 0;
  bool has_nul_ = false;
};

// A failed statement, as PostgreSQL or libpq reported it.
struct PgFailure {
  std::string sqlstate;    // e.g. "23505"; empty when libpq failed before the server answered
  std::string constraint;  // the violated constraint's name, when there is one
  std::string message;
  bool connection_lost = false;
};

// The store's default mapping of a failure: connection problems → Unavailable, CHECK and
// encoding violations → Validation, unique violations → Conflict, the rest → Internal
// (with the PostgreSQL message, which the API logs and never sends).
domain::Error to_error(const PgFailure& failure);

class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result, &PQclear) {}
  int rows() const { return PQntuples(result_.get()); }
  bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string_view text(int row, int column) const;
  std::optional<std::string> optional_text(int row, int column) const;
  std::int64_t integer(int row, int column) const;  // throws std::runtime_error if malformed
  double real(int row, int column) const;           // throws std::runtime_error if malformed
  std::optional<double> optional_real(int row, int column) const;
  bool boolean(int row, int column) const;

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

using PgOutcome = std::expected<PgResult, PgFailure>;

class PgConnection {
 public:
  // Connects (blocking, bounded by a connect timeout unless `url` sets one); the error text
  // from libpq on failure. With a `deadline`, every statement must be answered within it (see
  // Database::connect).
  static std::expected<std::unique_ptr<PgConnection>, std::string> open(
      const std::string& url, std::chrono::milliseconds deadline = {});
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Makes the connection usable before a lease: notices a connection the server closed while
  // it sat idle (a cheap non-blocking read) and reconnects a broken one. False if it is still
  // broken; error_message() says why.
  bool ensure_ok();
  // Connected, with no statement in flight nor abandoned, as far as libpq knows without a
  // system call: a connection the server has just closed still looks idle (its next statement
  // fails as Unavailable).
  bool idle() const;
  // Leaves the connection clean for its next user: rolls back a transaction left open.
  void prepare_for_reuse();

  // Prepares `statement` on first use on this connection, then executes it.
  PgOutcome execute(const Statement& statement, const Params& params);
  // An unprepared statement with parameters (migrations and other one-off statements).
  PgOutcome execute_once(const char* sql, const Params& params);
  // One or more statements without parameters (BEGIN, COMMIT, a migration file).
  PgOutcome execute_script(const char* sql);

  std::string error_message() const;

  // Asks the server to cancel the statement this connection is running, if any (it then
  // fails with SQLSTATE 57014, which maps to Unavailable). Safe from any thread, while
  // another thread uses the connection: shutting down stops long statements this way.
  void cancel();

 private:
  PgConnection(PGconn* conn, std::chrono::milliseconds deadline);
  PgOutcome check(PGresult* result);
  // The last result of the statement just sent, waiting at most deadline_ for it; past it the
  // connection is left busy, which the next ensure_ok() repairs.
  PGresult* result_within_deadline();
  void refresh_cancel();  // after a (re)connect: the backend's cancel key changes
  PGconn* conn_;
  std::chrono::milliseconds deadline_;  // zero: statements block until answered
  bool missed_deadline_ = false;
  std::mutex cancel_mutex_;
  PGcancel* cancel_ = nullptr;  // guarded by cancel_mutex_
  std::vector<bool> prepared_;  // by Statement::index()
};

}  // namespace leadscore::store
