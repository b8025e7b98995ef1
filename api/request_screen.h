// The framing screen in front of the HTTP parser: it reads the bytes of one connection as
// they arrive and refuses, before the parser sees them, what the parser would answer badly or
// never: a request line or header past its limit (the parser re-reads the whole head on every
// packet, so a long one costs quadratic time), header lines without a colon, obs-folds, bare
// LF line endings, control bytes, a Content-Length that is not a plain number or exceeds the
// transport limit, and a Transfer-Encoding (bodies come with a Content-Length; the front door
// turns a chunked upload into one).
//
// It follows request boundaries through each Content-Length body, so a kept-alive connection
// is screened request after request. Once it refuses, it refuses everything after. Headers
// Pistache would parse into typed values that leadscore never reads are passed on renamed (see
// feed), so that no value a client sends can make the parser throw.
//
// Threading: one per connection, used by the reactor thread that owns the connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/domain/error.h"

namespace leadscore::api {

struct ScreenLimits {
  std::size_t request_line = 8 << 10;   // 414 past it
  std::size_t header_line = 8 << 10;    // 431 past it
  std::size_t header_bytes = 32 << 10;  // the whole head; 431 past it
  std::size_t header_count = 100;       // 431 past it
  std::size_t body_bytes = 1 << 20;     // the largest Content-Length; 413 past it
};

struct ScreenVerdict {
  int status = 0;    // 0: pass the bytes on; else the status of the refusal
  std::string code;  // the refusal's error name
  std::string message;
  domain::ErrorCode error = domain::ErrorCode::MalformedRequest;  // the refusal's error code

  bool refused() const { return status != 0; }
};

class RequestScreen {
 public:
  explicit RequestScreen(ScreenLimits limits) : limits_(limits) {}

  // Screens the next bytes of the connection and appends to `passed` what the parser is to
  // see of them: bodies as they are, the head a whole line at a time (a line is held until its
  // CRLF arrives), with the headers whose values Pistache would parse into typed objects and
  // leadscore never reads (Host, Accept, Content-Type, Cookie, ...) renamed to X-Unread-NAME,
  // as Pistache's parsers throw on malformed values and answer 500 with the exception's text.
  // When it refuses, nothing more is appended (the verdict says what to answer); the screen
  // stays refused.
  ScreenVerdict feed(std::string_view bytes, std::string& passed);
  ScreenVerdict feed(std::string_view bytes) {
    std::string ignored;
    return feed(bytes, ignored);
  }

  bool refused() const { return phase_ == Phase::Refused; }
  // Refuses everything from now on (the connection is being closed).
  void close() { phase_ = Phase::Refused; }
  // True between requests: nothing of a next request has arrived yet.
  bool between_requests() const { return phase_ == Phase::Head && line_.empty() && lines_ == 0; }

 private:
  enum class Phase { Head, Body, Refused };

  ScreenVerdict refuse(domain::ErrorCode code, std::string message);
  ScreenVerdict end_line(std::string& passed);
  ScreenVerdict check_request_line(std::string_view line);
  ScreenVerdict check_header(std::string_view line);
  void start_request();

  ScreenLimits limits_;
  Phase phase_ = Phase::Head;
  std::string line_;            // the current line of the head, without its CRLF
  bool after_cr_ = false;       // the previous byte was a CR
  std::size_t lines_ = 0;       // lines of the head so far (request line included)
  std::size_t head_bytes_ = 0;  // bytes of the head so far
  bool has_length_ = false;
  unsigned long long content_length_ = 0;
  unsigned long long body_left_ = 0;
};

}  // namespace leadscore::api
