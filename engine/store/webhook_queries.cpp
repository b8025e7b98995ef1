// Session: the webhook outbox (migration 011) — the events the changes write, in their
// transactions, and what dispatchers do with their deliveries: claim due ones under a lease,
// record each attempt and settle them, give claims back; and the operator's list and retry.
//
// At least once, one at a time, in order: a delivery is claimed by one dispatcher at a time
// (FOR UPDATE SKIP LOCKED on its row, then a lease in the row); a claim whose lease ran out
// belongs to a dispatcher that went away and is claimed again. A delivery is not claimed while
// an earlier delivery of the same lead to the same webhook is unsettled: a lead's events are
// written under its row lock (or its sale's, which exists only after its handoff committed),
// so their ids follow the order in which they happened.
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/store/resource_json.h"
#include "engine/store/row_mapping.h"
#include "engine/store/session_impl.h"
#include "engine/store/store.h"
#include "engine/store/webhook_outbox.h"

namespace leadscore::store {
namespace {

using domain::DeliveryStatus;
using domain::ErrorCode;
using domain::EventType;
using nlohmann::json;

// A PostgreSQL text[] literal of plain names.
std::string text_array(const std::vector<std::string>& names) {
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i)
    out.append(i ? ",\"" : "\"").append(names[i]).append("\"");
  return out + "}";
}

// A JSON text PostgreSQL takes: invalid UTF-8 is replaced, as the API's answers replace it.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

// $1 type, $2 lead, $3 data, $4 the webhooks (text[]).
const Statement kWriteWebhookEvent{
    "write_webhook_event",
    "SELECT leadscore_webhook_event($1::text, $2::bigint, $3::jsonb, $4::text[])"};

namespace {

Result<void> write_event(Session::Impl& session, const WebhookSubscriptions& subscriptions,
                         EventType type, std::int64_t lead_id, const json& data) {
  const auto& webhooks = subscriptions.of(type);
  if (webhooks.empty()) return {};
  Params p;
  p.text(domain::to_string(type)).integer(lead_id).text(dump(data)).text(text_array(webhooks));
  if (auto r = session.connection.execute(kWriteWebhookEvent, p); !r) return failure(r.error());
  return {};
}

}  // namespace

Result<void> write_handoff_event(Session::Impl& session, const StageChange& change,
                                 const std::string& actor) {
  const auto subscriptions = session.db.subscriptions();
  if (subscriptions->of(EventType::LeadTransferred).empty() || !change.sale) return {};
  return write_event(
      session, *subscriptions, EventType::LeadTransferred, change.lead.id,
      {{"lead", lead_json(change.lead)}, {"sale", sale_json(*change.sale)}, {"actor", actor}});
}

Result<void> write_sale_events(Session::Impl& session, const domain::Sale& sale,
                               domain::SaleStage from, const std::string& actor) {
  const auto subscriptions = session.db.subscriptions();
  std::vector<EventType> types{EventType::SaleStageChanged};
  if (sale.stage == domain::SaleStage::Paid) types.push_back(EventType::SalePaid);
  if (sale.stage == domain::SaleStage::Lost) types.push_back(EventType::SaleLost);
  const json data{{"sale", sale_json(sale)},
                  {"lead_id", sale.lead_id},
                  {"from", domain::to_string(from)},
                  {"to", domain::to_string(sale.stage)},
                  {"actor", actor}};
  for (EventType type : types)
    if (auto written = write_event(session, *subscriptions, type, sale.lead_id, data); !written)
      return written;
  return {};
}

std::optional<std::string> analysis_event_webhooks(const Session::Impl& session) {
  const auto subscriptions = session.db.subscriptions();
  const auto& webhooks = subscriptions->of(EventType::AnalysisCompleted);
  if (webhooks.empty()) return std::nullopt;
  return text_array(webhooks);
}

std::string analysis_event_items(std::string_view rows, std::string_view order,
                                 std::string_view webhooks_param) {
  return cat(
      {", analysis_events AS ("
       " INSERT INTO webhook_events (type, lead_id, data)"
       " SELECT 'analysis.completed', id, jsonb_build_object('lead_id', id,"
       "  'score', ai_score, 'recommendation', ai_recommendation, 'reason', ai_reason,"
       "  'scorer', jsonb_build_object('name', ai_scorer, 'version', ai_scorer_version),"
       "  'analyzed_at', leadscore_rfc3339(ai_analyzed_at))"
       " FROM ",
       rows, " ORDER BY ", order,
       " RETURNING id, lead_id), analysis_deliveries AS ("
       " INSERT INTO webhook_deliveries (event_id, webhook, lead_id)"
       " SELECT e.id, w.name, e.lead_id FROM analysis_events e,"
       "  unnest(",
       webhooks_param, "::text[]) WITH ORDINALITY AS w(name, n) ORDER BY e.id, w.n)"});
}

// --- dispatchers ---

// $1 webhooks (text[]), $2 dispatcher, $3 limit, $4 lease in ms.
const Statement kClaimWebhookDeliveries{
    "claim_webhook_deliveries",
    "WITH claimed AS ("
    " UPDATE webhook_deliveries d SET claimed_by = $2::text,"
    "  lease_until = now() + $4::bigint * interval '1 millisecond'"
    " WHERE d.id IN ("
    "  SELECT c.id FROM webhook_deliveries c"
    "  WHERE c.status IN ('pending', 'failed') AND c.next_attempt_at <= now()"
    "   AND (c.lease_until IS NULL OR c.lease_until < now())"
    "   AND c.webhook = ANY($1::text[])"
    "   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries b"
    "    WHERE b.lead_id = c.lead_id AND b.webhook = c.webhook AND b.id < c.id"
    "     AND b.status IN ('pending', 'failed'))"
    "  ORDER BY c.next_attempt_at, c.id LIMIT $3::bigint"
    "  FOR UPDATE SKIP LOCKED)"
    " RETURNING d.id, d.event_id, d.webhook, d.attempts, d.since)"
    " SELECT c.id, c.event_id, e.type, c.webhook, leadscore_rfc3339(e.created_at), e.data::text,"
    "  c.attempts, greatest(0, extract(epoch FROM now() - c.since) * 1000)::bigint"
    " FROM claimed c JOIN webhook_events e ON e.id = c.event_id ORDER BY c.id"};

Result<std::vector<ClaimedDelivery>> Session::claim_webhook_deliveries(
    std::span<const std::string> webhooks, const std::string& dispatcher, int limit,
    std::chrono::milliseconds lease) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<std::vector<ClaimedDelivery>> {
    std::vector<ClaimedDelivery> claimed;
    if (webhooks.empty() || limit < 1) return claimed;
    Params p;
    p.text(text_array({webhooks.begin(), webhooks.end()})).text(dispatcher);
    p.integer(limit).integer(static_cast<std::int64_t>(lease.count()));
    auto r = c.execute(kClaimWebhookDeliveries, p);
    if (!r) return failure(r.error());
    claimed.reserve(static_cast<std::size_t>(r->rows()));
    for (int row = 0; row < r->rows(); ++row) {
      ClaimedDelivery d;
      d.id = r->integer(row, 0);
      d.event_id = r->integer(row, 1);
      auto type = domain::parse_event_type(r->text(row, 2));
      if (!type) throw std::runtime_error("unknown event type in the database");
      d.event_type = *type;
      d.webhook = std::string(r->text(row, 3));
      d.event_created_at = std::string(r->text(row, 4));
      d.data = std::string(r->text(row, 5));
      d.attempts = static_cast<int>(r->integer(row, 6));
      d.age = std::chrono::milliseconds(r->integer(row, 7));
      claimed.push_back(std::move(d));
    }
    return claimed;
  });
}

