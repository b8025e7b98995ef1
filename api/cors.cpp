#include "api/cors.h"

#include <algorithm>
#include <memory>

namespace leadscore::api {
namespace {

using namespace Pistache;

// A response header with a fixed name and a text value. Pistache 0.0.5 never writes headers
// added with addRaw, and has no typed class for Vary or Access-Control-Max-Age.
class TextHeader : public Http::Header::Header {
 public:
  TextHeader(const char* name, std::string value) : name_(name), value_(std::move(value)) {}
  const char* name() const override { return name_; }
  std::uint64_t hash() const override { return Http::Header::detail::hash(name_); }
  void write(std::ostream& os) const override { os << value_; }

 private:
  const char* name_;
  std::string value_;
};

void add(Http::Header::Collection& headers, const char* name, std::string value) {
  headers.remove(name);
  headers.add(std::make_shared<TextHeader>(name, std::move(value)));
}

// Response headers a page may read beside the safelisted ones.
constexpr const char* kExposedHeaders = "X-Request-Id, Retry-After";

}  // namespace

std::vector<PreflightRoute> preflight_routes(const std::vector<RouteSpec>& table) {
  std::vector<PreflightRoute> routes;
  for (const auto& spec : table) {
    auto it = std::ranges::find(routes, std::string_view(spec.path), &PreflightRoute::path);
    if (it == routes.end()) {
      routes.push_back({spec.path, ""});
      it = std::prev(routes.end());
    }
    it->methods.append(spec.method).append(", ");
  }
  for (auto& route : routes) route.methods += "OPTIONS";
  return routes;
}

CorsPolicy::CorsPolicy(const config::CorsConfig& config)
    : max_age_(std::to_string(config.max_age_s)) {
  for (const auto& origin : config.allowed_origins) {
    if (origin == "*")
      any_origin_ = true;
    else
      origins_.push_back(origin);
  }
  for (const auto& header : config.allowed_headers)
    allowed_headers_.append(allowed_headers_.empty() ? "" : ", ").append(header);
}

bool CorsPolicy::allowed(std::string_view origin) const {
  if (origin.empty()) return false;
  return any_origin_ || std::ranges::find(origins_, origin) != origins_.end();
}

void CorsPolicy::add_headers(std::string_view origin, const std::string* preflight_methods,
                             Http::Header::Collection& headers) const {
  if (preflight_methods) add(headers, "Allow", *preflight_methods);
  if (!enabled()) return;
  add(headers, "Vary", "Origin");
  if (!allowed(origin)) return;
  add(headers, "Access-Control-Allow-Origin", any_origin_ ? "*" : std::string(origin));
  if (preflight_methods) {
    add(headers, "Access-Control-Allow-Methods", *preflight_methods);
    if (!allowed_headers_.empty()) add(headers, "Access-Control-Allow-Headers", allowed_headers_);
    add(headers, "Access-Control-Max-Age", max_age_);
  } else {
    add(headers, "Access-Control-Expose-Headers", kExposedHeaders);
  }
}

std::string origin_of(const Http::Request& request) {
  auto origin = request.headers().tryGetRaw("Origin");
  return origin ? origin->value() : std::string();
}

}  // namespace leadscore::api
