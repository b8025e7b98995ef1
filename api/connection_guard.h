// The HTTP handler in front of the router, and what it knows of each client connection.
//
// Pistache 0.0.5 queues an answer by socket descriptor number and writes it to whichever
// connection holds that number when its reactor gets to it. A client that leaves while its
// answer is being prepared frees the number, the next connection takes it, and the answer
// goes to a stranger. The guard closes that gap from inside the server:
//  - a worker never starts work for a connection that is gone, and never queues an answer
//    for it: `deliver` checks and queues under the connection's lock;
//  - when a client leaves, the reactor takes that lock, marks the connection gone, and drains
//    the write queue before Pistache closes the descriptor, so an answer queued just before
//    is written to the connection it belongs to (or dropped with it), never to the next one.
// The front door (nginx, see deploy/) keeps upstream connections open while an answer is in
// flight, so behind it a client leaving never closes a connection to leadscore at all.
//
// It also screens request framing before Pistache's parser sees it (request_screen.h),
// refusing at once what the parser would answer with an exception text or never answer, and
// protects the descriptor table: past a high-water mark it closes the connections idle
// longest (kept alive between requests, silent since they connected, or lingering after a
// refusal), and refuses new ones with 503 when none can be closed.
//
// Threading: the handler's methods run on the reactor thread that owns the connection (each
// reactor has its own clone). A ClientConnection is shared with the worker that answers it;
// its fields say which thread may touch them.
#pragma once

#include <pistache/http.h>
#include <pistache/router.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>

#include "api/request_screen.h"

namespace leadscore::api {

struct ClientConnection {
  explicit ClientConnection(ScreenLimits limits) : screen(limits) {}

  // Guards `gone` and every queuing of an answer (see deliver).
  std::mutex mutex;
  bool gone = false;
  // Requests of this connection taken by a route and not yet answered (any thread).
  std::atomic<int> in_flight{0};
  // When its last request arrived or its last answer was queued (steady clock, any thread).
  std::atomic<std::chrono::steady_clock::rep> last_active{0};
  RequestScreen screen;       // reactor thread only
  std::size_t discarded = 0;  // bytes dropped after a refusal (reactor thread only)

  void touch() { last_active = std::chrono::steady_clock::now().time_since_epoch().count(); }
};

struct GuardOptions {
  ScreenLimits screen;
  // Descriptor numbers at or above this make the reactor close idle connections first;
  // with nothing idle to close, new connections are refused (503) at `refuse_at`.
  int evict_at = 1 << 30;
  int refuse_at = 1 << 30;
};

// Queues `send` (which calls ResponseWriter::send) unless the connection is gone; holds the
// connection's lock while it does, so the reactor cannot close the descriptor in between.
// False when the client has gone and nothing was sent. Any thread.
bool deliver(ClientConnection& connection, const std::function<void()>& send);

class GuardedHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(GuardedHandler)

  GuardedHandler(std::shared_ptr<Pistache::Rest::Router> router, GuardOptions options);
  GuardedHandler(const GuardedHandler& other);  // a clone per reactor: its own parser handler
  ~GuardedHandler() override;

  // The connection a writer answers; null if the client has already gone. Reactor thread.
  static std::shared_ptr<ClientConnection> connection_of(const Pistache::Http::ResponseWriter& w);

  void onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onInput(const char* buffer, size_t len,
               const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onDisconnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter response) override;

  struct Parser;  // Pistache's own request parsing, bound to this reactor's transport

 private:
  void bind_parser();
  void refuse(const std::shared_ptr<Pistache::Tcp::Peer>& peer, const ScreenVerdict& verdict);
  void evict_idle(const std::shared_ptr<Pistache::Tcp::Peer>& newcomer);

  std::shared_ptr<Pistache::Rest::Router> router_;
  GuardOptions options_;
  std::shared_ptr<Parser> parser_;
  bool parser_bound_ = false;
};

}  // namespace leadscore::api
