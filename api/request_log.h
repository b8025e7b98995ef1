// What operators read of the server: its log lines as text or as JSON (log.format), the one
// line per request (log.requests), and the request id on every line written while a request is
// handled.
//
// Formats. text: `TIME LEVEL message`, as always; a warning or error written while a request is
// handled ends with ` rid=ID` unless its message names the id already. json: one object per
// line, {"time", "level", "msg", ...}: "request_id" on every line written while a request is
// handled, and the request line's own fields (method, route, path, status, latency_ms,
// request_id, client, key, client_gone). `key` is the API key's name, never the key.
//
// Cost. A line is formatted on the thread that logs it, after the answer is queued, into the
// batched sink's buffer (batched_log_sink.h): no write, no wake-up on the request's path. The
// request line is built by appending (no format string), and the time's text up to the second
// is made once a second per thread: about 0.16 µs of CPU for a text request line, 0.25 µs for
// a JSON one (bench/request_log_bench.cpp).
//
// Threading: the formatters are ours, one per sink, called under the sink's lock; RequestScope
// marks the calling thread only; log_request() from any thread.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

#include "engine/config/app_config.h"

namespace leadscore::api {

enum class LogFormat { Text, Json };
LogFormat log_format(const config::LogConfig& log);

// The formatter of every line the server writes, for `format`.
std::unique_ptr<spdlog::formatter> log_formatter(LogFormat format);

// While it lives, lines written by this thread belong to the request `id` (which must outlive
// it). Nests: the outer request's id is back when it ends.
class RequestScope {
 public:
  explicit RequestScope(const std::string& id);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

 private:
  const std::string* outer_;
};
// The id of the request this thread handles now; nullptr when none.
const std::string* current_request_id();

struct RequestRecord {
  std::string_view method;
  std::string_view route;  // the route template (`/leads/{id}`), or "unmatched"
  std::string_view path;
  int status = 0;
  double latency_ms = 0;
  std::string_view request_id;
  std::string_view client;
  std::string_view key;  // the key's name; empty when the request had none
  bool client_gone = false;
};

// Writes the request's line at info level, in `format`.
void log_request(LogFormat format, const RequestRecord& record);

// Appends `text` as a JSON string (quoted; bytes of a UTF-8 sequence kept, invalid ones as
// U+FFFD, control characters escaped).
void append_json_string(std::string& out, std::string_view text);

}  // namespace leadscore::api
