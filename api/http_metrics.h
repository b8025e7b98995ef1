// The requests the server answered, for GET /metrics: leadscore_http_requests_total by route
// template, method and status, and leadscore_http_request_duration_seconds by route template
// and method. The route template is the route table's path in OpenAPI's spelling
// (`/leads/{id}`), never the raw path: a request no route matches counts under the route
// "unmatched", so that unknown paths add no label values. Statuses are counted as answered
// (100..599; anything else as 599, which no route answers).
//
// Counting is a relaxed atomic add and a histogram observation in a fixed matrix made once
// from the route table: no lock, no allocation.
//
// Threading: safe from any thread. One per process (http_metrics()), registered in
// metrics::registry() on first use.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/routes.h"
#include "engine/metrics/metrics.h"

namespace leadscore::api {

class HttpMetrics final : public metrics::Collector {
 public:
  explicit HttpMetrics(const std::vector<RouteSpec>& routes);

  // A request answered on route `route` (its index in the route table) with `status`, after
  // `seconds` since it arrived whole.
  void count(std::size_t route, int status, double seconds);
  // A request no route matched, by its method.
  void count_unmatched(std::string_view method, int status, double seconds);

  // The value of one series (tests): requests on `route` (a template, or "unmatched") with
  // `method` and `status`.
  std::uint64_t requests(std::string_view route, std::string_view method, int status) const;

  const std::string& name() const override { return name_; }
  void render(std::string& out) const override;

 private:
  struct Row {
    std::string route;  // the template, or "unmatched"
    std::string method;
    std::unique_ptr<std::atomic<std::uint64_t>[]> statuses;  // kStatuses, from 100
    std::unique_ptr<metrics::Histogram> latency;
  };
  void count_row(std::size_t row, int status, double seconds);

  const std::string name_ = "leadscore_http_requests_total";
  std::vector<Row> rows_;      // the route table's, then one per method of unmatched requests
  std::size_t unmatched_ = 0;  // index of the first row of unmatched requests
};

// The process's, counting the route table's routes.
HttpMetrics& http_metrics();

// leadscore_queue_depth{queue}: the tasks waiting in the server's pools (api/worker_pool.h):
// "workers" (requests), "slow_scorers", "shadows".
metrics::Gauge& queue_depth(std::string_view queue);

// `/leads/:id` as `/leads/{id}`.
std::string route_template(std::string_view path);

}  // namespace leadscore::api
