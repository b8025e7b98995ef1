#include "tests/api/api_fixture.h"

#include <libpq-fe.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>

#include "api/analyzer_parts.h"
#include "engine/scoring/registry.h"
#include "tests/api/openapi_responses.h"
#include "tests/support/pg_cluster.h"

namespace leadscore::testing {
namespace {

// A CORS preflight (OPTIONS) is the HTTP layer's answer for a path, not an operation: the
// document lists no OPTIONS operations (the route table has none) and says so in its
// description. So a preflight is not checked as an operation; instead, for a path the document
// has, the answer must be 204 without a body, its Allow naming exactly the methods the document
// gives that path, and OPTIONS. A path the document does not have is left unchecked, as every
// request to a path of no route is.
void check_preflight(const std::string& path, const HttpResponse& response) {
  const auto& spec = OpenApiResponses::shipped();
  std::optional<std::string> templ;
  long best_literals = -1;
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    auto found = spec.operation_path(method, path);
    if (!found) continue;
    const long literals = std::ranges::count(*found, '/') - std::ranges::count(*found, '{');
    if (literals > best_literals) {
      templ = found;
      best_literals = literals;
    }
  }
  if (!templ) return;
  std::set<std::string> documented{"OPTIONS"};
  for (const auto& [method, operation] : spec.document().at("paths").at(*templ).items()) {
    std::string upper = method;
    std::ranges::transform(upper, upper.begin(), [](unsigned char c) { return std::toupper(c); });
    if (upper == "GET" || upper == "POST" || upper == "PUT" || upper == "PATCH" ||
        upper == "DELETE")
      documented.insert(upper);
  }
  std::set<std::string> allowed;
  const std::string allow = response.headers.contains("allow") ? response.headers.at("allow") : "";
  for (std::size_t start = 0; start < allow.size();) {
    std::size_t end = allow.find(',', start);
    if (end == std::string::npos) end = allow.size();
    std::string method = allow.substr(start, end - start);
    method.erase(0, method.find_first_not_of(' '));
    method.erase(method.find_last_not_of(' ') + 1);
    if (!method.empty()) allowed.insert(method);
    start = end + 1;
  }
  const std::string where = "OPTIONS " + path + " (" + *templ + ")";
  EXPECT_EQ(response.status, 204) << where << ": " << response.body;
  EXPECT_TRUE(response.body.empty()) << where << ": " << response.body;
  EXPECT_EQ(allowed, documented) << where << ": Allow: " << allow
                                 << " differs from the operations api/openapi/openapi.json has";
}

}  // namespace

