// Database: the connection pool, leases, and migrations.
#include <array>
#include <utility>

#include "engine/store/migrations.h"
#include "engine/store/session_impl.h"
#include "engine/store/store.h"

namespace leadscore::store {
namespace {

using domain::ErrorCode;

constexpr std::array<std::pair<Role, std::string_view>, 4> kRoleNames{{
    {Role::Viewer, "viewer"},
    {Role::Manager, "manager"},
    {Role::Analyst, "analyst"},
    {Role::Admin, "admin"},
}};

Error unavailable(std::string message) {
  return {ErrorCode::Unavailable, std::move(message), {}, {}};
}

// Held for the whole transaction of each migration, so that concurrent migrators apply each
// migration once, in order. The number is arbitrary and private to leadscore.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7306043816523418711)";

constexpr const char* kCreateSchemaMigrations =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " name text PRIMARY KEY,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

// Applies one migration unless it was applied before; true when it applied it.
Result<bool> apply_migration(PgConnection& connection, const Migration& migration) {
  auto fail = [&](const PgFailure& failure) -> Result<bool> {
    connection.prepare_for_reuse();
    Error error = to_error(failure);
    if (error.code != ErrorCode::Unavailable)
      error = Error::internal("migration " + std::string(migration.name) + ": " + failure.message);
    return std::unexpected(std::move(error));
  };
  for (const char* step : {"BEGIN", kMigrationLock, kCreateSchemaMigrations})
    if (auto done = connection.execute_script(step); !done) return fail(done.error());

  const std::string name(migration.name);
  auto applied = connection.execute_once("SELECT 1 FROM schema_migrations WHERE name = $1",
                                         Params().text(name));
  if (!applied) return fail(applied.error());
  if (applied->rows() > 0) {
    if (auto done = connection.execute_script("COMMIT"); !done) return fail(done.error());
    return false;
  }
  const std::string sql(migration.sql);
  if (auto done = connection.execute_script(sql.c_str()); !done) return fail(done.error());
  if (auto done = connection.execute_once("INSERT INTO schema_migrations (name) VALUES ($1)",
                                          Params().text(name));
      !done)
    return fail(done.error());
  if (auto done = connection.execute_script("COMMIT"); !done) return fail(done.error());
  return true;
}

}  // namespace

std::string_view to_string(Role role) {
  for (const auto& [value, name] : kRoleNames)
    if (value == role) return name;
  return "unknown";
}

std::optional<Role> parse_role(std::string_view text) {
  for (const auto& [value, name] : kRoleNames)
    if (name == text) return value;
  return std::nullopt;
}

Result<std::unique_ptr<Database>> Database::connect(const std::string& url, int pool_size,
                                                    std::chrono::milliseconds statement_deadline) {
  if (pool_size < 1)
    return std::unexpected(Error::validation("pool_size", "pool_size must be >= 1"));
  try {
    std::vector<std::unique_ptr<PgConnection>> connections;
    connections.reserve(static_cast<std::size_t>(pool_size));
    for (int i = 0; i < pool_size; ++i) {
      auto connection = PgConnection::open(url, statement_deadline);
      if (!connection)
        return std::unexpected(
            unavailable("cannot connect to the database: " + connection.error()));
      connections.push_back(std::move(*connection));
    }
    return std::unique_ptr<Database>(new Database(std::make_unique<Impl>(std::move(connections))));
  } catch (const std::exception& e) {
    return std::unexpected(Error::internal(e.what()));
  }
}

Database::Database(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Database::~Database() = default;

int Database::pool_size() const { return impl_->pool.size(); }

void Database::set_webhook_subscriptions(WebhookSubscriptions subscriptions) {
  impl_->set_subscriptions(std::make_shared<const WebhookSubscriptions>(std::move(subscriptions)));
}

std::shared_ptr<const WebhookSubscriptions> Database::webhook_subscriptions() const {
  return impl_->subscriptions();
}

void Database::cancel_running() { impl_->pool.cancel_leased(); }

Result<Session> Database::session(std::chrono::milliseconds wait) {
  try {
    PgConnection* connection = impl_->pool.acquire(wait);
    if (connection == nullptr)
      return std::unexpected(unavailable("no database connection became free within " +
                                         std::to_string(wait.count()) + " ms"));
    auto lease = std::make_unique<Session::Impl>(*impl_, *connection);
    if (!connection->ensure_ok())
      return std::unexpected(
          unavailable("cannot reach the database: " + connection->error_message()));
    return Session(std::move(lease));
  } catch (const std::exception& e) {
    return std::unexpected(Error::internal(e.what()));
  }
}

std::optional<Session> Database::try_session() {
  PgConnection* connection = impl_->pool.try_acquire();
  if (connection == nullptr) return std::nullopt;
  if (!connection->idle()) {
    impl_->pool.release(connection);
    return std::nullopt;
  }
  try {
    return Session(std::make_unique<Session::Impl>(*impl_, *connection));
  } catch (const std::exception&) {  // no memory for the lease: the connection goes back
    impl_->pool.release(connection);
    return std::nullopt;
  }
}

Result<std::vector<std::string>> Database::migrate() {
  try {
    PgConnection* connection = impl_->pool.acquire(std::chrono::seconds(30));
    if (connection == nullptr)
      return std::unexpected(unavailable("no database connection became free to migrate"));
    Session::Impl lease(*impl_, *connection);
    if (!connection->ensure_ok())
      return std::unexpected(
          unavailable("cannot reach the database: " + connection->error_message()));
    std::vector<std::string> applied;
    for (const Migration& migration : embedded_migrations()) {
      auto done = apply_migration(*connection, migration);
      if (!done) return std::unexpected(done.error());
      if (*done) applied.emplace_back(migration.name);
    }
    return applied;
  } catch (const std::exception& e) {
    return std::unexpected(Error::internal(e.what()));
  }
}

}  // namespace leadscore::store
