#include "engine/metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace leadscore::metrics {
namespace {

std::atomic<bool> counting{true};

constexpr char kKeySeparator = '\x1f';

// The key of a label set: its values joined, in a buffer of the calling thread's.
std::string_view key_of(const std::string_view* values, std::size_t n) {
  thread_local std::string key;
  key.clear();
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) key += kKeySeparator;
    key += values[i];
  }
  return key;
}

void append_escaped(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

void render_child(std::string& out, const std::string& name, const std::vector<std::string>& labels,
                  const std::vector<std::string>& values, const Counter& counter) {
  out += name;
  if (!labels.empty()) {
    append_labels(out, labels, values);
    out += '}';
  }
  out += ' ';
  append_value(out, static_cast<double>(counter.value()));
  out += '\n';
}

void render_child(std::string& out, const std::string& name, const std::vector<std::string>& labels,
                  const std::vector<std::string>& values, const Gauge& gauge) {
  out += name;
  if (!labels.empty()) {
    append_labels(out, labels, values);
    out += '}';
  }
  out += ' ';
  append_value(out, static_cast<double>(gauge.value()));
  out += '\n';
}

void render_child(std::string& out, const std::string& name, const std::vector<std::string>& labels,
                  const std::vector<std::string>& values, const Histogram& histogram) {
  const auto cumulative = histogram.cumulative();
  const auto& bounds = histogram.bounds();
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    out += name;
    out += "_bucket";
    append_labels(out, labels, values);
    out += labels.empty() ? "le=\"" : ",le=\"";
    if (i < bounds.size())
      append_value(out, bounds[i]);
    else
      out += "+Inf";
    out += "\"} ";
    append_value(out, static_cast<double>(cumulative[i]));
    out += '\n';
  }
  for (const char* part : {"_sum", "_count"}) {
    out += name;
    out += part;
    if (!labels.empty()) {
      append_labels(out, labels, values);
      out += '}';
    }
    out += ' ';
    if (part[1] == 's')
      append_value(out, histogram.sum());
    else
      append_value(out, static_cast<double>(cumulative.back()));
    out += '\n';
  }
}

std::string_view type_of(const Counter*) { return "counter"; }
std::string_view type_of(const Gauge*) { return "gauge"; }
std::string_view type_of(const Histogram*) { return "histogram"; }

}  // namespace

bool enabled() { return counting.load(std::memory_order_relaxed); }
void set_enabled(bool on) { counting.store(on, std::memory_order_relaxed); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  if (!std::ranges::is_sorted(bounds_)) throw std::invalid_argument("histogram bounds unsorted");
}

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

std::uint64_t Histogram::count() const { return cumulative().back(); }

const std::vector<double>& latency_buckets() {
  static const std::vector<double> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return bounds;
}

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values) {
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    append_escaped(out, i < values.size() ? values[i] : std::string());
    out += '"';
  }
}

void append_value(std::string& out, double value) {
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, ec == std::errc() ? end : buffer);
}

