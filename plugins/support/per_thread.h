// Per-thread state of a plugin instance: the ABI lets score() run on several threads at once
// on one instance, and a result must stay valid until that thread's next call.
//
// Threading: for_this_thread() is safe from any thread; each object it hands out is used by
// one thread only.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace leadscore::plugin {

// One State per thread that uses an instance, owned by the instance and freed with it.
// Deliberately no thread_local object: a module with thread-local destructors stays loaded
// until those threads end, and the old code of a reloaded plugin would never be unloaded.
template <typename State>
class PerThread {
 public:
  State& for_this_thread() {
    std::lock_guard lock(mutex_);
    std::unique_ptr<State>& state = states_[std::this_thread::get_id()];
    if (!state) state = std::make_unique<State>();
    return *state;
  }

 private:
  std::mutex mutex_;
  std::map<std::thread::id, std::unique_ptr<State>> states_;
};

}  // namespace leadscore::plugin
