#include "api/server.h"

#include <malloc.h>
#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>
#include <pistache/router.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "api/connection_guard.h"
#include "api/cors.h"
#include "api/http_metrics.h"
#include "api/rate_limiter.h"
#include "api/reactor_reads.h"
#include "api/request_log.h"
#include "api/worker_pool.h"
#include "engine/metrics/metrics.h"

namespace leadscore::api {
namespace {

using namespace Pistache;
using Clock = std::chrono::steady_clock;

// Response headers added with addRaw are never written by Pistache 0.0.5: a typed header.
class RequestIdHeader : public Http::Header::Header {
 public:
  NAME("X-Request-Id")
  RequestIdHeader() = default;
  explicit RequestIdHeader(std::string id) : id_(std::move(id)) {}
  void parse(const std::string& data) override { id_ = data; }
  void write(std::ostream& os) const override { os << id_; }

 private:
  std::string id_;
};

// The client's request id when it sent a valid one, else a new one.
std::string request_id_of(const Http::Request& request) {
  auto given = request.headers().tryGetRaw(RequestIdHeader::Name);
  return given && valid_request_id(given->value()) ? given->value() : next_request_id();
}

// The Cache-Control of an answer that has one (the documentation's pages and files).
class CacheControlHeader : public Http::Header::Header {
 public:
  NAME("Cache-Control")
  CacheControlHeader() = default;
  explicit CacheControlHeader(std::string value) : value_(std::move(value)) {}
  void parse(const std::string& data) override { value_ = data; }
  void write(std::ostream& os) const override { os << value_; }

 private:
  std::string value_;
};

// A Content-Type with parameters (the metrics' `version=0.0.4; charset=utf-8`), written as it
// is: Pistache's parsed media type would write its parameters in an order of its own.
class LiteralContentType : public Http::Header::Header {
 public:
  NAME("Content-Type")
  LiteralContentType() = default;
  explicit LiteralContentType(std::string value) : value_(std::move(value)) {}
  void parse(const std::string& data) override { value_ = data; }
  void write(std::ostream& os) const override { os << value_; }

 private:
  std::string value_;
};

// The client's address: the front door's X-Real-IP (behind it the peer is nginx), else the
// peer's.
std::string client_of(const Http::Request& request) {
  auto real_ip = request.headers().tryGetRaw("X-Real-IP");
  if (real_ip && real_ip->value().size() <= 64) return real_ip->value();
  return request.address().host();
}

// Every 503 says when to try again: the server was busy or stopping, or a lead kept changing.
class RetryAfterHeader : public Http::Header::Header {
 public:
  NAME("Retry-After")
  RetryAfterHeader() = default;
  explicit RetryAfterHeader(int seconds) : seconds_(seconds) {}
  void parse(const std::string& data) override { seconds_ = std::atoi(data.c_str()); }
  void write(std::ostream& os) const override { os << seconds_; }

