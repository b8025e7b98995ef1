// Webhooks that lose nothing, against the real binary: `leadscore serve` processes on a real
// cluster, a real HTTP receiver on 127.0.0.1. Events written while the receiver is down (or
// hangs) and the server is restarted (SIGTERM, or SIGKILL) all arrive once it is up, each at
// least once, in order per lead, signed; the handoffs are never held up by the receiver. A
// delivery that keeps failing is dead after its give-up age, and a retry sends it again; two
// servers on one database deliver each event once.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/free_port.h"
#include "tests/support/served_leadscore.h"
#include "tests/support/temp_file.h"
#include "tests/support/webhook_receiver.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kSecretVariable = "LEADSCORE_TEST_WEBHOOK_SECRET";
constexpr const char* kSecret = "whsec_served_test";
// An attempt waits this long for the receiver: far longer than any handoff may take.
constexpr int kDeliveryTimeoutMs = 6000;
constexpr auto kPromptly = 3000ms;

struct Answer {
  int status = 0;
  json body;
  std::chrono::milliseconds took{0};
};

Answer call(const ServedLeadscore& s, const std::string& method, const std::string& path,
            const json& body = nullptr) {
  const std::string text = body.is_null() ? "" : body.dump();
  const std::string request =
      method + " " + path + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + s.admin_key() +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(text.size()) +
      "\r\n\r\n" + text;
  const auto started = Clock::now();
  const std::string answer = raw_exchange(s.port(), request, 30s);
  Answer out;
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  out.status = status_of(answer);
  out.body = json::parse(body_of(answer), nullptr, false);
  return out;
}

// Rows of `sql` on `url`, each as its columns' text.
std::vector<std::vector<std::string>> rows(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  PGresult* res = PQexec(conn, sql.c_str());
  std::vector<std::vector<std::string>> out;
  if (PQresultStatus(res) == PGRES_TUPLES_OK)
    for (int r = 0; r < PQntuples(res); ++r) {
      std::vector<std::string> row;
      for (int c = 0; c < PQnfields(res); ++c) row.emplace_back(PQgetvalue(res, r, c));
      out.push_back(std::move(row));
    }
  PQclear(res);
  PQfinish(conn);
  return out;
}

