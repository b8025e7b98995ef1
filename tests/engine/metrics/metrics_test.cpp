#include "engine/metrics/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace leadscore::metrics {
namespace {

TEST(Metrics, ConcurrentCountsAddUpExactly) {
  Registry registry;
  auto& family = registry.counters("test_events_total", "Events.", {"kind"});
  constexpr int kThreads = 4, kEach = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) family.with({t % 2 == 0 ? "even" : "odd"}).inc();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(family.with({"even"}).value(), 2u * kEach);
  EXPECT_EQ(family.with({"odd"}).value(), 2u * kEach);
}

TEST(Metrics, RendersHelpTypeAndEscapedLabels) {
  Registry registry;
  registry.counters("test_total", "Things\ncounted.", {"name"}).with({"a\"b\\c\nd"}).inc(3);
  registry.gauge("test_level", "A level.").set(-2);
  const std::string text = registry.render();
  EXPECT_EQ(text,
            "# HELP test_total Things\\ncounted.\n"
            "# TYPE test_total counter\n"
            "test_total{name=\"a\\\"b\\\\c\\nd\"} 3\n"
            "# HELP test_level A level.\n"
            "# TYPE test_level gauge\n"
            "test_level -2\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry registry;
  auto& latency = registry.histograms("test_seconds", "Latency.", {}, {0.1, 1});
  for (double v : {0.05, 0.1, 0.5, 2.0}) latency.with({}).observe(v);
  EXPECT_EQ(registry.render(),
            "# HELP test_seconds Latency.\n"
            "# TYPE test_seconds histogram\n"
            "test_seconds_bucket{le=\"0.1\"} 2\n"
            "test_seconds_bucket{le=\"1\"} 3\n"
            "test_seconds_bucket{le=\"+Inf\"} 4\n"
            "test_seconds_sum 2.65\n"
            "test_seconds_count 4\n");
}

TEST(Metrics, ASecondRegistrationOfANameIsTheFirst) {
  Registry registry;
  auto& first = registry.counters("test_total", "First.", {"a"});
  auto& again = registry.counters("test_total", "Second.", {"b"});
  EXPECT_EQ(&first, &again);
  EXPECT_THROW(registry.gauges("test_total", "A gauge now.", {}), std::logic_error);
}

TEST(Metrics, LabelSetsPastTheCapacityCountAsOther) {
  CounterFamily family(
      "test_total", "Bounded.", {"name"}, [] { return std::make_unique<Counter>(); }, 2);
  family.with({"a"}).inc();
  family.with({"b"}).inc();
  family.with({"c"}).inc();
  family.with({"d"}).inc(2);
  family.with({"a"}).inc();
  std::string out;
  family.render(out);
  EXPECT_NE(out.find("test_total{name=\"a\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("test_total{name=\"b\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("test_total{name=\"other\"} 3\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("name=\"c\""), std::string::npos) << out;
}

TEST(Metrics, AWrongNumberOfLabelValuesCountsAsOther) {
  CounterFamily family("test_total", "Two labels.", {"a", "b"},
                       [] { return std::make_unique<Counter>(); });
  family.with({"only one"}).inc();
  std::string out;
  family.render(out);
  EXPECT_NE(out.find("test_total{a=\"other\",b=\"other\"} 1\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace leadscore::metrics
