// The fixture of the store's integration tests: each test gets a fresh, migrated database on
// the test binary's throwaway cluster, a Database with a small pool, and helpers that build
// leads in a given state through the store itself.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "engine/domain/analysis.h"
#include "engine/store/store.h"
#include "tests/support/pg_cluster.h"

namespace leadscore::store::testing {

// Runs one SQL statement on `url` outside the store (to inspect or sabotage); the first
// column of the first row, or "" when there is none.
inline std::string query(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error(message);
  }
  PGresult* result = PQexec(conn, sql.c_str());
  const auto status = PQresultStatus(result);
  std::string value;
  std::string error;
  if (status == PGRES_TUPLES_OK && PQntuples(result) > 0 && !PQgetisnull(result, 0, 0))
    value = PQgetvalue(result, 0, 0);
  else if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    error = PQerrorMessage(conn);
  PQclear(result);
  PQfinish(conn);
  if (!error.empty()) throw std::runtime_error(sql + ": " + error);
  return value;
}

class Store : public ::testing::Test {
 protected:
  static constexpr int kPoolSize = 4;

  void SetUp() override {
    url_ = leadscore::testing::PgCluster::shared().create_database();
    auto db = Database::connect(url_, kPoolSize);
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto applied = db_->migrate();
    ASSERT_TRUE(applied) << applied.error().message;
    auto session = db_->session();
    ASSERT_TRUE(session) << session.error().message;
    session_ = std::make_unique<Session>(std::move(*session));
  }

  void TearDown() override {
    session_.reset();
    db_.reset();
  }

  Session& s() { return *session_; }
  std::string sql(const std::string& statement) { return query(url_, statement); }

  static domain::NewLead new_lead(std::string source = "manual",
                                  std::optional<std::string> business_domain = std::nullopt) {
    domain::NewLead lead;
    lead.source = std::move(source);
    lead.business_domain = std::move(business_domain);
    return lead;
  }

  domain::Lead create(const domain::NewLead& lead = new_lead()) {
    auto created = s().create_lead(lead, "tester");
    if (!created) throw std::runtime_error("create_lead: " + created.error().message);
    return *created;
  }

  domain::Analysis analysis_of(
      const domain::Lead& lead, double score,
      domain::Recommendation recommendation = domain::Recommendation::TransferToSales) {
    domain::Analysis analysis;
    analysis.lead_id = lead.id;
    analysis.scorer = "heuristic";
    analysis.scorer_version = "1.0.0";
    analysis.actor = "tester";
    analysis.features = domain::features_of(lead);
    analysis.result = domain::ScoreResult{
        score, recommendation, "because", {{"base", score / 2}, {"activity", score / 2}}, {}};
    analysis.latency_ms = 0.25;
    return analysis;
  }

  domain::Lead move(domain::Lead lead, domain::LeadStage to) {
    auto changed = s().change_lead_stage(lead.id, to, "tester", {});
    if (!changed) throw std::runtime_error("change_lead_stage: " + changed.error().message);
    return changed->lead;
  }

  // A lead that passes every handoff check: qualified, scored `score`, with a business domain.
  domain::Lead qualified_lead(double score = 0.8) {
    domain::Lead lead = create(new_lead("partner", "fintech"));
    lead = move(lead, domain::LeadStage::Contacted);
    lead = move(lead, domain::LeadStage::Qualified);
    auto scored = s().record_analysis(lead, analysis_of(lead, score), true);
    if (!scored) throw std::runtime_error("record_analysis: " + scored.error().message);
    return *scored;
  }

  std::string url_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Session> session_;
};

}  // namespace leadscore::store::testing
