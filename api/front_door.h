// The front door: the nginx configuration leadscore is served through (`leadscore
// front-door`, used by `make run` and the tests), derived from the server's own settings so
// that the two agree on body limits and timeouts.
//
// Why a front door: the HTTP library under leadscore (Pistache 0.0.5) queues answers by socket
// descriptor number, so under a flood of clients that close early an answer could reach the
// next connection that took the number. nginx keeps its upstream connections open while an
// answer is in flight (proxy_ignore_client_abort) and reuses them (keepalive), so a client
// that leaves never closes a connection leadscore is answering. It also bounds the request
// line, headers and body, and times out slow clients, before leadscore sees any of it.
//
// Threading: a pure function.
#pragma once

#include <string>

#include "engine/config/app_config.h"

namespace leadscore::api {

struct FrontDoorSite {
  std::string listen = "127.0.0.1:8000";    // where clients connect (nginx `listen`)
  std::string upstream = "127.0.0.1:8001";  // where leadscore listens (loopback)
  std::string dir;   // the pid file, error log and temporary files of this nginx
  std::string user;  // worker user when started as root (empty: nginx's default)
};

// A complete nginx.conf for a foreground nginx (`nginx -c FILE`), with error answers in
// leadscore's JSON error shape.
std::string front_door_config(const config::ServerConfig& server, const FrontDoorSite& site);

}  // namespace leadscore::api
