#include "engine/analysis/database_analysis_store.h"

#include <optional>
#include <utility>

namespace leadscore::analysis {
namespace {

class DatabaseSession final : public AnalysisStore::Session {
 public:
  DatabaseSession(store::Database& db, store::AnalysisWriter* writer) : db_(db), writer_(writer) {}

  Result<domain::Lead> get_lead(std::int64_t id) override {
    auto session = lease();
    if (!session) return std::unexpected(session.error());
    return (*session)->get_lead(id);
  }

  Result<void> append(const domain::Analysis& analysis) override {
    auto session = lease();
    if (!session) return std::unexpected(session.error());
    return (*session)->append_analysis(analysis);
  }

  Result<domain::Lead> record(const domain::Lead& seen, const domain::Analysis& analysis,
                              Storage storage) override {
    const bool on_lead = storage == Storage::OnLead;
    if (on_lead && writer_ != nullptr) {
      leased_.reset();  // the writer leases its own, per batch
      return writer_->record(seen, analysis);
    }
    auto session = lease();
    if (!session) return std::unexpected(session.error());
    return (*session)->record_analysis(seen, analysis, on_lead);
  }

  void release() override { leased_.reset(); }

 private:
  // The database connection this analysis holds, leased on its first query.
  Result<store::Session*> lease() {
    if (!leased_) {
      auto session = db_.session();
      if (!session) return std::unexpected(session.error());
      leased_.emplace(std::move(*session));
    }
    return &*leased_;
  }

  store::Database& db_;
  store::AnalysisWriter* writer_;
  std::optional<store::Session> leased_;
};

}  // namespace

std::unique_ptr<AnalysisStore::Session> DatabaseAnalysisStore::session() {
  return std::make_unique<DatabaseSession>(db_, writer_);
}

}  // namespace leadscore::analysis
