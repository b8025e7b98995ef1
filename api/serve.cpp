#include "api/serve.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>

#include "api/analyzer_parts.h"
#include "api/auth.h"
#include "api/batched_log_sink.h"
#include "api/command_support.h"
#include "api/http_metrics.h"
#include "api/offer_cache.h"
#include "api/request_log.h"
#include "api/server.h"
#include "engine/analysis/database_analysis_store.h"
#include "engine/analysis/job_runner.h"
#include "engine/store/analysis_writer.h"
#include "engine/webhooks/dispatcher.h"

namespace leadscore::command {
namespace {

void setup_logging(const config::LogConfig& log) {
  // Written by the sink's own thread, so that a slow terminal never holds a request; written
  // once a second, and at once from a warning on (api/batched_log_sink.h).
  auto logger =
      std::make_shared<spdlog::logger>("leadscore", std::make_shared<api::BatchedLogSink>());
  logger->set_formatter(api::log_formatter(api::log_format(log)));  // text or JSON lines
  logger->set_level(spdlog::level::from_str(log.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace

int serve(const std::string& config_path) {
  // Block the stop signals before any thread exists, so that every thread inherits the
  // mask and only sigwait() below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // reload the scorers
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto cfg = load_config(config_path);
  if (!cfg) return 2;
  if (!is_loopback(cfg->server.host) && !cfg->server.expose_directly) {
    std::fprintf(stderr,
                 "leadscore: server.host %s is not a loopback address. leadscore serves behind "
                 "its front door (nginx: `make run`, deploy/nginx.conf), which keeps answers "
                 "from reaching the wrong client; set server.expose_directly: true to listen "
                 "there anyway.\n",
                 cfg->server.host.c_str());
    return 2;
  }
  auto scorers = load_scorers(*cfg);
  if (!scorers) return 2;
  setup_logging(cfg->log);
  if (!is_loopback(cfg->server.host))
    spdlog::warn(
        "server.expose_directly: listening on {} without the front door. Clients that close "
        "their connection early can make the HTTP library deliver an answer to another "
        "client; serve through nginx (deploy/nginx.conf) instead.",
        cfg->server.host);
  // A peer that closed is a write error, not a signal that stops the server.
  std::signal(SIGPIPE, SIG_IGN);
  // Before anything counts: off, nothing does (and GET /metrics answers 404).
  metrics::set_enabled(cfg->metrics.enabled);
  auto db = connect(*cfg, cfg->database.pool_size);
  if (!db || !migrate(*db)) return 1;

  // Every change writes its webhook events into the outbox, in its own transaction, for the
  // webhooks subscribed to them; the dispatchers send them later, off the request path.
  db->set_webhook_subscriptions(webhooks::subscriptions_of(cfg->webhooks));

  api::KeyCache keys;
  {
    auto session = db->session();
    if (!session) {
      std::fprintf(stderr, "leadscore: %s\n", session.error().message.c_str());
      return 1;
    }
    if (auto admin = env("LEADSCORE_ADMIN_KEY")) {
      if (auto ok = api::ensure_admin_key(*session, *admin); !ok) {
        std::fprintf(stderr, "leadscore: cannot store the admin key: %s\n",
                     ok.error().message.c_str());
        return 1;
      }
    }
    auto all = session->list_api_keys();
    if (!all) return 1;
    keys.replace(*all);
  }

  // The active offer every scorer sees, in memory: loaded now, replaced by this server's
  // offer writes, read again at most once a second for those of other processes.
  api::OfferCache offers(api::OfferCache::reader_of(*db));
  if (auto loaded = offers.load(); !loaded) {
    std::fprintf(stderr, "leadscore: cannot read the active offer: %s\n",
                 loaded.error().message.c_str());
    return 1;
  }

  analysis::LeadCache leads;
  api::LiveScorers live(std::make_shared<const scoring::ScorerSet>(std::move(*scorers)),
                        config_path);
  // Shadow scorers run here, off the response path, with a queue of their own.
  api::WorkerPool shadow_pool(1, 10000);
  // Slow scorers (an LLM) run here, never on the request workers, which wait for them until
  // the request's deadline at most; a full pool fails the run at once (the fallback answers).
  const config::SlowPoolSize slow_size = config::slow_pool_size(cfg->server);
  spdlog::info(
      "slow-scorer pool: {} threads, {} queued runs (server.slow_workers {}, server.slow_queue "
      "{}, held to half of server.workers {}), waited for {} ms at most",
      slow_size.threads, slow_size.queue, cfg->server.slow_workers, cfg->server.slow_queue,
      cfg->server.workers, config::slow_run_limit_ms(cfg->server));
  api::WorkerPool slow_pool(slow_size.threads,
                            static_cast<std::size_t>(slow_size.threads + slow_size.queue),
                            api::WorkerPool::Limit::InFlight);
  if (cfg->metrics.enabled) {
    slow_pool.report_depth(api::queue_depth("slow_scorers"));
    shadow_pool.report_depth(api::queue_depth("shadows"));
  }
  // Set as the stop begins: no request worker goes on waiting for a slow run.
  std::atomic<bool> stopping{false};
  store::AnalysisWriter analyses(*db);
  analysis::DatabaseAnalysisStore analysis_store(*db, &analyses);
  // The parts of the pipeline that the requests' and the jobs' analyzers share.
  const analysis::AnalyzerParts parts = api::analyzer_parts(
      live, &offers, &leads, &shadow_pool, &slow_pool,
      std::chrono::milliseconds(config::slow_run_limit_ms(cfg->server)), &stopping);
  const analysis::Analyzer analyzer(analysis_store, parts);
  // Background scoring jobs run on connections, an analysis writer and an Analyzer of their
  // own (the same parts), so that a job never takes the request workers' connections.
  std::unique_ptr<store::Database> jobs_db;
  std::unique_ptr<store::AnalysisWriter> job_analyses;
  std::unique_ptr<analysis::DatabaseAnalysisStore> job_store;
  std::unique_ptr<analysis::Analyzer> job_analyzer;
  std::unique_ptr<analysis::JobRunner> jobs;
  if (cfg->jobs.runners > 0) {
    jobs_db = connect(*cfg, std::min(16, cfg->jobs.runners + cfg->jobs.in_flight));
    if (!jobs_db) return 1;
    jobs_db->set_webhook_subscriptions(webhooks::subscriptions_of(cfg->webhooks));
    job_analyses = std::make_unique<store::AnalysisWriter>(*jobs_db, 256);
    job_store = std::make_unique<analysis::DatabaseAnalysisStore>(*jobs_db, job_analyses.get());
    job_analyzer = std::make_unique<analysis::Analyzer>(*job_store, parts);
    auto options = analysis::job_runner_options(cfg->jobs);
    options.leads = &leads;
    options.warn = [](const std::string& message) { spdlog::warn("{}", message); };
    jobs = std::make_unique<analysis::JobRunner>(*jobs_db, *job_analyzer, std::move(options));
    auto interrupted = jobs->start();
    if (!interrupted) {
      std::fprintf(stderr, "leadscore: cannot start the job runners: %s\n",
                   interrupted.error().message.c_str());
      return 1;
    }
    for (std::int64_t id : *interrupted)
      spdlog::warn(
          "job {} was running with no server left: interrupted (resume it with POST "
          "/jobs/{}/resume)",
          id, id);
    spdlog::info("job runners: {} as {}", cfg->jobs.runners, jobs->name());
  }

  // The webhook dispatchers, on connections of their own.
  std::unique_ptr<store::Database> webhooks_db;
  std::unique_ptr<webhooks::Dispatcher> dispatcher;
  if (!cfg->webhooks.endpoints.empty()) {
    webhooks_db = connect(*cfg, cfg->webhooks.dispatchers + 1);
    if (!webhooks_db) return 1;
    dispatcher = std::make_unique<webhooks::Dispatcher>(
        *webhooks_db, cfg->webhooks, "",
        [](const std::string& message) { spdlog::warn("{}", message); });
    dispatcher->start();
    spdlog::info("webhook dispatchers: {} as {}, for {} webhooks", cfg->webhooks.dispatchers,
                 dispatcher->name(), cfg->webhooks.endpoints.size());
  }

  api::Server server(api::Services{&*cfg, db.get(), &live, &keys, &analyzer, &offers, jobs.get()},
                     cfg->server.host);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "leadscore: cannot listen on %s:%d: %s\n", cfg->server.host.c_str(),
                 cfg->server.port, e.what());
    return 1;
  }
  spdlog::info("leadscore serving on http://{}:{} (config {})", cfg->server.host, server.port(),
               cfg->path);

  // Wait for a stop signal; every 10 s reload the key cache so that keys created by
  // another process (`leadscore keys create`) are honoured.
  const timespec refresh{10, 0};
  for (;;) {
    int sig = sigtimedwait(&signals, nullptr, &refresh);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("signal {}: stopping", sig);
      break;
    }
    if (sig == SIGHUP) {
      auto reloaded = live.reload();
      if (reloaded)
        spdlog::info("SIGHUP: reloaded {} scorers, primary {}", (*reloaded)->entries().size(),
                     (*reloaded)->primary().name());
      else
        spdlog::error("SIGHUP: reload refused, the live scorers stay:\n{}",
                      config::to_text(reloaded.error()));
      continue;
    }
    if (auto session = db->session())
      if (auto all = session->list_api_keys()) keys.replace(*all);
  }
  stopping = true;
  server.stop();
  if (jobs) jobs->stop();
  if (dispatcher) dispatcher->stop();
  shadow_pool.stop();  // its slow runs go to the slow pool: stopped after it
  slow_pool.stop();
  const auto written = analyses.stats();
  spdlog::info("analyses written: {} in {} statements (largest batch {})", written.requests,
               written.batches, written.largest_batch);
  if (job_analyses) {
    const auto by_jobs = job_analyses->stats();
    spdlog::info("analyses of jobs written: {} in {} statements (largest batch {})",
                 by_jobs.requests, by_jobs.batches, by_jobs.largest_batch);
  }
  spdlog::shutdown();
  return 0;
}

}  // namespace leadscore::command