 private:
  int seconds_ = 1;
};

Http::Method method_of(std::string_view name) {
  if (name == "GET") return Http::Method::Get;
  if (name == "POST") return Http::Method::Post;
  if (name == "PUT") return Http::Method::Put;
  if (name == "PATCH") return Http::Method::Patch;
  if (name == "OPTIONS") return Http::Method::Options;
  return Http::Method::Delete;
}

// Names of the `:param` segments of a route path.
std::vector<std::string> param_names(std::string_view path) {
  std::vector<std::string> names;
  for (std::size_t i = path.find(':'); i != std::string_view::npos; i = path.find(':', i)) {
    std::size_t end = path.find('/', i);
    names.emplace_back(path.substr(i + 1, end == std::string_view::npos ? end : end - i - 1));
    i = end;
  }
  return names;
}

Right right_of(Access access) {
  switch (access) {
    case Access::Read:
      return Right::Read;
    case Access::Manage:
      return Right::Manage;
    case Access::Analyze:
      return Right::Analyze;
    default:
      return Right::Administer;
  }
}

// Pistache's own limit on a whole request: the largest body a route takes, and its head. The
// screen in front of the parser refuses a larger Content-Length at once; routes answer bodies
// between max_body_bytes and this themselves, in JSON.
std::size_t transport_limit(const config::ServerConfig& server) {
  return std::max(server.max_body_bytes, server.max_import_bytes) + (64u << 10);
}

// The Content-Type of an answer, parsed: Pistache writes an unparsed media type as an empty
// Content-Type. JSON, nearly every answer's, is parsed once.
Http::Mime::MediaType media_type(const std::string& content_type) {
  static const Http::Mime::MediaType json("application/json", Http::Mime::MediaType::DoParse);
  if (content_type.empty()) return {};
  if (content_type == "application/json") return json;
  return Http::Mime::MediaType(content_type, Http::Mime::MediaType::DoParse);
}

// An answer Pistache would have to chase through a full socket buffer is not worth closing
// the connection for: Connection: close is honoured by closing at once below this size (the
// client reads the answer, then the end of the stream), above it by the client or the idle
// timeout.
constexpr std::size_t kCloseAfterAnswerBytes = 16 << 10;

// How long a stop lets running requests finish before it cancels their database statements.
constexpr auto kStopGrace = std::chrono::milliseconds(2000);
// How long the reactors get to write the answers queued last before the endpoint shuts down.
constexpr auto kLastAnswersGrace = std::chrono::milliseconds(100);

// Descriptors kept free for the database pool, plugins, logs and the listening socket: past
// (limit - reserve) idle connections are closed, past (limit - reserve / 2) new ones refused.
constexpr int kDescriptorReserve = 128;

// Blocks at least this large get their own mapping, given back to the system when freed.
// glibc's default threshold rises to the largest block freed so far (up to 32 MiB): after one
// large request, later bodies of that size are carved from the worker and reactor threads'
// arenas instead, and what those arenas free at their top stays resident for good (malloc_trim
// does not shrink them either): some 200 MB more after a burst of 30 bad 1-8 MiB requests.
// A fixed threshold also keeps the arenas' trim threshold at its 128 KiB default.
constexpr int kOwnMappingBytes = 256 << 10;

// Raises the open-file limit to its hard limit and returns the limit in force.
int raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > (1u << 30)) return 1 << 30;
  return static_cast<int>(limit.rlim_cur);
}

}  // namespace

struct Server::Impl {
  Services services;
  std::string host;
  std::unique_ptr<Http::Endpoint> endpoint;
  std::shared_ptr<Rest::Router> router = std::make_shared<Rest::Router>();
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<ReactorReads> reactor_reads;  // after the pool: it posts repairs there
  std::unique_ptr<CorsPolicy> cors;
  std::unique_ptr<RateLimiter> rate_limiter;
  std::vector<PreflightRoute> preflights;  // the OPTIONS answer of each path
  std::atomic<bool> stopping{false};
  bool running = false;
  int descriptor_high_water = 1 << 30;

  // The state of one request that moves to a worker thread.
  struct Exchange {
    ApiRequest request;
    Http::ResponseWriter writer;
    Clock::time_point started;
    bool keep_alive = true;
    std::shared_ptr<ClientConnection> connection;  // null only when the client already left
    std::string origin;                            // the Origin header, read when CORS is on
    const std::string* preflight = nullptr;        // a preflight's methods (OPTIONS), else null
    int retry_after_s = 0;                         // Retry-After of a 429
    std::size_t route = 0;                         // the route's index in the route table
  };

  // The route table's paths as templates (`/leads/{id}`), by index: the request log's route.
  std::vector<std::string> route_templates;
  LogFormat log_format = LogFormat::Text;

  void add_route(const RouteSpec& spec) {
    auto names = param_names(spec.path);
    router->addRoute(
        method_of(spec.method), spec.path,
        [this, &spec, names](const Rest::Request request, Http::ResponseWriter writer) {
          handle(spec, names, request, std::move(writer));
          return Rest::Route::Result::Ok;
        });
  }

