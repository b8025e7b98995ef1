// GET /metrics: the process's metrics in Prometheus' text format (version 0.0.4), rendered from
// the counters in memory (engine/metrics/metrics.h, api/http_metrics.h); no database.
#include "api/handler_support.h"
#include "api/http_metrics.h"
#include "engine/metrics/metrics.h"

#ifndef LEADSCORE_VERSION
#define LEADSCORE_VERSION "unknown"
#endif
#ifndef LEADSCORE_COMMIT
#define LEADSCORE_COMMIT "unknown"
#endif

namespace leadscore::api::routes {
namespace {

constexpr std::string_view kExpositionFormat = "text/plain; version=0.0.4; charset=utf-8";

// leadscore_build_info{version, commit} 1: which build answers.
void register_build_info() {
  static const bool registered = [] {
    metrics::registry()
        .gauges("leadscore_build_info", "The build of leadscore serving: always 1.",
                {"version", "commit"})
        .with({LEADSCORE_VERSION, LEADSCORE_COMMIT})
        .set(1);
    return true;
  }();
  (void)registered;
}

}  // namespace

Reply metrics(const Services& s, const ApiRequest& r) {
  if (!s.config->metrics.enabled)
    return fail(Error::not_found("metrics are turned off (metrics.enabled: false)"), r);
  register_build_info();
  http_metrics();  // the request series, before the first request is counted
  return Reply{200, metrics::registry().render(), std::string(kExpositionFormat), {}};
}

}  // namespace leadscore::api::routes