std::string hmac_hex(const std::string& key, const std::string& message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

class WebhooksServed : public ::testing::Test {
 protected:
  WebhooksServed() : receiver_(free_port()) {}

  // A server with one webhook, "crm", at the receiver, for `events`.
  ServedLeadscore::Options server(const std::string& events, int give_up_after_ms = 86'400'000,
                                  const std::optional<std::string>& database_url = {}) {
    const std::string config =
        "handoff:\n  min_score: 0\n"
        "jobs:\n  runners: 0\n"
        "log:\n  requests: false\n"
        "webhooks:\n"
        "  timeout_ms: " +
        std::to_string(kDeliveryTimeoutMs) +
        "\n  backoff_start_ms: 50\n  backoff_max_ms: 300\n  poll_ms: 50\n  dispatchers: 2\n"
        "  give_up_after_ms: " +
        std::to_string(give_up_after_ms) +
        "\n  endpoints:\n"
        "    - name: crm\n"
        "      url: " +
        receiver_.url() + "\n      events: [" + events + "]\n      secret_env: " + kSecretVariable +
        "\n";
    ServedLeadscore::Options options;
    options.env["LEADSCORE_CONFIG"] = dir_.write("webhooks.yaml", config);
    options.env[kSecretVariable] = kSecret;
    options.database_url = database_url;
    return options;
  }

  // A lead made ready for its handoff (qualified, analyzed, with a business domain); its id.
  std::int64_t ready_lead(const ServedLeadscore& s, int n) {
    const Answer created = call(s, "POST", "/leads",
                                {{"source", "manual"},
                                 {"business_domain", "fintech"},
                                 {"name", "Lead " + std::to_string(n)}});
    EXPECT_EQ(created.status, 201) << created.body.dump();
    const std::int64_t id = created.body.value("id", std::int64_t{0});
    const std::string lead = "/leads/" + std::to_string(id);
    for (const char* stage : {"contacted", "qualified"})
      EXPECT_EQ(call(s, "PATCH", lead + "/stage", {{"stage", stage}}).status, 200);
    EXPECT_EQ(call(s, "POST", lead + "/analyze").status, 200);
    return id;
  }

  // The handoff of lead `id` and its sale's way to `paid`: each answered promptly.
  void hand_off_and_sell(const ServedLeadscore& s, std::int64_t id) {
    const Answer transfer = call(s, "POST", "/leads/" + std::to_string(id) + "/transfer");
    ASSERT_EQ(transfer.status, 201) << transfer.body.dump();
    EXPECT_LT(transfer.took, kPromptly) << "the handoff of lead " << id << " was held up";
    const std::string sale = "/sales/" + std::to_string(transfer.body["sale"].value("id", 0));
    for (const char* stage : {"kyc", "agreement", "paid"}) {
      const Answer moved = call(s, "PATCH", sale + "/stage", {{"stage", stage}});
      EXPECT_EQ(moved.status, 200) << moved.body.dump();
      EXPECT_LT(moved.took, kPromptly) << "a sale's stage change was held up";
    }
  }

  // Waits until the receiver has accepted every event of the database (or 90 s).
  std::vector<ReceivedRequest> wait_for_every_event(const std::string& url) {
    const auto expected = rows(url, "SELECT count(*) FROM webhook_events");
    const std::size_t total = expected.empty() ? 0 : std::stoul(expected[0][0]);
    const auto deadline = Clock::now() + 90s;
    std::vector<ReceivedRequest> accepted;
    do {
      accepted = receiver_.accepted();
      std::set<std::int64_t> ids;
      for (const auto& r : accepted)
        ids.insert(json::parse(r.body, nullptr, false).value("id", std::int64_t{0}));
      if (ids.size() >= total) break;
      std::this_thread::sleep_for(50ms);
    } while (Clock::now() < deadline);
    return accepted;
  }

  // Every event of the database arrived (at least once), in order per lead, each request
  // well formed and signed with the secret.
  void expect_every_event_in_order(const std::string& url,
                                   const std::vector<ReceivedRequest>& accepted) {
    std::map<std::int64_t, std::int64_t> lead_of;  // event id -> lead id
    std::map<std::int64_t, std::string> type_of;
    for (const auto& row : rows(url, "SELECT id, lead_id, type FROM webhook_events")) {
      lead_of[std::stoll(row[0])] = std::stoll(row[1]);
      type_of[std::stoll(row[0])] = row[2];
    }
    std::set<std::int64_t> arrived;
    std::map<std::int64_t, std::int64_t> last_of_lead;
    for (const ReceivedRequest& r : accepted) {
      EXPECT_EQ(r.method, "POST");
      EXPECT_EQ(r.path, "/hook");
      const json body = json::parse(r.body, nullptr, false);
      ASSERT_TRUE(body.is_object()) << r.body;
      const std::int64_t id = body.value("id", std::int64_t{0});
      ASSERT_TRUE(lead_of.contains(id)) << r.body;
      EXPECT_EQ(body["type"], type_of[id]);
      EXPECT_EQ(r.header("x-leadscore-event"), type_of[id]);
      EXPECT_FALSE(r.header("x-leadscore-delivery").empty());
      EXPECT_TRUE(body.contains("created_at") && body["data"].is_object()) << r.body;
      EXPECT_EQ(r.header("content-type"), "application/json");
      const std::string timestamp = r.header("x-leadscore-timestamp");
      EXPECT_EQ(r.header("x-leadscore-signature"),
                "sha256=" + hmac_hex(kSecret, timestamp + "." + r.body))
          << "the signature does not verify";
      // In order per lead: never an event older than one the lead's webhook already had (a
      // repeat comes before anything later).
      const std::int64_t lead = lead_of[id];
      if (auto it = last_of_lead.find(lead); it != last_of_lead.end()) {
        EXPECT_GE(id, it->second) << "lead " << lead << ": event " << id << " after " << it->second;
      }
      last_of_lead[lead] = std::max(last_of_lead[lead], id);
      arrived.insert(id);
    }
    EXPECT_EQ(arrived.size(), lead_of.size()) << "events lost";
    EXPECT_EQ(rows(url, "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")
                  .at(0)
                  .at(0),
              "0");
  }

  // 100 handoffs (with their analyses and sales) while the receiver is down, the server
  // restarted in the middle by `restart`; then the receiver comes up.
  template <typename Restart>
  void deliver_everything_after_a_restart(WebhookReceiver::Mode down, Restart restart) {
    if (down == WebhookReceiver::Mode::Hang) receiver_.up(WebhookReceiver::Mode::Hang);
    const std::string events =
        "lead.transferred, sale.stage_changed, sale.paid, sale.lost, analysis.completed";
    auto first = std::make_unique<ServedLeadscore>(server(events));
    const std::string url = first->database_url();
    for (int n = 0; n < 50; ++n) hand_off_and_sell(*first, ready_lead(*first, n));
    restart(*first);
    first.reset();
    ServedLeadscore second(server(events, 86'400'000, url));
    for (int n = 50; n < 100; ++n) hand_off_and_sell(second, ready_lead(second, n));
    // Every change wrote its events: per lead an analysis, the handoff, three stage changes
    // and the payment.
    EXPECT_EQ(rows(url, "SELECT count(*) FROM webhook_events").at(0).at(0), "600");
    EXPECT_EQ(receiver_.accepted().size(), 0u);
    if (down == WebhookReceiver::Mode::Hang) {
      // The dispatchers were held by the hanging receiver all along, and the stop cut their
      // attempts short (recorded, and due again at once).
      EXPECT_GT(receiver_.requests().size(), 0u);
      EXPECT_NE(rows(url, "SELECT count(*) FROM webhook_attempts WHERE error LIKE 'interrupted%'")
                    .at(0)
                    .at(0),
                "0");
    }

    receiver_.down();
    receiver_.up(WebhookReceiver::Mode::Answer);
    expect_every_event_in_order(url, wait_for_every_event(url));
  }

  TempDir dir_;
  WebhookReceiver receiver_;
};

TEST_F(WebhooksServed, DeliversEveryEventInOrderAfterAHangingReceiverAndASigtermRestart) {
  deliver_everything_after_a_restart(WebhookReceiver::Mode::Hang, [](ServedLeadscore& s) {
    const auto [status, took] = s.terminate(20s);
    EXPECT_EQ(status, 0) << s.log();
  });
}

TEST_F(WebhooksServed, DeliversEveryEventInOrderAfterADownReceiverAndASigkill) {
  deliver_everything_after_a_restart(WebhookReceiver::Mode::Answer,
                                     [](ServedLeadscore& s) { s.kill_now(); });
}

TEST_F(WebhooksServed, AFailingDeliveryIsDeadAfterItsGiveUpAgeAndRetrySendsItAgain) {
  receiver_.set_status(500);
  receiver_.up();
  ServedLeadscore s(server("lead.transferred", 1500));
  const std::int64_t lead = ready_lead(s, 1);
  ASSERT_EQ(call(s, "POST", "/leads/" + std::to_string(lead) + "/transfer").status, 201);

  json dead;
  const auto deadline = Clock::now() + 30s;
  do {
    dead = call(s, "GET", "/webhooks/deliveries?status=dead").body;
    if (!dead["items"].empty()) break;
    std::this_thread::sleep_for(100ms);
  } while (Clock::now() < deadline);
  ASSERT_EQ(dead["items"].size(), 1u) << dead.dump();
  const json delivery = dead["items"][0];
  EXPECT_EQ(delivery["type"], "lead.transferred");
  EXPECT_EQ(delivery["webhook"], "crm");
  EXPECT_EQ(delivery["lead_id"], lead);
  EXPECT_EQ(delivery["last_error"], "HTTP 500");
  ASSERT_GE(delivery["attempts"].size(), 2u) << "retried before it was given up";
  EXPECT_EQ(delivery["attempt_count"], delivery["attempts"].size());
  for (const json& attempt : delivery["attempts"]) {
    EXPECT_EQ(attempt["status_code"], 500);
    EXPECT_TRUE(attempt["latency_ms"].is_number());
    EXPECT_FALSE(attempt["server"].get<std::string>().empty());
  }
  const std::size_t sent = receiver_.requests().size();
  EXPECT_EQ(sent, delivery["attempts"].size());

  // Dead: no more attempts.
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(receiver_.requests().size(), sent);

  // Sent again once asked, and delivered now that the receiver takes it.
  receiver_.set_status(204);
  const std::string retry =
      "/webhooks/deliveries/" + std::to_string(delivery["id"].get<int>()) + "/retry";
  const Answer retried = call(s, "POST", retry);
  ASSERT_EQ(retried.status, 202) << retried.body.dump();
  EXPECT_EQ(retried.body["status"], "pending");
  json delivered;
  const auto until = Clock::now() + 30s;
  do {
    delivered = call(s, "GET", "/webhooks/deliveries?status=delivered&webhook=crm").body;
    if (!delivered["items"].empty()) break;
    std::this_thread::sleep_for(50ms);
  } while (Clock::now() < until);
  ASSERT_EQ(delivered["items"].size(), 1u) << delivered.dump();
  EXPECT_EQ(delivered["items"][0]["attempts"].back()["status_code"], 204);
  ASSERT_EQ(receiver_.accepted().size(), 1u);
  EXPECT_EQ(receiver_.accepted()[0].header("x-leadscore-delivery"),
            std::to_string(delivery["id"].get<int>()));

  EXPECT_EQ(call(s, "POST", retry).status, 409);
  EXPECT_EQ(call(s, "POST", "/webhooks/deliveries/999999/retry").status, 404);
  const Answer bad = call(s, "GET", "/webhooks/deliveries?status=lost");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["error"]["details"].value("field", ""), "status") << bad.body.dump();
  EXPECT_EQ(call(s, "GET", "/webhooks/deliveries?type=sale.exploded").status, 400);
  EXPECT_EQ(call(s, "GET", "/webhooks/deliveries?type=lead.transferred").body["items"].size(), 1u);
}

