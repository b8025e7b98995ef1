// A webhook receiver for tests: HTTP/1.1 on 127.0.0.1:port, recording every request it reads
// whole (headers and body) and answering each with the status it is set to, or never (hang).
// It can be down (not listening: connections are refused) and come up again on the same port,
// as a receiver being restarted does.
//
// Threading: every member is safe from any thread; each connection is served on its own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace leadscore::testing {

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  int answered = 0;  // the status answered; 0 when the receiver hung up without answering

  std::string header(const std::string& name) const;
};

class WebhookReceiver {
 public:
  enum class Mode { Answer, Hang };

  explicit WebhookReceiver(int port);  // down until up()
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/hook") const;

  // Listens (retrying a clash for a few seconds) and answers as `mode` says; throws
  // std::runtime_error when it cannot listen.
  void up(Mode mode = Mode::Answer);
  // Stops listening and ends every connection.
  void down();
  void set_status(int status);
  void set_mode(Mode mode);

  std::vector<ReceivedRequest> requests() const;
  // The requests answered with a 2xx.
  std::vector<ReceivedRequest> accepted() const;

 private:
  void accept_loop(int listen_fd);
  void serve(int fd);

  const int port_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int listen_fd_ = -1;
  bool listening_ = false;
  Mode mode_ = Mode::Answer;
  int status_ = 200;
  std::vector<ReceivedRequest> requests_;
  std::set<int> connections_;
  std::thread acceptor_;
  std::vector<std::thread> servers_;
};

}  // namespace leadscore::testing
