#include "api/reactor_reads.h"

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <utility>

namespace leadscore::api {

struct ReactorReads::Slot {
  std::unique_ptr<store::Database> db;
  WorkerPool* repairs = nullptr;
  Clock::time_point paused_until{};    // the reactor thread's own
  std::atomic<bool> repairing{false};  // a worker is reconnecting `db`

  void pause(std::string_view why) {
    paused_until = Clock::now() + kPause;
    spdlog::warn("reads on this reactor go to the worker pool for {} ms: {}", kPause.count(), why);
  }

  // A worker leases the connection, which reconnects it when it is not ready (lost, or
  // abandoned at its deadline). One repair at a time; it waits for a lease still held.
  void repair() {
    if (repairing.exchange(true)) return;
    const bool posted = repairs->post([this] {
      if (auto repaired = db->session(std::chrono::seconds(1)); !repaired)
        spdlog::warn("the reactor's database connection is still down: {}",
                     repaired.error().message);
      repairing = false;
    });
    if (!posted) repairing = false;
  }
};

namespace {

std::uint64_t next_serial() {
  static std::atomic<std::uint64_t> serial{0};
  return ++serial;
}

}  // namespace

ReactorReads::ReactorReads(const std::string& url, int reactors, WorkerPool& repairs)
    : serial_(next_serial()) {
  if (url.empty()) return;
  for (int i = 0; i < reactors; ++i) {
    auto db = store::Database::connect(url, 1, kReadDeadline);
    if (!db) {
      spdlog::warn("reads go to the worker pool: no connection of the reactors' own: {}",
                   db.error().message);
      slots_.clear();
      return;
    }
    auto slot = std::make_unique<Slot>();
    slot->db = std::move(*db);
    slot->repairs = &repairs;
    slots_.push_back(std::move(slot));
  }
}

ReactorReads::~ReactorReads() = default;

ReactorReads::Slot* ReactorReads::slot_of_this_thread() {
  // Each reactor thread claims a slot on its first read; a thread lives as long as its endpoint.
  thread_local std::uint64_t serial = 0;
  thread_local Slot* slot = nullptr;
  if (serial == serial_) return slot;
  const std::size_t index = claimed_.fetch_add(1);
  serial = serial_;
  slot = index < slots_.size() ? slots_[index].get() : nullptr;
  return slot;
}

std::optional<ReactorReads::Lease> ReactorReads::lease() {
  if (slots_.empty()) return std::nullopt;
  Slot* slot = slot_of_this_thread();
  if (slot == nullptr || Clock::now() < slot->paused_until) return std::nullopt;
  if (auto session = slot->db->try_session()) return Lease(*slot, std::move(*session));
  if (slot->repairing) return std::nullopt;  // a worker holds the connection to reconnect it
  slot->pause("its database connection is not ready; a worker reconnects it");
  slot->repair();
  return std::nullopt;
}

ReactorReads::Lease::Lease(Slot& slot, store::Session session)
    : slot_(&slot), session_(std::move(session)), started_(Clock::now()) {}

bool ReactorReads::Lease::answered(const Reply& reply) {
  if (reply.status == 500 || reply.status == 503) {
    slot_->pause("a read failed (" + std::to_string(reply.status) + "); a worker reads again");
    slot_->repair();
    return false;
  }
  const auto took = Clock::now() - started_;
  if (took > kSlowRead)
    slot_->pause(
        "a read took " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()) +
        " ms");
  return true;
}

}  // namespace leadscore::api
