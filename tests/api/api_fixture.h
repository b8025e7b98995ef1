// A running leadscore API on 127.0.0.1 for tests: a fresh database on the shared throwaway
// cluster, migrated, with one key per role, the shipped config (port 0), the real scorers, the
// active offer cache, and the server on a free port. Request logs are captured for inspection.
#pragma once

#include <gtest/gtest.h>

#include <concepts>
#include <memory>
#include <sstream>
#include <string>

#include "api/auth.h"
#include "api/live_scorers.h"
#include "api/offer_cache.h"
#include "api/server.h"
#include "api/worker_pool.h"
#include "engine/analysis/analyzer.h"
#include "engine/analysis/database_analysis_store.h"
#include "engine/analysis/job_runner.h"
#include "engine/config/app_config.h"
#include "engine/store/analysis_writer.h"
#include "engine/store/store.h"
#include "tests/api/http_client.h"

namespace leadscore::testing {

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Adjusts the configuration before the server starts.
  virtual void configure(config::AppConfig&) {}
  // The config file the server reads on reload (default: the shipped one).
  virtual std::string config_path() const;

  HttpResponse call(const std::string& method, const std::string& path,
                    const std::string& body = "", const std::string& key = "");
  template <typename J>
  requires std::same_as<J, nlohmann::json> HttpResponse call(const std::string& method,
                                                             const std::string& path, const J& body,
                                                             const std::string& key = "") {
    return call(method, path, body.dump(), key);
  }
  // Creates a lead as the manager; fails the test unless it answers 201.
  nlohmann::json create_lead(const nlohmann::json& body);
  // Walks a lead to `qualified` through contacted.
  void qualify(std::int64_t id);
  std::int64_t count_rows(const std::string& table);
  // Runs `statement` on the test's database outside the server (to stage what a test needs).
  void execute_sql(const std::string& statement);
  std::string logs() const { return log_stream_->str(); }

  std::string admin_key = "lsk_test_admin";
  std::string manager_key = "lsk_test_manager";
  std::string analyst_key = "lsk_test_analyst";
  std::string viewer_key = "lsk_test_viewer";

  std::string database_url;
  config::AppConfig config;
  std::unique_ptr<store::Database> db;
  api::KeyCache keys;
  analysis::LeadCache lead_cache;
  std::unique_ptr<api::LiveScorers> live_scorers;
  std::unique_ptr<api::WorkerPool> shadow_pool;
  std::unique_ptr<api::WorkerPool> slow_pool;  // slow scorers' runs, sized as the server does
  std::unique_ptr<store::AnalysisWriter> analysis_writer;
  std::unique_ptr<api::OfferCache> offer_cache;
  std::unique_ptr<analysis::DatabaseAnalysisStore> analysis_store;
  std::unique_ptr<analysis::Analyzer> analyzer;
  // The job runner, with config.jobs (none when config.jobs.runners is 0).
  std::unique_ptr<analysis::JobRunner> job_runner;
  std::unique_ptr<api::Server> server;
  std::unique_ptr<HttpClient> client;
  std::shared_ptr<std::ostringstream> log_stream_ = std::make_shared<std::ostringstream>();
};

}  // namespace leadscore::testing
