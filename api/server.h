// The HTTP server: Pistache endpoint, the route table, authentication from the key cache,
// request ids, one log line per request, and the worker pool that runs database and
// scoring work off the reactor threads.
//
// Threading: construct, start() and stop() from one thread. stop() drains the worker pool
// before shutting the endpoint down (queued replies hold the endpoint's transport).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "api/routes.h"

namespace leadscore::api {

class Server {
 public:
  Server(Services services, std::string host);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds (port 0 picks a free port) and serves on background threads.
  void start();
  void stop();
  std::uint16_t port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace leadscore::api
