// The group-commit batcher: a request alone runs at once; requests made while a batch runs are
// run together as the next batch, oldest first, up to max_batch and as the batch admits them;
// each caller gets the response to its own request, a failed response stays with its request;
// at most max_in_flight batches run at a time.
#include "engine/store/batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <expected>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace leadscore::store {
namespace {

using namespace std::chrono_literals;
using Batches = std::vector<std::vector<int>>;

// Closed until the test opens it: a batch that waits on it keeps the requests after it queued.
class Gate {
 public:
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    opened_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    opened_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
};

// Opens its gate when it goes: declared after the callers, it lets them finish before they
// are joined, also when an assertion failed midway.
struct OpenOnExit {
  ~OpenOnExit() { gate.open(); }
  Gate& gate;
};

// The batches a Run was given, in the order they started.
class Recorder {
 public:
  void add(const std::vector<const int*>& batch) {
    std::vector<int> requests;
    for (const int* request : batch) requests.push_back(*request);
    std::lock_guard lock(mutex_);
    batches_.push_back(std::move(requests));
  }
  Batches batches() const {
    std::lock_guard lock(mutex_);
    return batches_;
  }

 private:
  mutable std::mutex mutex_;
  Batches batches_;
};

std::vector<int> times_ten(const std::vector<const int*>& batch) {
  std::vector<int> responses;
  for (const int* request : batch) responses.push_back(*request * 10);
  return responses;
}

// Polls `done` until it holds; fails the test after 10 s.
void wait_until(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the batcher did not get there";
    std::this_thread::sleep_for(1ms);
  }
}

// A batcher of ints whose batches are recorded, answered with request * 10, and whose first
// batch waits for `gate`: the requests submitted after it queue behind it.
struct GatedBatcher {
  GatedBatcher(std::size_t max_batch, int max_in_flight, Batcher<int, int>::Admits admits = {})
      : batcher(
            [this](const std::vector<const int*>& batch) {
              const bool first = recorder.batches().empty();
              recorder.add(batch);
              if (first) gate.wait();
              return times_ten(batch);
            },
            max_batch, max_in_flight, std::move(admits)) {}
  ~GatedBatcher() { finish(); }  // also when an assertion failed midway: no caller hangs

