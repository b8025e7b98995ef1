// The error channel of the plugin ABI (include/leadscore/plugin.h) for C++ plugins: messages
// written into the engine's err buffer, and the guard that keeps every exception on the
// plugin's side of the boundary.
//
// Threading: pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>

// Whether *object, a struct whose struct_size the other side set, is large enough to hold
// `field` (structs only grow at their end).
#define LS_HAS_FIELD(object, field) \
  ((object)->struct_size >=         \
   offsetof(std::remove_cvref_t<decltype(*(object))>, field) + sizeof((object)->field))

namespace leadscore::plugin {

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

}  // namespace leadscore::plugin
