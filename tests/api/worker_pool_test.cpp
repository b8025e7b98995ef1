// The worker pool of api/worker_pool.h: tasks run on the pool's threads, a full queue or a
// stopping pool refuses a task and leaves it with the caller, stopping (or destroying) the
// pool runs what is queued before joining, and a pool of N threads runs N tasks at once.
// Every wait is bounded: a pool that misbehaves fails the test instead of hanging it. What a
// task touches is declared before the pool, so that the pool is joined before it goes away.
#include "api/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace leadscore::api {
namespace {

using namespace std::chrono_literals;

// Long enough for any healthy pool on a loaded machine; only a broken one reaches it.
constexpr auto kPatience = 10s;

// A gate that tasks wait at until the test opens it; a task never waits past kPatience.
class Gate {
 public:
  void open() { opened_.set_value(); }
  bool wait() const { return shared_.wait_for(kPatience) == std::future_status::ready; }

 private:
  std::promise<void> opened_;
  std::shared_future<void> shared_ = opened_.get_future().share();
};

// Counts tasks that ran, and lets the test wait for a number of them.
class RunCount {
 public:
  void add() {
    {
      std::lock_guard lock(mutex_);
      ++count_;
    }
    changed_.notify_all();
  }
  bool wait_for(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kPatience, [&] { return count_ >= n; });
  }
  int count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

// Occupies every thread of `pool` with a task waiting at `gate`; returns once all of them run,
// so that whatever is posted next stays in the queue until the gate opens.
void occupy(WorkerPool& pool, const Gate& gate, RunCount& started) {
  for (int i = 0; i < pool.threads(); ++i)
    ASSERT_TRUE(pool.post([&gate, &started] {
      started.add();
      gate.wait();
    }));
  ASSERT_TRUE(started.wait_for(pool.threads())) << "the pool's threads never took the tasks";
  ASSERT_EQ(pool.queued(), 0u);
}

TEST(WorkerPool, HasTheThreadsItWasGiven) {
  WorkerPool pool(3, 10);
  EXPECT_EQ(pool.threads(), 3);
  EXPECT_EQ(pool.queued(), 0u);
}

TEST(WorkerPool, RunsATaskOffTheCallersThread) {
  std::promise<std::thread::id> ran_on;
  auto future = ran_on.get_future();
  WorkerPool pool(2, 10);
  ASSERT_TRUE(pool.post([&ran_on] { ran_on.set_value(std::this_thread::get_id()); }));
  ASSERT_EQ(future.wait_for(kPatience), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
}

TEST(WorkerPool, RunsEveryTaskOnceOnThePoolsThreads) {
  constexpr int kTasks = 200;
  RunCount ran;
  std::mutex mutex;
  std::set<std::thread::id> threads;
  WorkerPool pool(3, kTasks);
  for (int i = 0; i < kTasks; ++i)
    ASSERT_TRUE(pool.post([&] {
      {
        std::lock_guard lock(mutex);
        threads.insert(std::this_thread::get_id());
      }
      ran.add();
    }));
  ASSERT_TRUE(ran.wait_for(kTasks));
  pool.stop();
  EXPECT_EQ(ran.count(), kTasks);  // each ran once
  EXPECT_LE(threads.size(), 3u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

TEST(WorkerPool, AFullQueueRefusesAndLeavesTheTaskWithTheCaller) {
  Gate gate;
  RunCount started, ran;
  std::promise<void> later;
  WorkerPool pool(1, 2);
  occupy(pool, gate, started);

  EXPECT_TRUE(pool.post([&ran] { ran.add(); }));
  EXPECT_TRUE(pool.post([&ran] { ran.add(); }));
  EXPECT_EQ(pool.queued(), 2u);

  // The refused task owns a value: it must come back untouched, still callable.
  auto owned = std::make_unique<int>(7);
  bool refused_task_ran = false;
  WorkerPool::Task task = [value = std::move(owned), &refused_task_ran] {
    refused_task_ran = *value == 7;
  };
  EXPECT_FALSE(pool.post(std::move(task)));
  EXPECT_EQ(pool.queued(), 2u);
  EXPECT_TRUE(static_cast<bool>(task)) << "a refused task was moved from";
  if (task) task();  // the caller can still use what it holds
  EXPECT_TRUE(refused_task_ran);

  gate.open();
  ASSERT_TRUE(ran.wait_for(2));
  // Room again once the queue drains.
  EXPECT_TRUE(pool.post([&later] { later.set_value(); }));
  EXPECT_EQ(later.get_future().wait_for(kPatience), std::future_status::ready);
}

TEST(WorkerPool, AQueueLimitOfZeroRefusesEverything) {
  bool ran = false;
  WorkerPool pool(1, 0);
  WorkerPool::Task task = [&ran] { ran = true; };
  EXPECT_FALSE(pool.post(std::move(task)));
  EXPECT_TRUE(static_cast<bool>(task));
  pool.stop();
  EXPECT_FALSE(ran);
}

TEST(WorkerPool, RunsAsManyTasksAtOnceAsItHasThreads) {
  // Each task waits until all of them have started: they can only all finish if the pool runs
  // them at the same time.
  constexpr int kThreads = 4;
  RunCount started;
  std::atomic<int> saw_all{0};
  WorkerPool pool(kThreads, 16);
  for (int i = 0; i < kThreads; ++i)
    ASSERT_TRUE(pool.post([&] {
      started.add();
      if (started.wait_for(kThreads)) ++saw_all;
    }));
  pool.stop();
  EXPECT_EQ(saw_all.load(), kThreads);
}

TEST(WorkerPool, StopRunsWhatIsQueuedThenRefusesMore) {
  Gate gate;
  RunCount started, ran;
  // Room for every probe below: a refusal can only mean that the pool is stopping.
  WorkerPool pool(1, 1 << 20);
  occupy(pool, gate, started);
  constexpr int kQueued = 10;
  for (int i = 0; i < kQueued; ++i) ASSERT_TRUE(pool.post([&ran] { ran.add(); }));
  ASSERT_EQ(pool.queued(), static_cast<std::size_t>(kQueued));

  // stop() runs on another thread and waits for the queue; the pool says it is stopping by
  // refusing posts, and only then does the busy worker go on.
  std::thread stopper([&pool] { pool.stop(); });
  int accepted_probes = 0;
  bool refused = false;
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (!refused && std::chrono::steady_clock::now() < deadline) {
    refused = !pool.post([&ran] { ran.add(); });
    if (!refused) ++accepted_probes;  // posted before stop() took effect: it must run too
    std::this_thread::yield();
  }
  EXPECT_TRUE(refused) << "a stopping pool still took tasks";
  EXPECT_EQ(ran.count(), 0) << "queued tasks ran while the worker was still busy";
  gate.open();
  stopper.join();

  EXPECT_EQ(ran.count(), kQueued + accepted_probes);
  EXPECT_EQ(pool.queued(), 0u);
  bool ran_after_stop = false;
  WorkerPool::Task late = [&ran_after_stop] { ran_after_stop = true; };
  EXPECT_FALSE(pool.post(std::move(late)));
  EXPECT_TRUE(static_cast<bool>(late)) << "a task refused by a stopped pool was moved from";
  EXPECT_FALSE(ran_after_stop);
}

TEST(WorkerPool, StopIsIdempotent) {
  RunCount ran;
  WorkerPool pool(2, 10);
  ASSERT_TRUE(pool.post([&ran] { ran.add(); }));
  pool.stop();
  pool.stop();
  EXPECT_EQ(ran.count(), 1);
  EXPECT_FALSE(pool.post([] {}));
}  // and the destructor stops it once more

TEST(WorkerPool, TheDestructorRunsQueuedTasksThenJoins) {
  constexpr int kQueued = 20;
  RunCount ran;
  Gate gate;
  std::atomic<int> accepted_probes{0};
  std::atomic<bool> refused{false};
  std::thread opener;
  {
    RunCount started;
    WorkerPool pool(2, 1 << 20);
    occupy(pool, gate, started);
    for (int i = 0; i < kQueued; ++i) ASSERT_TRUE(pool.post([&ran] { ran.add(); }));
    // The busy workers hold the destructor in its join; once posts are refused it has begun
    // stopping, and only then are the workers let go. The opener touches the pool no more.
    opener = std::thread([&] {
      const auto deadline = std::chrono::steady_clock::now() + kPatience;
      while (!refused && std::chrono::steady_clock::now() < deadline) {
        refused = !pool.post([&ran] { ran.add(); });
        if (!refused) ++accepted_probes;
        std::this_thread::yield();
      }
      gate.open();
    });
  }  // the destructor: every queued task runs before it returns
  opener.join();
  EXPECT_TRUE(refused.load()) << "a pool being destroyed still took tasks";
  EXPECT_EQ(ran.count(), kQueued + accepted_probes.load());
}

TEST(WorkerPool, ATaskMayPostAnotherWhileThePoolRuns) {
  std::promise<bool> inner_ran;
  auto future = inner_ran.get_future();
  WorkerPool pool(1, 10);
  ASSERT_TRUE(pool.post([&] {
    if (!pool.post([&inner_ran] { inner_ran.set_value(true); })) inner_ran.set_value(false);
  }));
  ASSERT_EQ(future.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(future.get());
}

TEST(WorkerPool, PostIsSafeFromSeveralThreads) {
  constexpr int kPosters = 4;
  constexpr int kEach = 250;
  RunCount ran;
  std::atomic<int> accepted{0};
  {
    WorkerPool pool(2, kPosters * kEach);  // room for all: none is refused
    std::vector<std::thread> posters;
    for (int p = 0; p < kPosters; ++p)
      posters.emplace_back([&] {
        for (int i = 0; i < kEach; ++i)
          if (pool.post([&ran] { ran.add(); })) ++accepted;
      });
    for (auto& poster : posters) poster.join();
  }
  EXPECT_EQ(accepted.load(), kPosters * kEach);
  EXPECT_EQ(ran.count(), kPosters * kEach);
}

TEST(WorkerPool, AnInFlightLimitCountsTheRunningTasksWithTheQueuedOnes) {
  Gate gate;
  RunCount started, ran;
  // Two threads and one waiting task: three in flight at most, whatever the threads are doing.
  WorkerPool pool(2, 3, WorkerPool::Limit::InFlight);
  occupy(pool, gate, started);
  EXPECT_TRUE(pool.post([&ran] { ran.add(); }));
  EXPECT_FALSE(pool.post([&ran] { ran.add(); }));
  gate.open();
  ASSERT_TRUE(ran.wait_for(1));
  // Once the tasks are done their places are free again.
  RunCount more;
  for (int i = 0; i < 100 && !pool.post([&more] { more.add(); }); ++i)
    std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(more.wait_for(1));
  pool.stop();
}

}  // namespace
}  // namespace leadscore::api