TEST_F(WebhooksServed, TwoServersOnOneDatabaseDeliverEachEventOnce) {
  receiver_.up();
  ServedLeadscore a(server("lead.transferred, sale.stage_changed"));
  ServedLeadscore b(server("lead.transferred, sale.stage_changed", 86'400'000, a.database_url()));
  for (int n = 0; n < 60; ++n) {
    const ServedLeadscore& s = n % 2 == 0 ? a : b;
    const std::int64_t lead = ready_lead(s, n);
    const Answer transfer = call(s, "POST", "/leads/" + std::to_string(lead) + "/transfer");
    ASSERT_EQ(transfer.status, 201);
    const std::string sale = "/sales/" + std::to_string(transfer.body["sale"].value("id", 0));
    ASSERT_EQ(call(n % 3 == 0 ? b : a, "PATCH", sale + "/stage", {{"stage", "kyc"}}).status, 200);
  }
  const std::string url = a.database_url();
  const auto accepted = wait_for_every_event(url);
  expect_every_event_in_order(url, accepted);
  // Once each: one attempt per delivery in the log, one request per delivery at the receiver.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(rows(url, "SELECT count(*) FROM webhook_deliveries").at(0).at(0), "120");
  EXPECT_EQ(rows(url, "SELECT count(*) FROM webhook_attempts").at(0).at(0), "120");
  std::set<std::string> deliveries;
  for (const auto& r : receiver_.requests())
    EXPECT_TRUE(deliveries.insert(r.header("x-leadscore-delivery")).second)
        << "delivery " << r.header("x-leadscore-delivery") << " sent twice";
  EXPECT_EQ(deliveries.size(), 120u);
}

}  // namespace
}  // namespace leadscore::testing
