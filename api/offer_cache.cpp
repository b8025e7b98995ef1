#include "api/offer_cache.h"

#include <spdlog/spdlog.h>

#include "api/json_mapping.h"

namespace leadscore::api {

OfferCache::OfferCache(Reader read, std::chrono::milliseconds max_age,
                       std::function<Clock::time_point()> now)
    : read_(std::move(read)), max_age_(max_age), now_(std::move(now)) {}

OfferCache::Reader OfferCache::reader_of(store::Database& db) {
  return [&db]() -> store::Result<store::ActiveOffer> {
    auto session = db.session(std::chrono::milliseconds(100));
    if (!session) return std::unexpected(session.error());
    return session->active_offer();
  };
}

store::Result<void> OfferCache::load() {
  next_read_.store((now_() + max_age_).time_since_epoch().count());
  auto state = read_();
  if (!state) return std::unexpected(state.error());
  install(*state);
  return {};
}

std::shared_ptr<const domain::OfferView> OfferCache::current() {
  const Clock::time_point now = now_();
  if (now.time_since_epoch().count() >= next_read_.load(std::memory_order_relaxed)) {
    std::unique_lock lock(read_mutex_, std::try_to_lock);
    // Another thread may have read it while this one looked at the clock: check again.
    if (lock.owns_lock() && now.time_since_epoch().count() >= next_read_.load()) {
      next_read_.store((now + max_age_).time_since_epoch().count());
      if (auto state = read_())
        install(*state);
      else
        spdlog::warn("the active offer could not be read again; the copy serves: {}",
                     state.error().message);
    }
  }
  return offer_.load();
}

bool OfferCache::install(const store::ActiveOffer& state) {
  // The view is made outside the lock; a state that turns out older is simply dropped.
  auto view = state.offer ? offer_view(*state.offer) : nullptr;
  std::lock_guard lock(install_mutex_);
  if (state.revision <= revision_) return false;
  revision_ = state.revision;
  offer_.store(std::move(view));
  return true;
}

}  // namespace leadscore::api