void append_help_and_type(std::string& out, const std::string& name, std::string_view help,
                          std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

template <typename Child>
Family<Child>::Family(std::string name, std::string help, std::vector<std::string> labels,
                      Make make, std::size_t capacity)
    : name_(std::move(name)),
      help_(std::move(help)),
      labels_(std::move(labels)),
      make_(std::move(make)),
      capacity_(labels_.empty() ? 1 : capacity),
      table_size_(std::bit_ceil(capacity_ * 2)),
      table_(std::make_unique<std::atomic<Slot*>[]>(table_size_)) {
  other_ =
      std::make_unique<Slot>(Slot{{}, std::vector<std::string>(labels_.size(), "other"), make_()});
}

template <typename Child>
Family<Child>::~Family() {
  for (std::size_t i = 0; i < table_size_; ++i) delete table_[i].load();
}

template <typename Child>
Child& Family<Child>::with(std::initializer_list<std::string_view> values) {
  return find(values.begin(), values.size());
}

template <typename Child>
Child& Family<Child>::with(const std::vector<std::string_view>& values) {
  return find(values.data(), values.size());
}

template <typename Child>
Child& Family<Child>::find(const std::string_view* values, std::size_t n) {
  if (n != labels_.size()) return *other_->child;
  const std::string_view key = key_of(values, n);
  const std::size_t start = std::hash<std::string_view>{}(key) & (table_size_ - 1);
  for (std::size_t probe = 0; probe < table_size_; ++probe) {
    Slot* slot = table_[(start + probe) & (table_size_ - 1)].load(std::memory_order_acquire);
    if (slot == nullptr) break;
    if (slot->key == key) return *slot->child;
  }
  // Not seen yet: added under the mutex (again looked for, as another thread may have added
  // it meanwhile), published with a release store that the lock-free lookups acquire.
  std::lock_guard lock(adding_);
  for (std::size_t probe = 0; probe < table_size_; ++probe) {
    auto& at = table_[(start + probe) & (table_size_ - 1)];
    Slot* slot = at.load(std::memory_order_acquire);
    if (slot != nullptr) {
      if (slot->key == key) return *slot->child;
      continue;
    }
    if (used_ >= capacity_) break;
    auto added = std::make_unique<Slot>(
        Slot{std::string(key), std::vector<std::string>(values, values + n), make_()});
    Child& child = *added->child;
    at.store(added.release(), std::memory_order_release);
    ++used_;
    return child;
  }
  return *other_->child;
}

template <typename Child>
void Family<Child>::render(std::string& out) const {
  append_help_and_type(out, name_, help_, type_of(static_cast<const Child*>(nullptr)));
  for (std::size_t i = 0; i < table_size_; ++i)
    if (const Slot* slot = table_[i].load(std::memory_order_acquire))
      render_child(out, name_, labels_, slot->values, *slot->child);
  // The overflow's samples appear once something counted there.
  bool overflowed = false;
  if constexpr (std::is_same_v<Child, Histogram>)
    overflowed = other_->child->count() > 0;
  else
    overflowed = other_->child->value() != 0;
  if (overflowed) render_child(out, name_, labels_, other_->values, *other_->child);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <typename F, typename MakeFamily>
F& Registry::family(const std::string& name, MakeFamily&& make) {
  std::lock_guard lock(mutex_);
  for (const auto& collector : collectors_) {
    if (collector->name() != name) continue;
    if (auto* found = dynamic_cast<F*>(collector.get())) return *found;
    throw std::logic_error("metric " + name + " is registered with another type");
  }
  auto made = make();
  F& family = *made;
  collectors_.push_back(std::move(made));
  return family;
}

CounterFamily& Registry::counters(const std::string& name, std::string help,
                                  std::vector<std::string> labels) {
  return family<CounterFamily>(name, [&] {
    return std::make_shared<CounterFamily>(name, std::move(help), std::move(labels),
                                           [] { return std::make_unique<Counter>(); });
  });
}

GaugeFamily& Registry::gauges(const std::string& name, std::string help,
                              std::vector<std::string> labels) {
  return family<GaugeFamily>(name, [&] {
    return std::make_shared<GaugeFamily>(name, std::move(help), std::move(labels),
                                         [] { return std::make_unique<Gauge>(); });
  });
}

HistogramFamily& Registry::histograms(const std::string& name, std::string help,
                                      std::vector<std::string> labels,
                                      const std::vector<double>& bounds) {
  return family<HistogramFamily>(name, [&] {
    return std::make_shared<HistogramFamily>(name, std::move(help), std::move(labels), [bounds] {
      return std::make_unique<Histogram>(bounds);
    });
  });
}

Counter& Registry::counter(const std::string& name, std::string help) {
  return counters(name, std::move(help), {}).with({});
}

Gauge& Registry::gauge(const std::string& name, std::string help) {
  return gauges(name, std::move(help), {}).with({});
}

std::shared_ptr<Collector> Registry::add(std::shared_ptr<Collector> collector) {
  std::lock_guard lock(mutex_);
  for (const auto& existing : collectors_)
    if (existing->name() == collector->name()) return existing;
  collectors_.push_back(collector);
  return collector;
}

std::string Registry::render() const {
  std::vector<std::shared_ptr<Collector>> all;
  {
    std::lock_guard lock(mutex_);
    all = collectors_;
  }
  std::string out;
  out.reserve(16 << 10);
  for (const auto& collector : all) collector->render(out);
  return out;
}

Registry& registry() {
  static Registry* const process = new Registry;  // never destroyed: counted until exit
  return *process;
}

}  // namespace leadscore::metrics
