// API keys and roles: `Authorization: Bearer <key>`. Keys are stored as SHA-256 hashes;
// the cache maps a hash to the key's name and role so that checking a key costs no
// database round trip. The cache is reloaded whenever this process changes the keys, and
// by refresh() (the server calls it periodically, for keys changed by another process).
//
// Threading: KeyCache is safe from any thread (readers take a shared lock).
#pragma once

#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/store/store.h"

namespace leadscore::api {

using store::Role;

struct Identity {
  std::string name;  // the key's name: the actor recorded on every change
  Role role = Role::Viewer;
};

// What a route needs: read (viewer and up), write leads, sales and offers (manager), analyst
// work (reloading the scorers and rules), administration (keys, deletes).
enum class Right { Read, Manage, Analyze, Administer };

bool role_allows(Role role, Right right);

// Hex SHA-256 of a key.
std::string hash_key(std::string_view key);

// A new random key: "lsk_" and 48 hex characters (192 bits from the kernel's CSPRNG).
std::string generate_key();

// The key in an `Authorization: Bearer <key>` header value, if that is its form.
std::optional<std::string_view> bearer_key(std::string_view authorization);

class KeyCache {
 public:
  void replace(const std::vector<store::ApiKey>& keys);
  std::optional<Identity> find(std::string_view key) const;

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Identity> by_hash_;
};

// Ensures an admin key with this value exists (LEADSCORE_ADMIN_KEY, var/admin.key); an
// existing key with another name but this hash is kept as it is.
store::Result<void> ensure_admin_key(store::Session& session, const std::string& key);

}  // namespace leadscore::api
