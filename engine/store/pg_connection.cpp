#include "engine/store/pg_connection.h"

#include <poll.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <stdexcept>
#include <utility>

#include "engine/metrics/engine_metrics.h"

namespace leadscore::store {
namespace {

std::size_t next_statement_index() {
  static std::atomic<std::size_t> next{0};
  return next.fetch_add(1);
}

std::string trimmed(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string field_of(const PGresult* result, int field) {
  const char* value = PQresultErrorField(result, field);
  return value ? value : "";
}

// "leads_activity_count_check" → "activity_count": CHECK constraints keep PostgreSQL's default
// names, <table>_<column>_check.
std::string field_of_check(const std::string& constraint) {
  std::string_view name = constraint;
  for (std::string_view table :
       {"leads_", "sales_", "api_keys_", "analyses_", "stage_events_", "offers_"}) {
    if (name.starts_with(table)) {
      name.remove_prefix(table.size());
      break;
    }
  }
  if (name.ends_with("_check")) name.remove_suffix(std::string_view("_check").size());
  return std::string(name);
}

}  // namespace

Statement::Statement(const char* name, std::string sql)
    : name_(name), sql_(std::move(sql)), index_(next_statement_index()) {}

Params& Params::text(const std::string& value) {
  if (value.find('\0') != std::string::npos) has_nul_ = true;
  return referenced(value.c_str());
}

Params& Params::text(std::string&& value) { return owned(std::move(value)); }

Params& Params::text(const char* value) { return referenced(value); }

Params& Params::text(std::string_view value) { return owned(std::string(value)); }

Params& Params::text(const std::optional<std::string>& value) {
  return value ? text(*value) : null();
}

Params& Params::text(std::optional<std::string>&& value) {
  return value ? owned(std::move(*value)) : null();
}

Params& Params::integer(std::int64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return owned(std::string(buffer, end));  // fits the small-string buffer: no allocation
}

Params& Params::integer(const std::optional<std::int64_t>& value) {
  return value ? integer(*value) : null();
}

Params& Params::real(double value) {
  // The shortest text that reads back as the same double.
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc()) throw std::runtime_error("cannot format a double parameter");
  return owned(std::string(buffer, end));
}

Params& Params::real(const std::optional<double>& value) { return value ? real(*value) : null(); }

Params& Params::null() { return referenced(nullptr); }

int Params::next_slot() {
  if (size_ == kMaxParams) throw std::length_error("too many statement parameters");
  return size_++;
}

Params& Params::referenced(const char* value) {
  const int slot = next_slot();
  referenced_[slot] = value;
  return *this;
}

Params& Params::owned(std::string value) {
  if (value.find('\0') != std::string::npos) has_nul_ = true;
  const int slot = next_slot();
  owned_[slot] = std::move(value);
  is_owned_[slot] = true;
  return *this;
}

const char* const* Params::values() const {
  for (int i = 0; i < size_; ++i) values_[i] = is_owned_[i] ? owned_[i].c_str() : referenced_[i];
  return values_.data();
}

domain::Error to_error(const PgFailure& failure) {
  using domain::Error;
  using domain::ErrorCode;
  const std::string& state = failure.sqlstate;
  // 08: connection exception; 53: insufficient resources; 57P0x: shutdown; 57014: cancelled.
  if (failure.connection_lost || state.starts_with("08") || state.starts_with("53") ||
      state.starts_with("57P") || state == "57014") {
    metrics::count_db_error("unavailable");
    return {ErrorCode::Unavailable, "the database is unavailable: " + failure.message, {}, {}};
  }
  // Classes 22 (data) and 23 (constraints), and 40 (serialization): the statement was refused.
  metrics::count_db_error(
      state.starts_with("22") || state.starts_with("23") || state.starts_with("40") ? "refused"
                                                                                    : "internal");
  if (state == "23514")
    return Error::validation(field_of_check(failure.constraint),
                             field_of_check(failure.constraint) + " is out of range");
  if (state == "22021" || state == "22P05")
    return Error::validation("", "text must be valid UTF-8 without NUL bytes");
  if (state == "22003") return Error::validation("", "a number is out of range");
  if (state == "23505") return {ErrorCode::Conflict, "already exists", {}, {}};
  if (state == "40001" || state == "40P01")
    return {ErrorCode::Conflict, "a concurrent change interfered; retry", {}, {}};
  return Error::internal("postgres " + (state.empty() ? std::string("client") : state) + ": " +
                         failure.message);
}

std::string_view PgResult::text(int row, int column) const {
  return {PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

std::optional<std::string> PgResult::optional_text(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return std::string(text(row, column));
}

std::int64_t PgResult::integer(int row, int column) const {
  std::string_view value = text(row, column);
  std::int64_t number = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (ec != std::errc() || end != value.data() + value.size())
    throw std::runtime_error("not an integer in column " + std::to_string(column) + ": " +
                             std::string(value));
  return number;
}

double PgResult::real(int row, int column) const {
  std::string_view value = text(row, column);
  double number = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (ec != std::errc() || end != value.data() + value.size())
    throw std::runtime_error("not a number in column " + std::to_string(column) + ": " +
                             std::string(value));
  return number;
}

std::optional<double> PgResult::optional_real(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return real(row, column);
}

bool PgResult::boolean(int row, int column) const { return text(row, column) == "t"; }

std::expected<std::unique_ptr<PgConnection>, std::string> PgConnection::open(
    const std::string& url, std::chrono::milliseconds deadline) {
  // `url` is expanded last, so its own settings override these defaults. JIT off: every
  // statement of the store is a short one, and a plan whose estimate passes jit_above_cost
  // (a job's claim over a large job, with fresh statistics) was compiled for 90 ms each time,
  // to run for 2 ms.
  const char* keywords[] = {"connect_timeout", "fallback_application_name", "options", "dbname",
                            nullptr};
  const char* values[] = {"5", "leadscore", "-c jit=off", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) return std::unexpected("cannot allocate a database connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    return std::unexpected(message);
  }
  return std::unique_ptr<PgConnection>(new PgConnection(conn, deadline));
}

PgConnection::PgConnection(PGconn* conn, std::chrono::milliseconds deadline)
    : conn_(conn), deadline_(deadline) {
  // The server's notices (e.g. "relation already exists, skipping") are not for our stderr.
  PQsetNoticeReceiver(
      conn_, [](void*, const PGresult*) {}, nullptr);
  refresh_cancel();
}

PgConnection::~PgConnection() {
  {
    std::lock_guard lock(cancel_mutex_);
    if (cancel_) PQfreeCancel(cancel_);
    cancel_ = nullptr;
  }
  PQfinish(conn_);
}

void PgConnection::refresh_cancel() {
  PGcancel* fresh = PQstatus(conn_) == CONNECTION_OK ? PQgetCancel(conn_) : nullptr;
  std::lock_guard lock(cancel_mutex_);
  if (cancel_) PQfreeCancel(cancel_);
  cancel_ = fresh;
}

void PgConnection::cancel() {
  std::lock_guard lock(cancel_mutex_);
  if (!cancel_) return;
  char error[256];
  PQcancel(cancel_, error, sizeof error);  // best effort: a statement may have just ended
}

bool PgConnection::idle() const {
  return !missed_deadline_ && PQstatus(conn_) == CONNECTION_OK &&
         PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

bool PgConnection::ensure_ok() {
  if (idle()) {
    // Nothing arrives on an idle connection here (no LISTEN) unless the server is closing it
    // (restart, terminated backend): then it sends an error and, a moment later, EOF. Any
    // input at all means reconnect now, rather than race the EOF and fail the next query.
    pollfd fd{PQsocket(conn_), POLLIN, 0};
    if (poll(&fd, 1, 0) <= 0) return true;
  }
  // A statement abandoned at its deadline may still be running: the reset closes its socket.
  missed_deadline_ = false;
  PQreset(conn_);
  PQsetNoticeReceiver(
      conn_, [](void*, const PGresult*) {}, nullptr);
  refresh_cancel();
  prepared_.assign(prepared_.size(), false);
  return PQstatus(conn_) == CONNECTION_OK;
}

void PgConnection::prepare_for_reuse() {
  if (PQstatus(conn_) != CONNECTION_OK) return;
  switch (PQtransactionStatus(conn_)) {
    case PQTRANS_INTRANS:
    case PQTRANS_INERROR:
      PQclear(PQexec(conn_, "ROLLBACK"));
      break;
    default:
      break;  // idle; or busy/unknown, which ensure_ok() resets on the next lease
  }
}

PgOutcome PgConnection::execute(const Statement& statement, const Params& params) {
  if (params.has_nul())
    return std::unexpected(PgFailure{"22021", {}, "a text value contains a NUL byte", false});
  const std::size_t index = statement.index();
  if (index >= prepared_.size()) prepared_.resize(index + 1, false);
  if (deadline_.count() > 0) {
    if (!prepared_[index]) {
      if (!PQsendPrepare(conn_, statement.name(), statement.sql().c_str(), 0, nullptr))
        return check(nullptr);
      auto prepared = check(result_within_deadline());
      if (!prepared) return prepared;
      prepared_[index] = true;
    }
    if (!PQsendQueryPrepared(conn_, statement.name(), params.size(), params.values(), nullptr,
                             nullptr, 0))
      return check(nullptr);
    return check(result_within_deadline());
  }
  if (!prepared_[index]) {
    auto prepared = check(PQprepare(conn_, statement.name(), statement.sql().c_str(), 0, nullptr));
    if (!prepared) return prepared;
    prepared_[index] = true;
  }
  return check(
      PQexecPrepared(conn_, statement.name(), params.size(), params.values(), nullptr, nullptr, 0));
}

PGresult* PgConnection::result_within_deadline() {
  const auto until = std::chrono::steady_clock::now() + deadline_;
  PGresult* last = nullptr;
  for (;;) {
    while (PQisBusy(conn_)) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        // Abandoned, not cancelled: a cancel request would wait on the server just the same.
        missed_deadline_ = true;
        if (last) PQclear(last);
        return nullptr;
      }
      pollfd fd{PQsocket(conn_), POLLIN, 0};
      const int polled = poll(&fd, 1, static_cast<int>(left.count()));
      if (polled == 0 || (polled < 0 && errno == EINTR)) continue;
      if (polled < 0 || !PQconsumeInput(conn_)) {
        // The connection failed while waiting: libpq's error result, if it has one.
        if (last) PQclear(last);
        return PQgetResult(conn_);
      }
    }
    PGresult* next = PQgetResult(conn_);
    if (next == nullptr) return last;
    if (last) PQclear(last);
    last = next;
  }
}

PgOutcome PgConnection::execute_once(const char* sql, const Params& params) {
  if (params.has_nul())
    return std::unexpected(PgFailure{"22021", {}, "a text value contains a NUL byte", false});
  if (deadline_.count() > 0) {
    if (!PQsendQueryParams(conn_, sql, params.size(), nullptr, params.values(), nullptr, nullptr,
                           0))
      return check(nullptr);
    return check(result_within_deadline());
  }
  return check(
      PQexecParams(conn_, sql, params.size(), nullptr, params.values(), nullptr, nullptr, 0));
}

PgOutcome PgConnection::execute_script(const char* sql) {
  if (deadline_.count() > 0)
    return check(PQsendQuery(conn_, sql) ? result_within_deadline() : nullptr);
  return check(PQexec(conn_, sql));
}

std::string PgConnection::error_message() const { return trimmed(PQerrorMessage(conn_)); }

PgOutcome PgConnection::check(PGresult* result) {
  if (result == nullptr && missed_deadline_)
    return std::unexpected(PgFailure{{},
                                     {},
                                     "no answer within " + std::to_string(deadline_.count()) +
                                         " ms; the connection is abandoned",
                                     true});
  if (result == nullptr)
    return std::unexpected(
        PgFailure{{}, {}, trimmed(PQerrorMessage(conn_)), PQstatus(conn_) != CONNECTION_OK});
  switch (PQresultStatus(result)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
      return PgResult(result);
    default:
      break;
  }
  PgFailure failure{field_of(result, PG_DIAG_SQLSTATE), field_of(result, PG_DIAG_CONSTRAINT_NAME),
                    trimmed(PQresultErrorMessage(result)), PQstatus(conn_) != CONNECTION_OK};
  PQclear(result);
  return std::unexpected(std::move(failure));
}

}  // namespace leadscore::store
