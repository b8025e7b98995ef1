// `leadscore serve` as a separate process for tests that need the real binary: signals, open
// file limits, the front door (nginx, started through scripts/front_door.sh as `make run`
// does). Each instance takes a fresh database on the shared throwaway cluster.
//
//   ServedLeadscore served({.front_door = true});
//   raw_request(served.front_port(), "GET /health HTTP/1.1\r\n...");
//
// Threading: construct, terminate() and destroy on one thread; the accessors from any.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace leadscore::testing {

class ServedLeadscore {
 public:
  struct Options {
    bool front_door = false;
    std::optional<long> open_files;          // RLIMIT_NOFILE, soft and hard, of the server
    std::map<std::string, std::string> env;  // more environment (e.g. LEADSCORE_CONFIG)
    // The database to serve (another server's): several servers on one database. Default: a
    // fresh database on the shared cluster.
    std::optional<std::string> database_url;
  };

  // Starts the server and waits until /health answers (and the front door, if asked for);
  // throws std::runtime_error with the server's log when it cannot.
  explicit ServedLeadscore(Options options);
  ~ServedLeadscore();  // terminates the server and the front door
  ServedLeadscore(const ServedLeadscore&) = delete;
  ServedLeadscore& operator=(const ServedLeadscore&) = delete;

  int port() const { return port_; }              // leadscore's own (loopback)
  int front_port() const { return front_port_; }  // nginx's, 0 without a front door
  pid_t pid() const { return pid_; }
  const std::string& admin_key() const { return admin_key_; }
  const std::string& database_url() const { return database_url_; }
  std::string log() const;  // what the server wrote so far

  // Sends SIGTERM and waits up to `limit` for the server to exit: its exit status (or -1
  // when it had to be killed) and how long it took.
  std::pair<int, std::chrono::milliseconds> terminate(std::chrono::milliseconds limit);
  // Kills the server with SIGKILL at once (no clean stop) and reaps it.
  void kill_now();

 private:
  void stop_front_door();

  std::string directory_;
  std::string database_url_;
  std::string admin_key_ = "lsk_served_admin";
  int port_ = 0;
  int front_port_ = 0;
  pid_t pid_ = -1;
};

// A new TCP connection to 127.0.0.1:port whose sends and receives give up after `timeout`
// (0: never); -1 when it cannot connect. The caller closes it.
int connect_loopback(int port, std::chrono::milliseconds send_timeout,
                     std::chrono::milliseconds receive_timeout);
// Sends all of `data`; false when the peer stopped taking it (closed, reset, stalled).
bool send_all(int fd, std::string_view data);

// One HTTP/1.1 exchange on a new connection: sends `request` as it is, reads until the
// answer's Content-Length is complete, the peer closes, or `timeout` passes. The raw answer.
std::string raw_exchange(int port, const std::string& request,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The status of a raw answer (0 when it is not one), and its body.
int status_of(const std::string& answer);
std::string body_of(const std::string& answer);

}  // namespace leadscore::testing
