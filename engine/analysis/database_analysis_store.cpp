#include "engine/analysis/database_analysis_store.h"

#include <optional>
#include <utility>
#include <vector>

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

  Result<std::vector<SetOutcome>> record_set(std::span<const ToRecord> on_leads,
                                             std::span<const ToAppend> appended) override {
    auto session = lease();
    if (!session) return std::unexpected(session.error());
    std::vector<store::AnalysisToRecord> records;
    records.reserve(on_leads.size());
    for (const ToRecord& item : on_leads) records.push_back({item.seen, item.analysis});
    std::vector<store::AnalysisToAppend> rows;
    rows.reserve(appended.size());
    for (const ToAppend& row : appended) rows.push_back({row.analysis, row.only_if_stored});
    auto written = (*session)->record_analysis_set(records, rows);
    if (!written) return std::unexpected(written.error());
    std::vector<SetOutcome> outcomes;
    outcomes.reserve(written->size());
    for (const store::SetOutcome outcome : *written) {
      switch (outcome) {
        case store::SetOutcome::Stored:
          outcomes.push_back(SetOutcome::Stored);
          break;
        case store::SetOutcome::Final:
          outcomes.push_back(SetOutcome::Final);
          break;
        case store::SetOutcome::Changed:
          outcomes.push_back(SetOutcome::Changed);
          break;
        case store::SetOutcome::Missing:
          outcomes.push_back(SetOutcome::Missing);
          break;
      }
    }
    return outcomes;
  }

  Result<std::vector<std::optional<std::string>>> assign_arms(
      const std::string& experiment, const std::string& split,
      std::span<const domain::ArmAssignment> proposals) override {
    auto session = lease();
    if (!session) return std::unexpected(session.error());
    return (*session)->assign_experiment_arms(experiment, split, proposals);
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