  void handle(const RouteSpec& spec, const std::vector<std::string>& names,
              const Rest::Request& request, Http::ResponseWriter writer) {
    auto connection = GuardedHandler::connection_of(writer);
    if (connection) connection->in_flight.fetch_add(1);
    auto exchange = std::make_unique<Exchange>(
        Exchange{copy_request(request), std::move(writer), Clock::now(), keep_alive(request),
                 std::move(connection), cors->enabled() ? origin_of(request) : "", nullptr, 0});
    exchange->route = static_cast<std::size_t>(&spec - route_table().data());
    const std::size_t body_limit = spec.body_limit == BodyLimit::Import
                                       ? services.config->server.max_import_bytes
                                       : services.config->server.max_body_bytes;
    if (request.body().size() > body_limit) {
      exchange->keep_alive = false;
      return finish(*exchange, refusal(ErrorCode::PayloadTooLarge,
                                       "the request body is larger than " +
                                           std::to_string(body_limit) + " bytes",
                                       *exchange));
    }
    bool has_id = false;
    for (const auto& name : names) {
      exchange->request.params.emplace_back(name, request.param(":" + name).as<std::string>());
      has_id = has_id || name == "id";
    }

    if (spec.access != Access::Public) {
      // Pistache parses Authorization into its typed header; the value is kept whole.
      auto auth = request.headers().tryGet<Http::Header::Authorization>();
      const std::string authorization = auth ? auth->value() : std::string();
      auto key = bearer_key(authorization);
      auto identity = key ? services.keys->find(*key) : std::nullopt;
      if (!identity) {
        return finish(*exchange, refusal(ErrorCode::Unauthorized,
                                         key ? "the API key is not valid"
                                             : "an Authorization: Bearer <key> header is required",
                                         *exchange));
      }
      if (auto over = rate_limiter->enabled() ? rate_limiter->take(identity->name, identity->role)
                                              : std::nullopt) {
        exchange->retry_after_s = over->retry_after_s;
        return finish(*exchange, rate_limited(*over, *exchange));
      }
      if (!role_allows(identity->role, right_of(spec.access))) {
        return finish(*exchange, refusal(ErrorCode::Forbidden,
                                         "the " + std::string(store::to_string(identity->role)) +
                                             " role may not " + spec.method + " " + spec.path,
                                         *exchange));
      }
      exchange->request.identity = std::move(*identity);
    }

    // Every handler of a route with an `:id` refuses a malformed id before anything else, with
    // this answer: given here, on the reactor, it costs no hand-off to a worker.
    if (spec.placement != Placement::Inline && has_id) {
      if (auto id = parse_id(exchange->request.param("id"), "id"); !id)
        return finish(*exchange, error_reply(id.error(), exchange->request.id));
    }
    if (spec.placement == Placement::Inline) {
      return finish(*exchange, run(spec, services, exchange->request));
    }
    // Not once stopping: requests are then refused as the worker pool refuses them.
    if (spec.placement == Placement::ReactorRead && reactor_reads && !stopping) {
      if (auto lease = reactor_reads->lease()) {
        Services with_lease = services;
        with_lease.leased = &lease->session();
        Reply reply = run(spec, with_lease, exchange->request);
        if (lease->answered(reply)) return finish(*exchange, reply);
      }
    }
    std::shared_ptr<Exchange> shared(std::move(exchange));
    WorkerPool::Task task = [this, &spec, ex = shared]() {
      if (client_gone(*ex))
        return finish(*ex, refusal(ErrorCode::ClientGone, "the client left", *ex));
      if (stopping)
        return finish(*ex, refusal(ErrorCode::Unavailable, "the server is stopping", *ex));
      const auto timeout = std::chrono::milliseconds(services.config->server.request_timeout_ms);
      if (Clock::now() - ex->started > timeout) {
        return finish(
            *ex, refusal(ErrorCode::Unavailable, "the request waited too long in the queue", *ex));
      }
      finish(*ex, run(spec, services, ex->request));
    };
    if (!pool->post(std::move(task)))  // not taken: the queue is full
      finish(*shared,
             refusal(ErrorCode::Unavailable, "the server is overloaded; try again", *shared));
  }

  // A refusal of the HTTP layer, answered through the one error table like any other.
  static Reply refusal(ErrorCode code, std::string message, const Exchange& ex) {
    return error_reply({code, std::move(message), {}, {}}, ex.request.id);
  }

  static Reply rate_limited(const RateLimiter::Refusal& over, const Exchange& ex) {
    return error_reply({ErrorCode::RateLimited, refusal_message(over), {}, {}}, ex.request.id,
                       {{"retry_after_seconds", over.retry_after_s},
                        {"rate_per_s", over.limit.rate_per_s},
                        {"burst", over.limit.burst}});
  }

  // A preflight (OPTIONS) of `route`'s path: 204, with the CORS headers when its origin is
  // allowed. It needs no key: browsers send none with a preflight.
  void answer_preflight(const PreflightRoute& route, const Rest::Request& request,
                        Http::ResponseWriter writer) {
    auto connection = GuardedHandler::connection_of(writer);
    if (connection) connection->in_flight.fetch_add(1);
    Exchange ex{copy_request(request), std::move(writer),  Clock::now(),   keep_alive(request),
                std::move(connection), origin_of(request), &route.methods, 0};
    finish(ex, empty_reply(204));
  }

  static Reply run(const RouteSpec& spec, const Services& services, const ApiRequest& request) {
    const RequestScope scope(request.id);  // every line logged meanwhile carries the id
    try {
      return spec.handler(services, request);
    } catch (const std::exception& e) {
      spdlog::error("request {} {} {} failed: {}", request.id, request.method, request.path,
                    e.what());
    } catch (...) {
      spdlog::error("request {} {} {} failed with an unknown exception", request.id, request.method,
                    request.path);
    }
    return error_reply(domain::Error::internal(""), request.id);
  }

