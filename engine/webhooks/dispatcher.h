// The webhook dispatchers of one server: threads that claim due deliveries from the outbox
// (store::Session::claim_webhook_deliveries), POST each to its webhook with libcurl, signed
// (signature.h), and record the attempt with what the delivery policy decides
// (delivery_policy.h). They never run on a request's path: a change only writes its event into
// the outbox, in its own transaction, and the dispatchers of any server on the database send it
// later, at least once, in order per lead and webhook.
//
// The request: POST <url> with the JSON body {"id", "type", "created_at", "data"} and the headers
// X-Leadscore-Event (the type), X-Leadscore-Delivery (the delivery's id), X-Leadscore-Timestamp
// (Unix seconds) and X-Leadscore-Signature. A 2xx answer delivers it; any other answer, a
// timeout or a connection error is an attempt failed.
//
// Threading: start() and stop() from one thread; the dispatchers run on threads of their own,
// each with its own libcurl handle and connection lease.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/config/app_config.h"
#include "engine/store/store.h"
#include "engine/webhooks/delivery_policy.h"

namespace leadscore::webhooks {

// The JSON body of a delivery of `event`: {"id", "type", "created_at", "data"}. The same for
// every attempt of it.
std::string delivery_body(const store::ClaimedDelivery& event);

// Which webhooks of `config` subscribe to each event type.
store::WebhookSubscriptions subscriptions_of(const config::WebhooksConfig& config);

class Dispatcher {
 public:
  // `name` names this server in claims and attempts ("" for host:pid:random).
  Dispatcher(store::Database& db, config::WebhooksConfig config, std::string name = "",
             std::function<void(const std::string&)> warn = {});
  ~Dispatcher();  // stops
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Starts config.dispatchers threads (none when no webhook is configured).
  void start();
  // Cuts the attempts in flight short (recorded as interrupted, due again at once), gives the
  // claims back and joins the threads.
  void stop();
  const std::string& name() const { return name_; }

 private:
  void run(int index);
  // Sends one claimed delivery and records the attempt.
  void deliver(store::Session& session, void* curl, const store::ClaimedDelivery& delivery,
               double jitter);
  bool sleep_for(std::chrono::milliseconds wait);  // false once stopping

  store::Database& db_;
  config::WebhooksConfig config_;
  DeliveryPolicy policy_;
  std::string name_;
  std::vector<std::string> webhooks_;  // the names this server delivers to
  std::function<void(const std::string&)> warn_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::thread> threads_;
};

}  // namespace leadscore::webhooks
