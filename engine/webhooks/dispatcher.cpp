#include "engine/webhooks/dispatcher.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "engine/metrics/metrics.h"
#include "engine/webhooks/signature.h"

namespace leadscore::webhooks {
namespace {

using std::chrono::milliseconds;

std::string default_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device random;
  return std::string(host) + ":" + std::to_string(getpid()) + ":" +
         std::to_string(random() % 100000);
}

// libcurl's global state, set up once before the first handle (the LLM plugin may have done it
// too: the calls are counted).
void init_curl_once() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

std::size_t discard_body(char*, std::size_t size, std::size_t count, void*) { return size * count; }

// Stops a transfer once the server is stopping.
int on_progress(void* stopping, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(stopping)->load() ? 1 : 0;
}

// A claim is held for one attempt at most: once the attempt's timeout is past, and a little
// more for recording it, the claim belongs to a dispatcher that went away.
milliseconds lease_of(const config::WebhooksConfig& config) {
  return milliseconds(config.timeout_ms) + milliseconds(5000);
}

}  // namespace

std::string delivery_body(const store::ClaimedDelivery& event) {
  const nlohmann::json body{{"id", event.event_id},
                            {"type", domain::to_string(event.event_type)},
                            {"created_at", event.event_created_at},
                            {"data", nlohmann::json::parse(event.data)}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

store::WebhookSubscriptions subscriptions_of(const config::WebhooksConfig& config) {
  store::WebhookSubscriptions subscriptions;
  for (const config::WebhookConfig& hook : config.endpoints)
    for (domain::EventType type : hook.events) subscriptions.of(type).push_back(hook.name);
  return subscriptions;
}

Dispatcher::Dispatcher(store::Database& db, config::WebhooksConfig config, std::string name,
                       std::function<void(const std::string&)> warn)
    : db_(db),
      config_(std::move(config)),
      policy_{milliseconds(config_.backoff_start_ms), milliseconds(config_.backoff_max_ms),
              milliseconds(config_.give_up_after_ms)},
      name_(name.empty() ? default_name() : std::move(name)),
      warn_(std::move(warn)) {
  for (const config::WebhookConfig& hook : config_.endpoints) webhooks_.push_back(hook.name);
}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() {
  if (webhooks_.empty() || !threads_.empty()) return;
  init_curl_once();
  stopping_ = false;
  for (int i = 0; i < std::max(1, config_.dispatchers); ++i)
    threads_.emplace_back([this, i] { run(i); });
}

void Dispatcher::stop() {
  if (threads_.empty()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  // Anything still claimed (an attempt whose outcome could not be recorded) is due again now,
  // for another server, instead of when its lease runs out.
  if (auto session = db_.session(std::chrono::seconds(2)))
    if (auto released = session->release_webhook_deliveries(name_); !released && warn_)
      warn_("webhooks: cannot give back the claims of " + name_ + ": " + released.error().message);
}

bool Dispatcher::sleep_for(milliseconds wait) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, wait, [this] { return stopping_.load(); });
}

void Dispatcher::run(int index) {
  std::mt19937_64 random(std::random_device{}() + static_cast<unsigned>(index));
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  CURL* curl = curl_easy_init();
  const milliseconds poll(config_.poll_ms);
  while (!stopping_ && curl != nullptr) {
    bool idle = true;
    if (auto session = db_.session(std::chrono::seconds(2))) {
      auto claimed = session->claim_webhook_deliveries(webhooks_, name_, 1, lease_of(config_));
      if (!claimed) {
        if (warn_) warn_("webhooks: cannot claim deliveries: " + claimed.error().message);
      } else {
        for (const store::ClaimedDelivery& delivery : *claimed)
          deliver(*session, curl, delivery, jitter(random));
        idle = claimed->empty();
      }
    } else if (warn_) {
      warn_("webhooks: " + session.error().message);
    }
    if (idle && !sleep_for(poll)) break;
  }
  if (curl != nullptr) curl_easy_cleanup(curl);
}

void Dispatcher::deliver(store::Session& session, void* handle, const store::ClaimedDelivery& d,
                         double jitter) {
  auto* curl = static_cast<CURL*>(handle);
  const auto hook = std::ranges::find(config_.endpoints, d.webhook, &config::WebhookConfig::name);
  if (hook == config_.endpoints.end()) return;  // never claimed: only known names are
  AttemptResult attempt;
  std::string body;
  try {
    body = delivery_body(d);
  } catch (const std::exception& e) {  // corrupt data in the outbox: fails until it is dead
    attempt.error = std::string("cannot build the body: ") + e.what();
  }
  const auto started = std::chrono::steady_clock::now();
  if (!attempt.error) {
    const std::string timestamp =
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
    curl_slist* headers = nullptr;
    for (const std::string& header :
         {std::string("Content-Type: application/json"),
          "X-Leadscore-Event: " + std::string(domain::to_string(d.event_type)),
          "X-Leadscore-Delivery: " + std::to_string(d.id), "X-Leadscore-Timestamp: " + timestamp,
          "X-Leadscore-Signature: " + signature(hook->secret, timestamp, body),
          std::string("Expect:")})
      headers = curl_slist_append(headers, header.c_str());
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, hook->url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout_ms));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.timeout_ms));
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &discard_body);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &stopping_);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "leadscore-webhooks/1.0");
    const CURLcode code = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
      attempt.status_code = static_cast<int>(status);
    } else {
      attempt.interrupted = code == CURLE_ABORTED_BY_CALLBACK;
      attempt.error = attempt.interrupted ? std::string("interrupted: the server stopped")
                      : error[0] != '\0'  ? std::string(error)
                                          : std::string(curl_easy_strerror(code));
    }
  }
  attempt.latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  const store::DeliveryAttemptOutcome outcome = decide(attempt, d.attempts, d.age, jitter, policy_);
  if (metrics::enabled()) {
    static auto& deliveries =
        metrics::registry().counters("leadscore_webhook_deliveries_total",
                                     "Webhook delivery attempts by result: delivered, retried "
                                     "(failed, tried again later), dead.",
                                     {"result"});
    deliveries
        .with({outcome.next == domain::DeliveryStatus::Delivered ? "delivered"
               : outcome.next == domain::DeliveryStatus::Dead    ? "dead"
                                                                 : "retried"})
        .inc();
  }
  if (auto recorded = session.record_webhook_attempt(d.id, name_, outcome); !recorded) {
    // The claim stays until its lease runs out; then the delivery is sent again.
    if (warn_)
      warn_("webhooks: cannot record the attempt of delivery " + std::to_string(d.id) + ": " +
            recorded.error().message);
    return;
  }
  if (outcome.next == domain::DeliveryStatus::Dead && warn_)
    warn_("webhooks: delivery " + std::to_string(d.id) + " of event " + std::to_string(d.event_id) +
          " (" + std::string(domain::to_string(d.event_type)) + ") to " + d.webhook +
          " is dead after " + std::to_string(d.attempts + 1) +
          " attempts: " + outcome.error.value_or("no answer") + " (POST /webhooks/deliveries/" +
          std::to_string(d.id) + "/retry sends it again)");
}

}  // namespace leadscore::webhooks
