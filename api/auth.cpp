#include "api/auth.h"

#include <openssl/evp.h>
#include <sys/random.h>

#include <array>
#include <cctype>
#include <mutex>
#include <stdexcept>

namespace leadscore::api {
namespace {

std::string to_hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace

bool role_allows(Role role, Right right) {
  switch (right) {
    case Right::Read:
      return true;
    case Right::Manage:
      return role == Role::Manager || role == Role::Admin;
    case Right::Analyze:
      return role == Role::Analyst || role == Role::Admin;
    case Right::Administer:
      return role == Role::Admin;
  }
  return false;
}

std::string hash_key(std::string_view key) {
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up again on every digest, a
  // locked search that costs more than hashing a key (every authenticated request hashes one).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(key.data(), key.size(), digest.data(), &length, sha256 ? sha256 : EVP_sha256(),
                 nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return to_hex(digest.data(), length);
}

std::string generate_key() {
  std::array<unsigned char, 24> bytes{};
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    ssize_t n = getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (n < 0) throw std::runtime_error("getrandom failed");
    filled += static_cast<std::size_t>(n);
  }
  return "lsk_" + to_hex(bytes.data(), bytes.size());
}

std::optional<std::string_view> bearer_key(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i])))
      return std::nullopt;
  auto key = authorization.substr(kScheme.size());
  while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
  while (!key.empty() && (key.back() == ' ' || key.back() == '\r')) key.remove_suffix(1);
  if (key.empty()) return std::nullopt;
  return key;
}

void KeyCache::replace(const std::vector<store::ApiKey>& keys) {
  std::unordered_map<std::string, Identity> next;
  for (const auto& k : keys) next.emplace(k.key_hash, Identity{k.name, k.role});
  std::unique_lock lock(mutex_);
  by_hash_.swap(next);
}

std::optional<Identity> KeyCache::find(std::string_view key) const {
  const std::string hash = hash_key(key);
  std::shared_lock lock(mutex_);
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

store::Result<void> ensure_admin_key(store::Session& session, const std::string& key) {
  const std::string hash = hash_key(key);
  auto keys = session.list_api_keys();
  if (!keys) return std::unexpected(keys.error());
  for (const auto& k : *keys)
    if (k.key_hash == hash) return {};
  std::string name = "admin";
  for (int n = 2;; ++n) {
    bool taken = false;
    for (const auto& k : *keys) taken = taken || k.name == name;
    if (!taken) break;
    name = "admin-" + std::to_string(n);
  }
  auto created = session.create_api_key(name, Role::Admin, hash);
  if (!created) return std::unexpected(created.error());
  return {};
}

}  // namespace leadscore::api
