#include "api/routes.h"

namespace leadscore::api {

const std::vector<RouteSpec>& route_table() {
  using enum Access;
  using enum Placement;
  using enum BodyLimit;
  static const std::vector<RouteSpec> table{
      {"GET", "/health", Public, Inline, routes::health},
      {"GET", "/ready", Public, Worker, routes::ready},
      // The API's own description (api/openapi/openapi.json, compiled in), and the pages that
      // show it; their scripts are files of server.docs_dir, read on a worker.
      {"GET", "/openapi.json", Public, Inline, routes::openapi},
      {"GET", "/docs", Public, Inline, routes::swagger_ui},
      {"GET", "/docs/:file", Public, Worker, routes::swagger_ui_file},
      {"GET", "/redoc", Public, Inline, routes::redoc},
      {"GET", "/redoc/:file", Public, Worker, routes::redoc_file},
      // Prometheus' scrape: counters in memory, never the database (metrics_route.cpp).
      {"GET", "/metrics", Public, Inline, routes::metrics},

      {"POST", "/leads", Manage, Worker, routes::create_lead},
      {"GET", "/leads", Read, Worker, routes::list_leads},
      // An import is a CSV body, larger than a JSON one may be (server.max_import_bytes).
      {"POST", "/leads/import", Manage, Worker, routes::import_leads, Import},
      {"GET", "/leads/export.csv", Read, Worker, routes::export_leads},
      {"GET", "/leads/:id", Read, ReactorRead, routes::get_lead},
      {"PATCH", "/leads/:id", Manage, Worker, routes::update_lead},
      {"DELETE", "/leads/:id", Administer, Worker, routes::delete_lead},
      {"PATCH", "/leads/:id/stage", Manage, Worker, routes::change_lead_stage},
      {"POST", "/leads/:id/activity", Manage, Worker, routes::add_activity},
      {"PATCH", "/leads/:id/activity", Manage, Worker, routes::set_activity},
      {"POST", "/leads/:id/analyze", Manage, Worker, routes::analyze_lead},
      {"POST", "/leads/:id/transfer", Manage, Worker, routes::transfer_lead},
      {"GET", "/leads/:id/history", Read, Worker, routes::lead_history},
      {"GET", "/leads/:id/sale", Read, ReactorRead, routes::lead_sale},

      {"GET", "/sales", Read, Worker, routes::list_sales},
      {"GET", "/sales/:id", Read, ReactorRead, routes::get_sale},
      {"PATCH", "/sales/:id/stage", Manage, Worker, routes::change_sale_stage},

      // Offers decide what every scorer is told about the product: whoever may change leads
      // and sales (manager, admin) may change them; everyone reads them.
      {"POST", "/offers", Manage, Worker, routes::create_offer},
      {"GET", "/offers", Read, Worker, routes::list_offers},
      {"GET", "/offers/:id", Read, ReactorRead, routes::get_offer},
      {"PUT", "/offers/:id", Manage, Worker, routes::replace_offer},
      {"DELETE", "/offers/:id", Manage, Worker, routes::delete_offer},

      // Background scoring jobs: whoever may analyze a lead may score many.
      {"POST", "/jobs/score", Manage, Worker, routes::create_job},
      {"GET", "/jobs", Read, Worker, routes::list_jobs},
      {"GET", "/jobs/:id", Read, Worker, routes::get_job},
      {"DELETE", "/jobs/:id", Manage, Worker, routes::cancel_job},
      {"POST", "/jobs/:id/resume", Manage, Worker, routes::resume_job},

      {"GET", "/scorers", Read, Inline, routes::list_scorers},
      {"POST", "/admin/reload", Analyze, Worker, routes::reload},

      // Comparing scorers (analysts): side by side on given leads, storing nothing, and every
      // scorer version's metrics against closed sales. Scoring and reports run on a worker.
      {"POST", "/scorers/compare", Analyze, Worker, routes::compare_scorers},
      {"GET", "/reports/scorers", Analyze, Worker, routes::scorer_report},

      // Live experiments (config `experiments`) and their reports: the analysts' (analyst,
      // admin).
      {"GET", "/experiments", Analyze, Worker, routes::list_experiments},
      {"GET", "/experiments/:name/report", Analyze, Worker, routes::experiment_report},

      {"POST", "/admin/keys", Administer, Worker, routes::create_key},
      {"GET", "/admin/keys", Administer, Worker, routes::list_keys},
      {"DELETE", "/admin/keys/:name", Administer, Worker, routes::delete_key},

      // The webhook outbox's delivery log, and sending a delivery again (admin only).
      {"GET", "/webhooks/deliveries", Administer, Worker, routes::list_webhook_deliveries},
      {"POST", "/webhooks/deliveries/:id/retry", Administer, Worker,
       routes::retry_webhook_delivery},
  };
  return table;
}

}  // namespace leadscore::api
