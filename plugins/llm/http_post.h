// One HTTP POST through libcurl for the LLM scorer: JSON body, given headers, a total timeout,
// no retries of its own (the scorer owns the retries), no signals, the answer body kept up to a
// limit, the Retry-After and retry-after-ms headers read. One HttpPost per thread: it keeps its
// connection alive between calls.
//
// Threading: an HttpPost is used by one thread at a time. curl_global_init must have run
// (CurlGlobal) before the first one is made.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace leadscore::llm {

// curl_global_init / curl_global_cleanup for the lifetime of an owner (reference counted by
// libcurl). Make and drop only where the ABI guarantees one thread (create() / destroy()).
class CurlGlobal {
 public:
  CurlGlobal();
  ~CurlGlobal();
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

struct HttpReply {
  enum class Failure { None, Timeout, Connection, Other };
  Failure failure = Failure::None;
  std::string failure_text;  // libcurl's message when failure != None
  long status = 0;           // the HTTP status when failure == None
  std::string body;          // at most kMaxBodyBytes
  std::optional<std::string> retry_after;
  std::optional<std::string> retry_after_ms;  // OpenAI's, beside Retry-After
};

class HttpPost {
 public:
  static constexpr std::size_t kMaxBodyBytes = 1 << 20;

  HttpPost();
  ~HttpPost();
  HttpPost(const HttpPost&) = delete;
  HttpPost& operator=(const HttpPost&) = delete;

  HttpReply post(const std::string& url, const std::vector<std::string>& headers,
                 const std::string& body, std::chrono::milliseconds timeout);

 private:
  void* curl_;  // CURL*
};

}  // namespace leadscore::llm
