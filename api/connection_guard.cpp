#include "api/connection_guard.h"

#include <pistache/peer.h>
#include <pistache/transport.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/exchange.h"

namespace leadscore::api {
namespace {

using namespace Pistache;

// Pistache takes the key as a std::string by value on every lookup (three per request): short
// enough for the string's inline buffer, so a lookup allocates nothing.
constexpr const char* kConnectionKey = "ls.connection";
// After a refusal the rest of what the client sends is read and dropped, so that the answer
// is not lost to a reset; past this much the connection is closed outright.
constexpr std::size_t kDiscardLimit = 1 << 20;
// The most of a reactor's input buffer kept between packets.
constexpr std::size_t kKeptInputBytes = 64 << 10;

// Pistache gives a handler its transport through a private member that only the transport
// sets. The parser below must write through this reactor's transport too; an explicit
// template instantiation may name a private member ([temp.spec.general]), which is the one
// standard way to reach it.
using TransportMember = Tcp::Transport* Tcp::Handler::*;
TransportMember transport_member();
template <TransportMember Member>
struct TransportAccess {
  friend TransportMember transport_member() { return Member; }
};
template struct TransportAccess<&Tcp::Handler::transport_>;

// The transport's write of what it holds for one descriptor, private too (and not virtual, so
// a member pointer calls exactly it). A departure writes what is pending for the connection
// before the descriptor is closed.
using WriteMember = void (Tcp::Transport::*)(Fd);
WriteMember write_member();
template <WriteMember Member>
struct WriteAccess {
  friend WriteMember write_member() { return Member; }
};
template struct WriteAccess<&Tcp::Transport::asyncWriteImpl>;

std::shared_ptr<ClientConnection> connection_of_peer(const std::shared_ptr<Tcp::Peer>& peer) {
  if (!peer) return nullptr;
  return std::static_pointer_cast<ClientConnection>(peer->tryGetData(kConnectionKey));
}

// Writes a refusal straight to the socket, then half-closes it. Reactor thread only: the
// descriptor belongs to this connection while its reactor runs. The answer comes from the one
// error table, as every error answer does.
void answer_and_close(int fd, domain::ErrorCode code, const std::string& message) {
  const std::string id = next_request_id();
  const Reply reply = error_reply({code, message, {}, {}}, id, {{"request_id", id}});
  std::string out =
      "HTTP/1.1 " + std::to_string(reply.status) + " " +
      Http::codeString(static_cast<Http::Code>(reply.status)) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(reply.body.size()) +
      "\r\nConnection: close\r\nX-Request-Id: " + id +
      (reply.status == 503 ? "\r\nRetry-After: 1" : "") + "\r\n\r\n" + reply.body;
  // Small enough for an empty socket buffer; a client that reads nothing loses only itself.
  (void)::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(fd, SHUT_WR);
  spdlog::info("refused a request on connection {}: {} {}", fd, reply.status, message);
}

}  // namespace

// Pistache's own handling of a connection's bytes (the parser and the timeouts), bound to the
// reactor's transport; each request it completes goes to the router.
struct GuardedHandler::Parser : Http::Handler {
  HTTP_PROTOTYPE(Parser)
  explicit Parser(std::shared_ptr<Rest::Router> r) : router(std::move(r)) {}
  void onRequest(const Http::Request& request, Http::ResponseWriter response) override {
    if (auto connection = GuardedHandler::connection_of(response)) connection->touch();
    router->route(request, std::move(response));
  }
  std::shared_ptr<Rest::Router> router;
};

bool deliver(ClientConnection& connection, const std::function<void()>& send) {
  std::lock_guard lock(connection.mutex);
  connection.touch();
  if (connection.gone) return false;
  send();
  return true;
}

GuardedHandler::GuardedHandler(std::shared_ptr<Rest::Router> router, GuardOptions options)
    : router_(std::move(router)), options_(options), parser_(std::make_shared<Parser>(router_)) {}

GuardedHandler::GuardedHandler(const GuardedHandler& other)
    : Http::Handler(other),
      router_(other.router_),
      options_(other.options_),
      parser_(std::make_shared<Parser>(router_)) {}

GuardedHandler::~GuardedHandler() = default;

std::shared_ptr<ClientConnection> GuardedHandler::connection_of(const Http::ResponseWriter& w) {
  return connection_of_peer(w.getPeer());
}

void GuardedHandler::bind_parser() {
  if (parser_bound_) return;
  // The endpoint configured this handler (limits, timeouts); the parser works with the same.
  parser_->setMaxRequestSize(getMaxRequestSize());
  parser_->setMaxResponseSize(getMaxResponseSize());
  parser_->setHeaderTimeout(getHeaderTimeout());
  parser_->setBodyTimeout(getBodyTimeout());
  static_cast<Tcp::Handler&>(*parser_).*transport_member() = transport();
  parser_bound_ = true;
}

void GuardedHandler::onConnection(const std::shared_ptr<Tcp::Peer>& peer) {
  bind_parser();
  auto connection = std::make_shared<ClientConnection>(options_.screen);
  connection->touch();
  peer->putData(kConnectionKey, connection);
  // Called through the base class, where it is public: Pistache sets up its parser.
  static_cast<Tcp::Handler&>(*parser_).onConnection(peer);
  if (peer->fd() >= options_.evict_at) evict_idle(peer);
}

void GuardedHandler::evict_idle(const std::shared_ptr<Tcp::Peer>& newcomer) {
  // Idle: nothing in flight, and kept alive between requests or refused (answered, the end
  // of the stream sent, and lingering only so that the answer is not lost to a reset: a
  // client that sends a bad request and then sits on the connection must not hold a
  // descriptor the guard cannot take back). The longest idle go first.
  std::vector<std::pair<std::chrono::steady_clock::rep, std::shared_ptr<Tcp::Peer>>> idle;
  for (auto& peer : transport()->getAllPeer()) {
    if (peer == newcomer) continue;
    auto c = connection_of_peer(peer);
    if (!c || c->in_flight.load() > 0) continue;
    if (c->screen.between_requests() || c->screen.refused())
      idle.emplace_back(c->last_active.load(), peer);
  }
  std::sort(idle.begin(), idle.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  const std::size_t closing =
      std::min<std::size_t>(idle.size(), std::max<std::size_t>(8, idle.size() / 8));
  for (std::size_t i = 0; i < closing; ++i) {
    // Pistache sees the end of the stream and closes it as a departure of the client.
    ::shutdown(idle[i].second->fd(), SHUT_RDWR);
  }
  if (closing > 0) {
    spdlog::warn("descriptor {} past the high-water mark {}: closed {} idle connections",
                 newcomer->fd(), options_.evict_at, closing);
    return;
  }
  if (newcomer->fd() >= options_.refuse_at) {
    auto c = connection_of_peer(newcomer);
    if (c) c->screen.close();  // drops whatever it sends
    answer_and_close(newcomer->fd(), domain::ErrorCode::Unavailable,
                     "the server has too many open connections; try again");
    ::shutdown(newcomer->fd(), SHUT_RD);
  }
}

void GuardedHandler::onInput(const char* buffer, size_t len,
                             const std::shared_ptr<Tcp::Peer>& peer) {
  auto connection = connection_of_peer(peer);
  if (!connection) return;
  if (connection->screen.refused()) {
    connection->discarded += len;
    if (connection->discarded > kDiscardLimit) ::shutdown(peer->fd(), SHUT_RD);
    return;
  }
  // What the screen passes on, in a buffer the reactor thread reuses (it keeps its capacity).
  thread_local std::string passed;
  passed.clear();
  const auto verdict = connection->screen.feed(std::string_view(buffer, len), passed);
  if (verdict.refused()) return refuse(peer, verdict);
  connection->touch();
  if (!passed.empty())
    static_cast<Tcp::Handler&>(*parser_).onInput(passed.data(), passed.size(), peer);
  // A large body's buffer is given back rather than kept for good.
  if (passed.capacity() > kKeptInputBytes) std::string().swap(passed);
}

void GuardedHandler::refuse(const std::shared_ptr<Tcp::Peer>& peer, const ScreenVerdict& verdict) {
  answer_and_close(peer->fd(), verdict.error, verdict.message);
}

void GuardedHandler::onDisconnection(const std::shared_ptr<Tcp::Peer>& peer) {
  if (auto connection = connection_of_peer(peer)) {
    std::lock_guard lock(connection->mutex);
    connection->gone = true;
  }
  // Answers queued before the mark are written now, while the descriptor is still this
  // connection's (those still in the queue, and those the reactor has taken from it but not
  // yet written); none is queued after it.
  transport()->flush();
  (transport()->*write_member())(peer->fd());
}

void GuardedHandler::onRequest(const Http::Request&, Http::ResponseWriter) {
  // Requests are parsed and routed by the parser handler (onInput hands it the bytes).
}

}  // namespace leadscore::api
