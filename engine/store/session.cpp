// Session: its lifetime and the readiness probe. Its queries are split by aggregate, beside the
// statements they run (session_impl.h lists the files).
#include <memory>
#include <utility>

#include "engine/store/session_impl.h"
#include "engine/store/store.h"

namespace leadscore::store {

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

const Statement kPing{"ping", "SELECT 1"};

Result<void> Session::ping() {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    if (auto r = c.execute(kPing, Params()); !r) return failure(r.error());
    return {};
  });
}

}  // namespace leadscore::store