// $1 delivery, $2 status code, $3 error, $4 latency, $5 dispatcher, $6 new status, $7 retry in
// ms. The status moves only while the dispatcher holds the claim.
const Statement kRecordWebhookAttempt{
    "record_webhook_attempt",
    "WITH attempt AS ("
    " INSERT INTO webhook_attempts (delivery_id, status_code, error, latency_ms, server)"
    " VALUES ($1::bigint, $2::int, $3::text, $4::float8, $5::text))"
    " UPDATE webhook_deliveries SET status = $6::text, attempts = attempts + 1,"
    "  next_attempt_at = CASE WHEN $6::text = 'failed'"
    "   THEN now() + $7::bigint * interval '1 millisecond' ELSE next_attempt_at END,"
    "  delivered_at = CASE WHEN $6::text = 'delivered' THEN now() END,"
    "  last_error = CASE WHEN $6::text = 'delivered' THEN NULL"
    "   ELSE coalesce($3::text, 'HTTP ' || $2::int) END,"
    "  claimed_by = NULL, lease_until = NULL"
    " WHERE id = $1::bigint AND claimed_by = $5::text"};

Result<void> Session::record_webhook_attempt(std::int64_t delivery_id,
                                             const std::string& dispatcher,
                                             const DeliveryAttemptOutcome& outcome) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    Params p;
    p.integer(delivery_id);
    p.integer(outcome.status_code ? std::optional<std::int64_t>(*outcome.status_code)
                                  : std::nullopt);
    p.text(outcome.error).real(outcome.latency_ms).text(dispatcher);
    p.text(domain::to_string(outcome.next));
    p.integer(static_cast<std::int64_t>(outcome.retry_in.count()));
    if (auto r = c.execute(kRecordWebhookAttempt, p); !r) return failure(r.error());
    return {};
  });
}

