// The process's Prometheus metrics: counters, gauges and fixed-bucket histograms, with or
// without labels, kept in one Registry that GET /metrics renders in the text exposition format.
//
// Design. The engine counts what only it sees (scorer runs, the connection pool, database
// errors, jobs: engine_metrics.h) and the api what only it sees (requests, queues), both into
// the one process-wide Registry (registry()), so that the engine needs nothing of the api and
// the api renders everything in one place. Counting is an atomic add with relaxed ordering: no
// mutex and no allocation on a request's path. A labelled family finds a label set's child in a
// fixed table without a lock; only the first use of a label set takes the family's mutex to add
// it. Label values must be bounded (route templates, scorer names, outcomes; never a lead, a
// key or a raw path): a family holds at most its capacity of label sets, and any further one
// counts under the label values "other".
//
// Adding a series is one line where it is counted, as the webhook dispatcher does:
//   static auto& deliveries = metrics::registry().counters(
//       "leadscore_webhook_deliveries_total", "Webhook deliveries by result.", {"result"});
//   deliveries.with({"delivered"}).inc();
// Asking again for a family by its name returns the one registered first (its help and labels).
//
// Threading: everything is safe from any thread. Families live as long as their Registry; the
// references handed out stay valid that long (registry() lives until the process exits).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace leadscore::metrics {

// Whether the counting hooks count (metrics.enabled). Off, /metrics is not served and the hooks
// return at once; a series counted directly (Counter::inc) still counts, unseen.
bool enabled();
void set_enabled(bool on);

class Counter {
 public:
  void inc(std::uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down. Several owners may add to one gauge (two connection pools add
// their sizes), so owners add and take away rather than set, where they can.
class Gauge {
 public:
  void add(std::int64_t by) { value_.fetch_add(by, std::memory_order_relaxed); }
  void set(std::int64_t value) { value_.store(value, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Observations counted into fixed buckets (upper bounds, ascending), with their sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts, one per bound and a last for +Inf (= count()).
  std::vector<std::uint64_t> cumulative() const;
  std::uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, from half a millisecond to ten seconds.
const std::vector<double>& latency_buckets();

// Something the registry renders: one metric family, HELP, TYPE and samples.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual const std::string& name() const = 0;
  virtual void render(std::string& out) const = 0;
};

// Appends `{a="x",b="y"` (no closing brace) for the names and values; values escaped.
void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values);
// Appends a sample value as Prometheus reads it (integers without a fraction, +Inf).
void append_value(std::string& out, double value);
void append_help_and_type(std::string& out, const std::string& name, std::string_view help,
                          std::string_view type);

// The children of one metric, one per label set.
template <typename Child>
class Family final : public Collector {
 public:
  using Make = std::function<std::unique_ptr<Child>()>;

  Family(std::string name, std::string help, std::vector<std::string> labels, Make make,
         std::size_t capacity = 512);
  ~Family() override;

  // The child for these label values (as many as the family's label names). Lock-free once
  // the label set has been seen.
  Child& with(std::initializer_list<std::string_view> values);
  Child& with(const std::vector<std::string_view>& values);

  const std::string& name() const override { return name_; }
  const std::vector<std::string>& labels() const { return labels_; }
  void render(std::string& out) const override;

 private:
  struct Slot {
    std::string key;
    std::vector<std::string> values;
    std::unique_ptr<Child> child;
  };
  Child& find(const std::string_view* values, std::size_t n);

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> labels_;
  const Make make_;
  const std::size_t capacity_;  // label sets kept; further ones count under "other"
  const std::size_t table_size_;
  std::unique_ptr<std::atomic<Slot*>[]> table_;
  std::mutex adding_;
  std::size_t used_ = 0;  // guarded by adding_
  std::unique_ptr<Slot> other_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;
using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  CounterFamily& counters(const std::string& name, std::string help,
                          std::vector<std::string> labels);
  GaugeFamily& gauges(const std::string& name, std::string help, std::vector<std::string> labels);
  HistogramFamily& histograms(const std::string& name, std::string help,
                              std::vector<std::string> labels,
                              const std::vector<double>& bounds = latency_buckets());
  // An unlabelled counter or gauge.
  Counter& counter(const std::string& name, std::string help);
  Gauge& gauge(const std::string& name, std::string help);
  // A collector of its own (the api's request matrix); the one registered first under its
  // name wins, and is returned.
  std::shared_ptr<Collector> add(std::shared_ptr<Collector> collector);

  // Every family, in the order registered, in the text exposition format (version 0.0.4).
  std::string render() const;

 private:
  template <typename F, typename MakeFamily>
  F& family(const std::string& name, MakeFamily&& make);

  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Collector>> collectors_;
};

// The process's registry.
Registry& registry();

}  // namespace leadscore::metrics