  // Submits `requests` from threads of their own, one after the other: the first is run at
  // once and holds the gate; each next one is queued before the one after it is submitted.
  void submit_in_order(const std::vector<int>& requests) {
    responses.resize(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      callers.emplace_back(
          [this, i, request = requests[i]] { responses[i] = batcher.submit(request); });
      if (i == 0)
        wait_until([&] { return recorder.batches().size() == 1; });
      else
        wait_until([&] { return batcher.queued() == i; });
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

  // Opens the gate and waits for every caller to have its response.
  void finish() {
    gate.open();
    callers.clear();
  }

  Gate gate;
  Recorder recorder;
  Batcher<int, int> batcher;
  std::vector<int> responses;
  std::vector<std::jthread> callers;
};

TEST(Batcher, ARequestAloneRunsAtOnceInABatchOfItsOwn) {
  Recorder recorder;
  Batcher<int, int> batcher(
      [&](const std::vector<const int*>& batch) {
        recorder.add(batch);
        return times_ten(batch);
      },
      /*max_batch=*/8, /*max_in_flight=*/1);
  EXPECT_EQ(batcher.submit(7), 70);
  EXPECT_EQ(batcher.submit(8), 80);
  EXPECT_EQ(recorder.batches(), (Batches{{7}, {8}}));
  const BatchStats stats = batcher.stats();
  EXPECT_EQ(stats.batches, 2u);
  EXPECT_EQ(stats.requests, 2u);
  EXPECT_EQ(stats.largest_batch, 1u);
  EXPECT_EQ(batcher.queued(), 0u);
}

TEST(Batcher, RequestsMadeWhileABatchRunsAreTheNextBatchInTheOrderTheyCame) {
  GatedBatcher gated(/*max_batch=*/8, /*max_in_flight=*/1);
  gated.submit_in_order({1, 2, 3, 4, 5, 6});
  ASSERT_FALSE(HasFatalFailure());
  // With one batch in flight, none of the five queued started while the first ran.
  EXPECT_EQ(gated.batcher.queued(), 5u);
  EXPECT_EQ(gated.recorder.batches().size(), 1u);
  gated.finish();

  EXPECT_EQ(gated.recorder.batches(), (Batches{{1}, {2, 3, 4, 5, 6}}));
  EXPECT_EQ(gated.responses, (std::vector<int>{10, 20, 30, 40, 50, 60}));
  const BatchStats stats = gated.batcher.stats();
  EXPECT_EQ(stats.batches, 2u);
  EXPECT_EQ(stats.requests, 6u);
  EXPECT_EQ(stats.largest_batch, 5u);
  EXPECT_EQ(gated.batcher.queued(), 0u);
}

TEST(Batcher, ABatchTakesAtMostMaxBatchOfTheOldestRequests) {
  GatedBatcher gated(/*max_batch=*/2, /*max_in_flight=*/1);
  gated.submit_in_order({1, 2, 3, 4, 5, 6});
  gated.finish();

  EXPECT_EQ(gated.recorder.batches(), (Batches{{1}, {2, 3}, {4, 5}, {6}}));
  EXPECT_EQ(gated.responses, (std::vector<int>{10, 20, 30, 40, 50, 60}));
  EXPECT_EQ(gated.batcher.stats().largest_batch, 2u);
}

TEST(Batcher, ARequestTheBatchDoesNotAdmitKeepsItsPlaceForTheNextBatch) {
  // One request per "row" (the tens digit) in a batch, as the analysis writer's batches could
  // ask for one analysis per lead.
  auto one_per_row = [](const std::vector<const int*>& batch, const int& next) {
    for (const int* taken : batch)
      if (*taken / 10 == next / 10) return false;
    return true;
  };
  GatedBatcher gated(/*max_batch=*/8, /*max_in_flight=*/1, one_per_row);
  gated.submit_in_order({1, 11, 12, 21, 13, 22});
  gated.finish();

  EXPECT_EQ(gated.recorder.batches(), (Batches{{1}, {11, 21}, {12, 22}, {13}}));
  EXPECT_EQ(gated.responses, (std::vector<int>{10, 110, 120, 210, 130, 220}));
}

TEST(Batcher, AFailedResponseGoesToItsOwnCallerOnly) {
  using Response = std::expected<int, std::string>;
  Gate gate;
  std::atomic<bool> first{true};
  Batcher<int, Response> batcher(
      [&](const std::vector<const int*>& batch) {
        if (first.exchange(false)) gate.wait();
        std::vector<Response> responses;
        for (const int* request : batch)
          if (*request < 0)
            responses.emplace_back(std::unexpected("refused " + std::to_string(*request)));
          else
            responses.emplace_back(*request * 10);
        return responses;
      },
      /*max_batch=*/8, /*max_in_flight=*/1);

  const std::vector<int> requests{1, 2, -3, 4};
  std::vector<Response> responses(requests.size());
  std::vector<std::jthread> callers;
  OpenOnExit opener{gate};
  for (std::size_t i = 0; i < requests.size(); ++i) {
    callers.emplace_back([&, i] { responses[i] = batcher.submit(requests[i]); });
    if (i == 0)
      wait_until([&] { return !first.load(); });
    else
      wait_until([&] { return batcher.queued() == i; });
    ASSERT_FALSE(HasFatalFailure());
  }
  gate.open();
  callers.clear();

  ASSERT_EQ(batcher.stats().largest_batch, 3u);  // 2, -3 and 4 were one batch
  EXPECT_EQ(responses[0], Response(10));
  EXPECT_EQ(responses[1], Response(20));
  ASSERT_FALSE(responses[2]);
  EXPECT_EQ(responses[2].error(), "refused -3");
  EXPECT_EQ(responses[3], Response(40));
  // The batcher goes on after a failure.
  EXPECT_EQ(batcher.submit(5), Response(50));
}

TEST(Batcher, AtMostMaxInFlightBatchesRunAtOnce) {
  Gate gate;
  std::atomic<int> running{0};
  std::atomic<int> most_running{0};
  Batcher<int, int> batcher(
      [&](const std::vector<const int*>& batch) {
        const int now = ++running;
        int most = most_running.load();
        while (now > most && !most_running.compare_exchange_weak(most, now)) {
        }
        gate.wait();
        --running;
        return times_ten(batch);
      },
      /*max_batch=*/1, /*max_in_flight=*/2);

  std::vector<int> responses(5);
  std::vector<std::jthread> callers;
  OpenOnExit opener{gate};
  for (int i = 0; i < 5; ++i)
    callers.emplace_back([&, i] { responses[i] = batcher.submit(i + 1); });
  // Two batches start; the other three requests wait for one of them to end.
  wait_until([&] { return running.load() == 2 && batcher.queued() == 3; });
  ASSERT_FALSE(HasFatalFailure());
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(running.load(), 2);
  EXPECT_EQ(batcher.queued(), 3u);
  gate.open();
  callers.clear();

  EXPECT_EQ(most_running.load(), 2);
  EXPECT_EQ(responses, (std::vector<int>{10, 20, 30, 40, 50}));
  EXPECT_EQ(batcher.stats().batches, 5u);
}

}  // namespace
}  // namespace leadscore::store