const Statement kReleaseWebhookDeliveries{
    "release_webhook_deliveries",
    "UPDATE webhook_deliveries SET claimed_by = NULL, lease_until = NULL"
    " WHERE claimed_by = $1::text AND status IN ('pending', 'failed')"};

Result<void> Session::release_webhook_deliveries(const std::string& dispatcher) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    if (auto r = c.execute(kReleaseWebhookDeliveries, Params().text(dispatcher)); !r)
      return failure(r.error());
    return {};
  });
}

// --- the operator's view ---

namespace {

constexpr std::string_view kDeliveryColumns =
    "d.id, d.event_id, e.type, d.webhook, d.lead_id, d.status, d.attempts,"
    " leadscore_rfc3339(e.created_at), leadscore_rfc3339(d.next_attempt_at),"
    " leadscore_rfc3339(d.delivered_at), d.last_error";

WebhookDelivery read_delivery(const PgResult& r, int row, int = 0) {
  WebhookDelivery d;
  d.id = r.integer(row, 0);
  d.event_id = r.integer(row, 1);
  auto type = domain::parse_event_type(r.text(row, 2));
  auto status = domain::parse_delivery_status(r.text(row, 5));
  if (!type || !status) throw std::runtime_error("unknown webhook delivery in the database");
  d.event_type = *type;
  d.webhook = std::string(r.text(row, 3));
  d.lead_id = r.integer(row, 4);
  d.status = *status;
  d.attempt_count = static_cast<int>(r.integer(row, 6));
  d.created_at = std::string(r.text(row, 7));
  d.next_attempt_at = std::string(r.text(row, 8));
  d.delivered_at = r.optional_text(row, 9);
  d.last_error = r.optional_text(row, 10);
  return d;
}

}  // namespace

// $1 after id, $2 status, $3 webhook, $4 event type, $5 limit.
const Statement kListWebhookDeliveries{
    "list_webhook_deliveries",
    cat({"SELECT ", kDeliveryColumns,
         " FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id"
         " WHERE d.id > coalesce($1::bigint, 0)"
         "  AND ($2::text IS NULL OR d.status = $2::text)"
         "  AND ($3::text IS NULL OR d.webhook = $3::text)"
         "  AND ($4::text IS NULL OR e.type = $4::text)"
         " ORDER BY d.id LIMIT $5::bigint"})};
const Statement kGetWebhookDelivery{
    "get_webhook_delivery",
    cat({"SELECT ", kDeliveryColumns,
         " FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id"
         " WHERE d.id = $1::bigint"})};
