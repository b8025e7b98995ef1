// Cross-origin requests from browsers (server.cors): which web origins may call the API, and
// the headers that tell a browser so. Nothing is allowed by default.
//
// Every path of the route table answers a preflight (OPTIONS) with 204 and `Allow`; when the
// request's Origin is allowed, also Access-Control-Allow-Origin, -Allow-Methods (the path's
// methods), -Allow-Headers (server.cors.allowed_headers) and -Max-Age. Every other answer of a
// route (errors included) carries Access-Control-Allow-Origin and -Expose-Headers for an
// allowed origin. With CORS on, every answer carries `Vary: Origin`, since it depends on it.
// An origin not allowed gets no CORS header: the browser then refuses the answer to the page.
//
// Threading: a CorsPolicy is immutable once built; add_headers() is safe from any thread.
#pragma once

#include <pistache/http.h>

#include <string>
#include <string_view>
#include <vector>

#include "api/routes.h"
#include "engine/config/app_config.h"

namespace leadscore::api {

// One path of the route table and the methods it takes ("GET, PATCH, OPTIONS").
struct PreflightRoute {
  std::string path;  // Pistache syntax: /leads/:id
  std::string methods;
};

// The paths of `table`, each once, in table order, with their methods.
std::vector<PreflightRoute> preflight_routes(const std::vector<RouteSpec>& table);

class CorsPolicy {
 public:
  explicit CorsPolicy(const config::CorsConfig& config);

  bool enabled() const { return !origins_.empty() || any_origin_; }

  // Adds the headers of an answer to a request from `origin` ("" when it sent none):
  // `preflight_methods` is the path's methods for a preflight's answer, else null.
  void add_headers(std::string_view origin, const std::string* preflight_methods,
                   Pistache::Http::Header::Collection& headers) const;

 private:
  bool allowed(std::string_view origin) const;

  std::vector<std::string> origins_;
  bool any_origin_ = false;
  std::string allowed_headers_;  // joined with ", "
  std::string max_age_;
};

// The request's Origin header ("" without one).
std::string origin_of(const Pistache::Http::Request& request);

}  // namespace leadscore::api
