#include "api/http_metrics.h"

namespace leadscore::api {
namespace {

constexpr int kFirstStatus = 100;
constexpr int kStatuses = 500;  // 100..599

// The methods an unmatched request is counted under; any other as the last.
constexpr std::string_view kUnmatchedMethods[] = {"GET",   "HEAD",   "POST",    "PUT",
                                                  "PATCH", "DELETE", "OPTIONS", "other"};

}  // namespace

std::string route_template(std::string_view path) {
  std::string out;
  out.reserve(path.size() + 2);
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != ':' || (i > 0 && path[i - 1] != '/')) {
      out += path[i];
      continue;
    }
    std::size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    out += '{';
    out += path.substr(i + 1, end - i - 1);
    out += '}';
    i = end - 1;
  }
  return out;
}

HttpMetrics::HttpMetrics(const std::vector<RouteSpec>& routes) {
  rows_.reserve(routes.size() + std::size(kUnmatchedMethods));
  auto add = [&](std::string route, std::string method) {
    rows_.push_back(Row{std::move(route), std::move(method),
                        std::make_unique<std::atomic<std::uint64_t>[]>(kStatuses),
                        std::make_unique<metrics::Histogram>(metrics::latency_buckets())});
  };
  for (const RouteSpec& spec : routes) add(route_template(spec.path), spec.method);
  unmatched_ = rows_.size();
  for (std::string_view method : kUnmatchedMethods) add("unmatched", std::string(method));
}

void HttpMetrics::count_row(std::size_t row, int status, double seconds) {
  if (row >= rows_.size()) return;
  const int index = status >= kFirstStatus && status < kFirstStatus + kStatuses
                        ? status - kFirstStatus
                        : kStatuses - 1;
  rows_[row].statuses[static_cast<std::size_t>(index)].fetch_add(1, std::memory_order_relaxed);
  rows_[row].latency->observe(seconds);
}

void HttpMetrics::count(std::size_t route, int status, double seconds) {
  if (route < unmatched_) count_row(route, status, seconds);
}

void HttpMetrics::count_unmatched(std::string_view method, int status, double seconds) {
  std::size_t at = 0;
  while (at + 1 < std::size(kUnmatchedMethods) && kUnmatchedMethods[at] != method) ++at;
  count_row(unmatched_ + at, status, seconds);
}

std::uint64_t HttpMetrics::requests(std::string_view route, std::string_view method,
                                    int status) const {
  if (status < kFirstStatus || status >= kFirstStatus + kStatuses) return 0;
  for (const Row& row : rows_)
    if (row.route == route && row.method == method)
      return row.statuses[static_cast<std::size_t>(status - kFirstStatus)].load(
          std::memory_order_relaxed);
  return 0;
}

void HttpMetrics::render(std::string& out) const {
  static const std::vector<std::string> request_labels{"route", "method", "status"};
  static const std::vector<std::string> latency_labels{"route", "method"};
  metrics::append_help_and_type(
      out, name_, "HTTP requests answered, by route template, method and status.", "counter");
  for (const Row& row : rows_) {
    for (int i = 0; i < kStatuses; ++i) {
      const auto n = row.statuses[static_cast<std::size_t>(i)].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += name_;
      metrics::append_labels(out, request_labels,
                             {row.route, row.method, std::to_string(kFirstStatus + i)});
      out += "} ";
      metrics::append_value(out, static_cast<double>(n));
      out += '\n';
    }
  }
  const std::string latency = "leadscore_http_request_duration_seconds";
  metrics::append_help_and_type(
      out, latency,
      "How long requests took from arriving whole to being answered, by route template and "
      "method.",
      "histogram");
  for (const Row& row : rows_) {
    const auto cumulative = row.latency->cumulative();
    if (cumulative.back() == 0) continue;
    const std::vector<std::string> values{row.route, row.method};
    const auto& bounds = row.latency->bounds();
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
      out += latency;
      out += "_bucket";
      metrics::append_labels(out, latency_labels, values);
      out += ",le=\"";
      if (i < bounds.size())
        metrics::append_value(out, bounds[i]);
      else
        out += "+Inf";
      out += "\"} ";
      metrics::append_value(out, static_cast<double>(cumulative[i]));
      out += '\n';
    }
    out += latency + "_sum";
    metrics::append_labels(out, latency_labels, values);
    out += "} ";
    metrics::append_value(out, row.latency->sum());
    out += '\n' + latency + "_count";
    metrics::append_labels(out, latency_labels, values);
    out += "} ";
    metrics::append_value(out, static_cast<double>(cumulative.back()));
    out += '\n';
  }
}

metrics::Gauge& queue_depth(std::string_view queue) {
  static metrics::GaugeFamily& depth = metrics::registry().gauges(
      "leadscore_queue_depth",
      "Tasks waiting for a thread, by queue (workers: requests; slow_scorers: runs of slow "
      "scorers; shadows: shadow runs).",
      {"queue"});
  return depth.with({queue});
}

HttpMetrics& http_metrics() {
  static HttpMetrics* const process = [] {
    auto made = std::make_shared<HttpMetrics>(route_table());
    metrics::registry().add(made);
    return made.get();  // kept by the registry, which lives until the process exits
  }();
  return *process;
}

}  // namespace leadscore::api