  static bool keep_alive(const Rest::Request& request) {
    auto connection = request.headers().tryGet<Http::Header::Connection>();
    if (connection) return connection->control() != Http::ConnectionControl::Close;
    return request.version() == Http::Version::Http11;
  }

  ApiRequest copy_request(const Rest::Request& request) {
    ApiRequest out;
    out.id = request_id_of(request);
    out.client = client_of(request);
    out.method = Http::methodString(request.method());
    out.path = request.resource();
    const auto& query = request.query();
    for (auto it = query.parameters_begin(); it != query.parameters_end(); ++it)
      out.query.emplace_back(it->first, it->second);
    out.body = request.body();
    return out;
  }

  // A worker does no work for a client that has gone (its answer could reach no one).
  static bool client_gone(Exchange& ex) {
    if (!ex.connection) return true;
    std::lock_guard lock(ex.connection->mutex);
    return ex.connection->gone;
  }

  // Sends the reply and logs the request. The answer is queued only while the connection is
  // there (deliver), with the peer pinned (Pistache 0.0.5 would dereference a dead one), and
  // not once Pistache may have closed the connection by itself.
  void finish(Exchange& ex, const Reply& reply) {
    bool sent = false;
    const auto elapsed = Clock::now() - ex.started;
    // Counted before the answer is queued, so that a client that has its answer finds it in
    // the next scrape; two relaxed atomic adds and a bucket.
    const double seconds = std::chrono::duration<double>(elapsed).count();
    if (metrics::enabled()) http_metrics().count(ex.route, reply.status, seconds);
    // Past either timeout Pistache may close the connection on its own, without a departure
    // the guard sees (408 past the header timeout; the idle timeout once the answer makes the
    // connection idle): its descriptor could be another client's by the time the answer is
    // written. A second of margin covers the reactor's once-a-second check.
    const auto& server = services.config->server;
    const auto answerable =
        std::chrono::milliseconds(std::min(server.header_timeout_ms, server.idle_timeout_ms)) -
        std::chrono::seconds(1);
    if (ex.connection && elapsed < answerable) {
      sent = deliver(*ex.connection, [&] {
        std::shared_ptr<Tcp::Peer> pin;
        try {
          pin = ex.writer.peer();
        } catch (...) {
        }
        if (!pin) return;
        auto& headers = ex.writer.headers();
        headers.remove<Http::Header::Connection>();
        headers.add<Http::Header::Connection>(ex.keep_alive ? Http::ConnectionControl::KeepAlive
                                                            : Http::ConnectionControl::Close);
        headers.add<RequestIdHeader>(ex.request.id);
        if (ex.retry_after_s > 0)
          headers.add<RetryAfterHeader>(ex.retry_after_s);
        else if (reply.status == 503)
          headers.add<RetryAfterHeader>(1);
        if (!reply.cache_control.empty()) headers.add<CacheControlHeader>(reply.cache_control);
        cors->add_headers(ex.origin, ex.preflight, headers);
        const bool literal = reply.content_type.find(';') != std::string::npos;
        if (literal) headers.add<LiteralContentType>(reply.content_type);
        ex.writer.send(static_cast<Http::Code>(reply.status), reply.body,
                       literal ? Http::Mime::MediaType() : media_type(reply.content_type));
        // The client asked to close: the end of the stream follows the answer (the reactor
        // writes what is queued before it closes; see GuardedHandler::onDisconnection).
        if (!ex.keep_alive && reply.body.size() <= kCloseAfterAnswerBytes)
          ::shutdown(pin->fd(), SHUT_RD);
      });
    }
    if (ex.connection) ex.connection->in_flight.fetch_sub(1);
    // Logged once the answer is queued: off its way to the client.
    if (services.config->log.requests)
      log_request(log_format, {ex.request.method, route_templates[ex.route], ex.request.path,
                               reply.status, seconds * 1000, ex.request.id, ex.request.client,
                               ex.request.identity.name, !sent});
  }

