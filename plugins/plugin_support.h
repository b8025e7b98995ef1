// What the C++ scorer plugin modules share at the C ABI of plugins/leadscore_plugin.h: the error
// channel, a lead's ls_features read into domain::Features, and a domain::ScoreResult answered
// through ls_result from a buffer that the instance keeps for the calling thread.
//
// Threading: PerThread::for_this_thread() is safe from any thread; each buffer it hands out is
// used by one thread only.
#pragma once

#include <cstddef>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "engine/domain/analysis.h"
#include "plugins/leadscore_plugin.h"

namespace leadscore::plugins {

// Whether *object, a struct whose struct_size the other side set, is large enough to hold
// `field` (structs only grow at their end).
#define LS_HAS_FIELD(object, field) \
  ((object)->struct_size >=         \
   offsetof(std::remove_cvref_t<decltype(*(object))>, field) + sizeof((object)->field))

// Writes `message` into the caller's err buffer: NUL-terminated, truncated to err_size bytes.
void write_error(char* err, std::size_t err_size, std::string_view message);

// Runs the body of one of a plugin's ABI functions so that no exception crosses the boundary:
// one becomes `failed`, with "<context>: <what>" in err.
template <typename Body, typename Result = std::invoke_result_t<Body>>
Result catch_all(std::string_view context, char* err, std::size_t err_size, Result failed,
                 Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    write_error(err, err_size, std::string(context) + ": " + e.what());
  } catch (...) {
    write_error(err, err_size, std::string(context) + ": an unknown exception");
  }
  return failed;
}

// Reads the lead into `out`, reusing the storage of its strings. False, with "<plugin>: unknown
// stage code N" in err, when stage_code names no stage.
bool read_features(const ls_features& in, domain::Features& out, std::string_view plugin, char* err,
                   std::size_t err_size);

// Where a thread's last result of an instance lives until that thread's next score() on it
// (the ABI's ownership rule): the lead as read, the result, and the C view of its
// contributions.
struct ResultBuffer {
  domain::Features features;
  domain::ScoreResult result;
  std::vector<ls_contribution> contributions;

  // Fills `out` with pointers into `result`.
  void answer(ls_result& out);
};

// One Buffer per thread that scores on an instance, owned by the instance and freed with it.
// Deliberately no thread_local object: a module with thread-local destructors stays loaded
// until those threads end, and the old code of a reloaded plugin would never be unloaded.
template <typename Buffer>
class PerThread {
 public:
  Buffer& for_this_thread() {
    std::lock_guard lock(mutex_);
    std::unique_ptr<Buffer>& buffer = buffers_[std::this_thread::get_id()];
    if (!buffer) buffer = std::make_unique<Buffer>();
    return *buffer;
  }

 private:
  std::mutex mutex_;
  std::map<std::thread::id, std::unique_ptr<Buffer>> buffers_;
};

}  // namespace leadscore::plugins