// The attempts of the deliveries of $1 (a bigint[]), in order.
const Statement kWebhookAttempts{
    "webhook_attempts",
    "SELECT delivery_id, leadscore_rfc3339(at), status_code, error, latency_ms, server"
    " FROM webhook_attempts WHERE delivery_id = ANY($1::bigint[]) ORDER BY delivery_id, id"};

namespace {

// Fills in the attempts of `deliveries`, in one statement.
Result<void> read_attempts(PgConnection& c, std::span<WebhookDelivery> deliveries) {
  if (deliveries.empty()) return {};
  std::string ids = "{";
  for (std::size_t i = 0; i < deliveries.size(); ++i)
    ids.append(i ? "," : "").append(std::to_string(deliveries[i].id));
  ids += "}";
  auto r = c.execute(kWebhookAttempts, Params().text(std::move(ids)));
  if (!r) return failure(r.error());
  for (int row = 0; row < r->rows(); ++row) {
    const std::int64_t id = r->integer(row, 0);
    WebhookAttempt a;
    a.at = std::string(r->text(row, 1));
    if (!r->is_null(row, 2)) a.status_code = static_cast<int>(r->integer(row, 2));
    a.error = r->optional_text(row, 3);
    a.latency_ms = r->real(row, 4);
    a.server = std::string(r->text(row, 5));
    for (WebhookDelivery& d : deliveries)
      if (d.id == id) d.attempts.push_back(std::move(a));
  }
  return {};
}

std::unexpected<Error> delivery_not_found(std::int64_t id) {
  return std::unexpected(Error::not_found("webhook delivery " + std::to_string(id) + " not found"));
}

}  // namespace

Result<Page<WebhookDelivery>> Session::list_webhook_deliveries(const WebhookDeliveryFilter& filter,
                                                               const PageRequest& page) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<Page<WebhookDelivery>> {
    if (auto e = check_limit(page)) return std::unexpected(*e);
    Params p;
    p.integer(page.after_id);
    if (filter.status)
      p.text(domain::to_string(*filter.status));
    else
      p.null();
    p.text(filter.webhook);
    if (filter.event_type)
      p.text(domain::to_string(*filter.event_type));
    else
      p.null();
    p.integer(std::int64_t{page.limit} + 1);
    auto r = c.execute(kListWebhookDeliveries, p);
    if (!r) return failure(r.error());
    auto deliveries = read_page<WebhookDelivery>(*r, page.limit, read_delivery);
    if (auto read = read_attempts(c, deliveries.items); !read) return std::unexpected(read.error());
    return deliveries;
  });
}

Result<WebhookDelivery> Session::get_webhook_delivery(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<WebhookDelivery> {
    auto found = find_by_id(c, kGetWebhookDelivery, id, read_delivery, delivery_not_found);
    if (!found) return found;
    if (auto read = read_attempts(c, std::span(&*found, 1)); !read)
      return std::unexpected(read.error());
    return found;
  });
}

const Statement kLockWebhookDelivery{
    "lock_webhook_delivery",
    "SELECT status FROM webhook_deliveries WHERE id = $1::bigint FOR UPDATE"};
const Statement kRetryWebhookDelivery{
    "retry_webhook_delivery",
    "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), since = now()"
    " WHERE id = $1::bigint"};

Result<WebhookDelivery> Session::retry_webhook_delivery(std::int64_t id) {
  auto retried = guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    return in_transaction(c, [&]() -> Result<void> {
      auto locked = c.execute(kLockWebhookDelivery, Params().integer(id));
      if (!locked) return failure(locked.error());
      if (locked->rows() == 0) return delivery_not_found(id);
      if (locked->text(0, 0) == "delivered")
        return error(ErrorCode::Conflict, "webhook delivery " + std::to_string(id) +
                                              " was delivered already: nothing to send again");
      if (auto r = c.execute(kRetryWebhookDelivery, Params().integer(id)); !r)
        return failure(r.error());
      return {};
    });
  });
  if (!retried) return std::unexpected(retried.error());
  return get_webhook_delivery(id);
}

}  // namespace leadscore::store