  // The answer to a request no route matches: 404, counted and logged under "unmatched".
  void unmatched(const Http::Request& request, Http::ResponseWriter writer) {
    const auto started = Clock::now();
    // Through the one error table (its JSON replaces what is not UTF-8 in the path).
    const std::string id = request_id_of(request);
    const std::string method = Http::methodString(request.method());
    const Reply reply =
        error_reply(Error::not_found("no route for " + method + " " + request.resource()), id);
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (metrics::enabled()) http_metrics().count_unmatched(method, reply.status, seconds);
    writer.headers().add<Http::Header::Connection>(Http::ConnectionControl::KeepAlive);
    writer.headers().add<RequestIdHeader>(id);
    cors->add_headers(cors->enabled() ? origin_of(request) : "", nullptr, writer.headers());
    writer.send(Http::Code::Not_Found, reply.body, MIME(Application, Json));
    if (services.config->log.requests)
      log_request(log_format, {method, "unmatched", request.resource(), reply.status,
                               seconds * 1000, id, client_of(request), "", false});
  }
};

Server::Server(Services services, std::string host) : impl_(std::make_unique<Impl>()) {
  impl_->services = std::move(services);
  impl_->host = std::move(host);
}

Server::~Server() { stop(); }

void Server::start() {
  auto& d = *impl_;
  const auto& cfg = d.services.config->server;
  d.cors = std::make_unique<CorsPolicy>(cfg.cors);
  d.rate_limiter = std::make_unique<RateLimiter>(d.services.config->rate_limit);
  d.log_format = log_format(d.services.config->log);
  d.route_templates.clear();
  for (const auto& spec : route_table()) {
    d.add_route(spec);
    d.route_templates.push_back(route_template(spec.path));
  }
  d.preflights = preflight_routes(route_table());
  for (const auto& route : d.preflights)
    d.router->options(route.path,
                      [&d, &route](const Rest::Request request, Http::ResponseWriter writer) {
                        d.answer_preflight(route, request, std::move(writer));
                        return Rest::Route::Result::Ok;
                      });
  d.router->addNotFoundHandler([&d](const Rest::Request request, Http::ResponseWriter writer) {
    d.unmatched(request, std::move(writer));
    return Rest::Route::Result::Ok;
  });
  d.pool = std::make_unique<WorkerPool>(cfg.workers, cfg.queue_limit);
  if (metrics::enabled()) d.pool->report_depth(queue_depth("workers"));
  if (d.services.db)
    d.reactor_reads =
        std::make_unique<ReactorReads>(d.services.config->database.url, cfg.threads, *d.pool);
  d.stopping = false;
  mallopt(M_MMAP_THRESHOLD, kOwnMappingBytes);
  const int descriptors = raise_descriptor_limit();
  d.descriptor_high_water = std::max(descriptors - kDescriptorReserve, descriptors / 2);
  d.endpoint =
      std::make_unique<Http::Endpoint>(Address(d.host, Port(static_cast<std::uint16_t>(cfg.port))));
  auto options = Http::Endpoint::options()
                     .threads(cfg.threads)
                     .maxRequestSize(transport_limit(cfg))
                     .headerTimeout(std::chrono::milliseconds(cfg.header_timeout_ms))
                     .bodyTimeout(std::chrono::milliseconds(cfg.header_timeout_ms))
                     .keepaliveTimeout(std::chrono::milliseconds(cfg.idle_timeout_ms))
                     .flags(Tcp::Options::ReuseAddr);
  d.endpoint->init(options);
  GuardOptions guard;
  guard.screen.body_bytes = std::max(cfg.max_body_bytes, cfg.max_import_bytes);
  guard.evict_at = d.descriptor_high_water;
  guard.refuse_at = d.descriptor_high_water + kDescriptorReserve / 2;
  d.endpoint->setHandler(std::make_shared<GuardedHandler>(d.router, guard));
  d.endpoint->serveThreaded();
  d.running = true;
}

void Server::stop() {
  auto& d = *impl_;
  if (!d.running) return;
  d.running = false;
  // What is queued is answered 503 at once rather than worked through; what is running gets
  // a moment to finish, then its database statements are cancelled (they answer 503), so a
  // stop never waits on a long import or a held lock.
  d.stopping = true;
  std::mutex mutex;
  std::condition_variable drained;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    if (drained.wait_for(lock, kStopGrace, [&] { return done; })) return;
    spdlog::warn("stopping: cancelling the database statements still running");
    while (!drained.wait_for(lock, std::chrono::milliseconds(200), [&] { return done; }))
      if (d.services.db) d.services.db->cancel_running();
  });
  d.pool->stop();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  drained.notify_all();
  watchdog.join();
  // The last answers are queued; the reactors write them before the endpoint goes.
  std::this_thread::sleep_for(kLastAnswersGrace);
  d.endpoint->shutdown();
  d.reactor_reads.reset();  // the reactors have stopped
}

std::uint16_t Server::port() const {
  return static_cast<std::uint16_t>(impl_->endpoint->getPort());
}

}  // namespace leadscore::api