void ApiTest::SetUp() {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*log_stream_);
  auto logger = std::make_shared<spdlog::logger>("test", sink);
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);

  // Every answer these tests receive is checked against the OpenAPI document; a preflight's
  // against what the document says of its path (see check_preflight).
  HttpClient::observe(
      [](const std::string& method, const std::string& path, const HttpResponse& response) {
        if (method == "OPTIONS") return check_preflight(path, response);
        const auto content_type =
            response.headers.contains("content-type") ? response.headers.at("content-type") : "";
        for (const auto& problem : OpenApiResponses::shipped().check(method, path, response.status,
                                                                     content_type, response.body))
          ADD_FAILURE() << "not as api/openapi/openapi.json documents it: " << problem;
      });
  database_url = PgCluster::shared().create_database();
  auto loaded = config::load_app_config(config_path(), config::EnvOverrides{});
  ASSERT_TRUE(loaded.has_value()) << config::to_text(loaded.error());
  config = std::move(*loaded);
  config.server.host = "127.0.0.1";
  config.server.port = 0;
  config.server.workers = 4;
  config.database.url = database_url;
  config.database.pool_size = 4;
  config.jobs.in_flight = 2;
  configure(config);

  auto connected = store::Database::connect(database_url, config.database.pool_size);
  ASSERT_TRUE(connected.has_value()) << connected.error().message;
  db = std::move(*connected);
  ASSERT_TRUE(db->migrate().has_value());
  {
    auto session = db->session();
    ASSERT_TRUE(session.has_value());
    for (auto [name, role, key] : {std::tuple{"admin", store::Role::Admin, admin_key},
                                   std::tuple{"manager", store::Role::Manager, manager_key},
                                   std::tuple{"analyst", store::Role::Analyst, analyst_key},
                                   std::tuple{"viewer", store::Role::Viewer, viewer_key}})
      ASSERT_TRUE(session->create_api_key(name, role, api::hash_key(key)).has_value());
    auto all = session->list_api_keys();
    ASSERT_TRUE(all.has_value());
    keys.replace(*all);
  }
  auto scorers = scoring::build_scorers(config);
  ASSERT_TRUE(scorers.has_value()) << config::to_text(scorers.error());
  live_scorers = std::make_unique<api::LiveScorers>(
      std::make_shared<const scoring::ScorerSet>(std::move(*scorers)), config_path());
  shadow_pool = std::make_unique<api::WorkerPool>(1, 1000);
  const auto slow_size = config::slow_pool_size(config.server);
  slow_pool = std::make_unique<api::WorkerPool>(
      slow_size.threads, static_cast<std::size_t>(slow_size.threads + slow_size.queue),
      api::WorkerPool::Limit::InFlight);
  analysis_writer = std::make_unique<store::AnalysisWriter>(*db);
  offer_cache = std::make_unique<api::OfferCache>(api::OfferCache::reader_of(*db));
  ASSERT_TRUE(offer_cache->load().has_value());
  analysis_store = std::make_unique<analysis::DatabaseAnalysisStore>(*db, analysis_writer.get());
  analyzer = std::make_unique<analysis::Analyzer>(
      *analysis_store,
      api::analyzer_parts(*live_scorers, offer_cache.get(), &lead_cache, shadow_pool.get(),
                          slow_pool.get(),
                          std::chrono::milliseconds(config::slow_run_limit_ms(config.server))));
  if (config.jobs.runners > 0) {
    auto options = analysis::job_runner_options(config.jobs);
    options.leads = &lead_cache;
    job_runner = std::make_unique<analysis::JobRunner>(*db, *analyzer, std::move(options));
    ASSERT_TRUE(job_runner->start().has_value());
  }
  server = std::make_unique<api::Server>(
      api::Services{&config, db.get(), live_scorers.get(), &keys, analyzer.get(), offer_cache.get(),
                    job_runner.get()},
      config.server.host);
  server->start();
  client = std::make_unique<HttpClient>(server->port());
}

std::string ApiTest::config_path() const {
  return std::string(LEADSCORE_SOURCE_DIR) + "/config/leadscore.yaml";
}

void ApiTest::TearDown() {
  HttpClient::observe({});
  client.reset();
  if (server) server->stop();
  if (job_runner) job_runner->stop();
  if (shadow_pool) shadow_pool->stop();
  if (slow_pool) slow_pool->stop();
  server.reset();
  job_runner.reset();
  analyzer.reset();
  analysis_store.reset();
  analysis_writer.reset();
  offer_cache.reset();
  db.reset();
  // The test's logger writes into log_stream_, which dies with the fixture: whatever logs
  // after it (a later test in this process) goes to stderr instead of freed memory.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "stderr", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
}

HttpResponse ApiTest::call(const std::string& method, const std::string& path,
                           const std::string& body, const std::string& key) {
  return client->request(method, path, key.empty() ? manager_key : key, body);
}

nlohmann::json ApiTest::create_lead(const nlohmann::json& body) {
  auto r = call("POST", "/leads", body);
  EXPECT_EQ(r.status, 201) << r.body;
  return r.json();
}

void ApiTest::qualify(std::int64_t id) {
  const std::string path = "/leads/" + std::to_string(id) + "/stage";
  EXPECT_EQ(call("PATCH", path, nlohmann::json{{"stage", "contacted"}}).status, 200);
  EXPECT_EQ(call("PATCH", path, nlohmann::json{{"stage", "qualified"}}).status, 200);
}

std::int64_t ApiTest::count_rows(const std::string& table) {
  PGconn* conn = PQconnectdb(database_url.c_str());
  PGresult* res = PQexec(conn, ("SELECT count(*) FROM " + table).c_str());
  std::int64_t n = PQresultStatus(res) == PGRES_TUPLES_OK ? std::stoll(PQgetvalue(res, 0, 0)) : -1;
  PQclear(res);
  PQfinish(conn);
  return n;
}

void ApiTest::execute_sql(const std::string& statement) {
  PGconn* conn = PQconnectdb(database_url.c_str());
  PGresult* res = PQexec(conn, statement.c_str());
  EXPECT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQerrorMessage(conn);
  PQclear(res);
  PQfinish(conn);
}

}  // namespace leadscore::testing
