// Session: the queries of API keys — create, list, find by hash (authentication), delete.
// Only a key's SHA-256 is stored.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/store/session_impl.h"
#include "engine/store/store.h"

namespace leadscore::store {
namespace {

using domain::ErrorCode;

// The select list of an API key, as read_api_key() reads it.
constexpr std::string_view kApiKeyColumns =
    "name, role, key_hash, leadscore_rfc3339(created_at) AS created_at_text";

ApiKey read_api_key(const PgResult& r, int row) {
  auto role = parse_role(r.text(row, 1));
  if (!role)
    throw std::runtime_error("unknown role in the database: " + std::string(r.text(row, 1)));
  return {std::string(r.text(row, 0)), *role, std::string(r.text(row, 2)),
          std::string(r.text(row, 3))};
}

}  // namespace

const Statement kCreateApiKey{
    "create_api_key",
    cat({"INSERT INTO api_keys (name, role, key_hash) VALUES ($1, $2, $3) RETURNING ",
         kApiKeyColumns})};

Result<ApiKey> Session::create_api_key(const std::string& name, Role role,
                                       const std::string& key_hash) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<ApiKey> {
    auto r = c.execute(kCreateApiKey, Params().text(name).text(to_string(role)).text(key_hash));
    if (!r) {
      if (r.error().sqlstate == "23505") {
        if (r.error().constraint == "api_keys_pkey")
          return error(ErrorCode::Conflict, "an API key named " + name + " already exists");
        return error(ErrorCode::Conflict, "an API key with the same key already exists");
      }
      return failure(r.error());
    }
    return read_api_key(*r, 0);
  });
}

const Statement kListApiKeys{"list_api_keys",
                             cat({"SELECT ", kApiKeyColumns, " FROM api_keys ORDER BY name"})};

Result<std::vector<ApiKey>> Session::list_api_keys() {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<std::vector<ApiKey>> {
    auto r = c.execute(kListApiKeys, Params());
    if (!r) return failure(r.error());
    std::vector<ApiKey> keys;
    keys.reserve(static_cast<std::size_t>(r->rows()));
    for (int row = 0; row < r->rows(); ++row) keys.push_back(read_api_key(*r, row));
    return keys;
  });
}

const Statement kFindApiKey{"find_api_key",
                            cat({"SELECT ", kApiKeyColumns, " FROM api_keys WHERE key_hash = $1"})};

Result<ApiKey> Session::find_api_key(const std::string& key_hash) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<ApiKey> {
    auto r = c.execute(kFindApiKey, Params().text(key_hash));
    if (!r) return failure(r.error());
    if (r->rows() == 0) return std::unexpected(Error::not_found("no API key has this hash"));
    return read_api_key(*r, 0);
  });
}

const Statement kDeleteApiKey{"delete_api_key",
                              "DELETE FROM api_keys WHERE name = $1 RETURNING name"};

Result<void> Session::delete_api_key(const std::string& name) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    auto r = c.execute(kDeleteApiKey, Params().text(name));
    if (!r) return failure(r.error());
    if (r->rows() == 0) return std::unexpected(Error::not_found("no API key is named " + name));
    return {};
  });
}

}  // namespace leadscore::store
