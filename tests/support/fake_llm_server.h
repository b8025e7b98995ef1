// A fake LLM server for tests: HTTP/1.1 on 127.0.0.1 (a free port the kernel picks), speaking
// the OpenAI chat-completions API (POST /v1/chat/completions) and the Anthropic messages API
// (POST /v1/messages), each request answered by the next behaviour of a script the test queues
// (good JSON, fenced or chatty JSON, garbage, an answer cut off at max_tokens, an error status
// with or without Retry-After, a hang, a slow trickle, ...), and the default behaviour once the
// queue is empty. Every request is recorded (method, path, headers, body). stop() closes the
// listening socket, so that calls are refused from then on. The servers of one process never
// share a port, one after the other either: the LLM scorer keeps state per upstream (its
// base_url) for as long as its module is loaded, and a test must not meet an earlier test's.
//
// Started and stopped in-process by the tests; the fake_llm_server executable serves the same
// for tests that start a server process (fake_llm_server_main.cpp).
//
// Threading: every member is safe from any thread; each connection is served on its own thread.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace leadscore::testing {

struct FakeLlmBehaviour {
  enum class Kind {
    Answer,     // 200 with the model's answer in the API's shape
    Status,     // `status` with `body` (and Retry-After when set)
    Hang,       // reads the request, waits `delay_ms` (or until stop), closes without answering
    Trickle,    // a 200 answer sent a few bytes at a time over `delay_ms`
    EchoKey,    // 401 whose body repeats the key the request carried (as some APIs do)
    CloseEarly  // closes the connection as soon as the request is read
  };
  Kind kind = Kind::Answer;
  // Answer / Trickle: the verdict the model gives (OpenAI: the message content as JSON text;
  // Anthropic: the forced tool's input), or `text` when no verdict (a text answer).
  std::optional<nlohmann::json> verdict;
  std::string text;
  bool cut_off = false;  // finish_reason "length" / stop_reason "max_tokens"
  int tokens_in = 100;
  int tokens_out = 20;
  // OpenAI: usage.completion_tokens_details.reasoning_tokens (included in tokens_out, as
  // OpenAI counts them); -1: not reported.
  int tokens_reasoning = -1;
  // Status
  int status = 200;
  std::string body;
  std::string retry_after;     // "" for none
  std::string retry_after_ms;  // the retry-after-ms header OpenAI sends; "" for none
  int delay_ms = 0;            // Answer: a wait before answering; Hang, Trickle: see above

  // {"intent": intent, "score": score (null when < 0), "recommendation", "reason"}.
  static FakeLlmBehaviour good(std::string intent = "High", double score = 0.8,
                               std::string recommendation = "transfer_to_sales",
                               std::string reason = "Decision maker at a fitting company.");
  // The model's text as it is (fenced JSON, chatty JSON, garbage).
  static FakeLlmBehaviour answer_text(std::string text);
  // A text cut off at max_tokens.
  static FakeLlmBehaviour cut_off_text(std::string text);
  static FakeLlmBehaviour error_status(int status, std::string retry_after = "",
                                       std::string body = R"({"error":{"message":"fake error"}})");
  static FakeLlmBehaviour hang(int ms);
  static FakeLlmBehaviour trickle(int ms);
  static FakeLlmBehaviour echo_key();
  static FakeLlmBehaviour close_early();

  // The behaviour as JSON ({"kind": "good", ...}), and back, for the executable's control API.
  static std::optional<FakeLlmBehaviour> from_json(const nlohmann::json& json);
};

struct RecordedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  // The header's value, "" when absent (name in lower case).
  std::string header(const std::string& name) const;
  nlohmann::json json() const;  // the body parsed; discarded when it is not JSON
};

class FakeLlmServer {
 public:
  // Listens on 127.0.0.1:port (0: a free port) and serves at once. Throws std::runtime_error
  // when it cannot listen.
  explicit FakeLlmServer(int port = 0);
  ~FakeLlmServer();
  FakeLlmServer(const FakeLlmServer&) = delete;
  FakeLlmServer& operator=(const FakeLlmServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT": Anthropic's base_url; OpenAI's is this + "/v1".
  std::string base_url() const;

  void push(FakeLlmBehaviour behaviour);
  void set_default(FakeLlmBehaviour behaviour);
  std::vector<RecordedRequest> requests() const;
  std::size_t request_count() const;
  void clear_requests();

  // Stops accepting (a connection is refused afterwards) and ends the connections.
  void stop();

 private:
  void accept_loop();
  void serve(int fd);
  FakeLlmBehaviour next();
  bool wait_ms(int ms) const;  // false when stopped meanwhile

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::deque<FakeLlmBehaviour> queue_;
  FakeLlmBehaviour default_;
  std::vector<RecordedRequest> requests_;
  struct Connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Connection> connections_;  // finished ones are joined at the next accept
  std::thread acceptor_;
};

}  // namespace leadscore::testing
