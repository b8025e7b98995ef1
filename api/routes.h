// The REST routes of leadscore: every route, its method, path, required right and
// where it runs (Placement), listed in one table (routes.cpp).
//
// Threading: handlers run on worker-pool threads, or on the reactor for the cheap answers and
// the reads of one row by id; the Services they receive are shared, immutable or internally
// locked (Services::leased belongs to the one request it is set for).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/auth.h"
#include "api/exchange.h"
#include "api/live_scorers.h"
#include "api/offer_cache.h"
#include "engine/analysis/analyzer.h"
#include "engine/analysis/job_runner.h"
#include "engine/config/app_config.h"
#include "engine/scoring/registry.h"
#include "engine/store/store.h"

namespace leadscore::api {

// What route handlers work with.
struct Services {
  const config::AppConfig* config = nullptr;
  store::Database* db = nullptr;
  LiveScorers* scorers = nullptr;
  KeyCache* keys = nullptr;
  const analysis::Analyzer* analyzer = nullptr;  // runs POST /leads/{id}/analyze
  OfferCache* offers = nullptr;  // optional: the active offer scorers see (none without it)
  // Optional: this server's job runner, woken when a job is created or resumed (without one,
  // the runners of other servers on the database, or a later poll, take the job).
  analysis::JobRunner* jobs = nullptr;
  // Set only while a ReactorRead route runs on a reactor: the reactor's own connection, leased
  // for this request. The handler reads through it and leases none (see with_path_id).
  store::Session* leased = nullptr;
};

enum class Access { Public, Read, Manage, Analyze, Administer };
// Where a route runs. Inline: on the reactor, for answers that need neither the database nor
// scoring. Worker: on the worker pool. ReactorRead: a read of one row by its id (one short
// statement through Services::leased), on the reactor when the reactor's own connection is
// ready (api/reactor_reads.h), else on the worker pool.
enum class Placement { Inline, Worker, ReactorRead };
// The largest body a route takes: server.max_body_bytes, or server.max_import_bytes.
enum class BodyLimit { Json, Import };

using RouteHandler = std::function<Reply(const Services&, const ApiRequest&)>;

struct RouteSpec {
  const char* method;  // GET, POST, PATCH, PUT, DELETE
  const char* path;    // Pistache syntax: /leads/:id
  Access access;
  Placement placement;
  RouteHandler handler;
  BodyLimit body_limit = BodyLimit::Json;
};

const std::vector<RouteSpec>& route_table();

// Route handlers, grouped by resource (lead_routes.cpp, sale_routes.cpp, offer_routes.cpp,
// job_routes.cpp, admin_routes.cpp, webhook_routes.cpp, docs_routes.cpp).
namespace routes {
Reply health(const Services&, const ApiRequest&);
Reply ready(const Services&, const ApiRequest&);
Reply metrics(const Services&, const ApiRequest&);
Reply create_lead(const Services&, const ApiRequest&);
Reply get_lead(const Services&, const ApiRequest&);
Reply list_leads(const Services&, const ApiRequest&);
Reply import_leads(const Services&, const ApiRequest&);
Reply export_leads(const Services&, const ApiRequest&);
Reply update_lead(const Services&, const ApiRequest&);
Reply change_lead_stage(const Services&, const ApiRequest&);
Reply add_activity(const Services&, const ApiRequest&);
Reply set_activity(const Services&, const ApiRequest&);
Reply lead_sale(const Services&, const ApiRequest&);
Reply analyze_lead(const Services&, const ApiRequest&);
Reply transfer_lead(const Services&, const ApiRequest&);
Reply lead_history(const Services&, const ApiRequest&);
Reply delete_lead(const Services&, const ApiRequest&);
Reply list_sales(const Services&, const ApiRequest&);
Reply get_sale(const Services&, const ApiRequest&);
Reply change_sale_stage(const Services&, const ApiRequest&);
Reply create_offer(const Services&, const ApiRequest&);
Reply list_offers(const Services&, const ApiRequest&);
Reply get_offer(const Services&, const ApiRequest&);
Reply replace_offer(const Services&, const ApiRequest&);
Reply delete_offer(const Services&, const ApiRequest&);
Reply create_job(const Services&, const ApiRequest&);
Reply get_job(const Services&, const ApiRequest&);
Reply list_jobs(const Services&, const ApiRequest&);
Reply cancel_job(const Services&, const ApiRequest&);
Reply resume_job(const Services&, const ApiRequest&);
Reply list_scorers(const Services&, const ApiRequest&);
// experiment_routes.cpp
Reply list_experiments(const Services&, const ApiRequest&);
Reply experiment_report(const Services&, const ApiRequest&);
Reply reload(const Services&, const ApiRequest&);
Reply create_key(const Services&, const ApiRequest&);
Reply list_keys(const Services&, const ApiRequest&);
Reply delete_key(const Services&, const ApiRequest&);
Reply list_webhook_deliveries(const Services&, const ApiRequest&);
Reply retry_webhook_delivery(const Services&, const ApiRequest&);
// scorer_compare_routes.cpp: comparing scorers, on demand and against closed sales.
Reply compare_scorers(const Services&, const ApiRequest&);
Reply scorer_report(const Services&, const ApiRequest&);
// docs_routes.cpp: the OpenAPI document, Swagger UI and ReDoc.
Reply openapi(const Services&, const ApiRequest&);
Reply swagger_ui(const Services&, const ApiRequest&);
Reply swagger_ui_file(const Services&, const ApiRequest&);
Reply redoc(const Services&, const ApiRequest&);
Reply redoc_file(const Services&, const ApiRequest&);
}  // namespace routes

}  // namespace leadscore::api
