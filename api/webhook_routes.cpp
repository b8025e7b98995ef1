// Webhook routes (admin): the delivery log of the outbox, each delivery with its attempts, and
// sending a dead or failed delivery again. Deliveries themselves are the dispatchers' work
// (engine/webhooks/dispatcher.h), on every server of the database.
#include "api/handler_support.h"
#include "api/json_mapping.h"

namespace leadscore::api::routes {
namespace {

json delivery_json(const store::WebhookDelivery& d) {
  json attempts = json::array();
  for (const store::WebhookAttempt& a : d.attempts)
    attempts.push_back({{"at", a.at},
                        {"status_code", a.status_code ? json(*a.status_code) : json(nullptr)},
                        {"error", a.error ? json(*a.error) : json(nullptr)},
                        {"latency_ms", a.latency_ms},
                        {"server", a.server}});
  const bool settled =
      d.status == domain::DeliveryStatus::Delivered || d.status == domain::DeliveryStatus::Dead;
  return {{"id", d.id},
          {"event_id", d.event_id},
          {"type", domain::to_string(d.event_type)},
          {"webhook", d.webhook},
          {"lead_id", d.lead_id},
          {"status", domain::to_string(d.status)},
          {"created_at", d.created_at},
          {"next_attempt_at", settled ? json(nullptr) : json(d.next_attempt_at)},
          {"delivered_at", d.delivered_at ? json(*d.delivered_at) : json(nullptr)},
          {"last_error", d.last_error ? json(*d.last_error) : json(nullptr)},
          {"attempt_count", d.attempt_count},
          {"attempts", std::move(attempts)}};
}

// The filters of GET /webhooks/deliveries: status, webhook, type.
std::expected<store::WebhookDeliveryFilter, Error> delivery_filter(const ApiRequest& r) {
  store::WebhookDeliveryFilter filter;
  if (const auto* status = r.query_value("status")) {
    filter.status = domain::parse_delivery_status(*status);
    if (!filter.status)
      return std::unexpected(
          Error::validation("status", "status must be one of pending, failed, delivered, dead"));
  }
  if (const auto* webhook = r.query_value("webhook")) {
    if (webhook->empty())
      return std::unexpected(Error::validation("webhook", "webhook must name a webhook"));
    filter.webhook = *webhook;
  }
  if (const auto* type = r.query_value("type")) {
    filter.event_type = domain::parse_event_type(*type);
    if (!filter.event_type)
      return std::unexpected(Error::validation(
          "type",
          "type must be one of lead.transferred, sale.stage_changed, sale.paid, sale.lost, "
          "analysis.completed"));
  }
  return filter;
}

}  // namespace

Reply list_webhook_deliveries(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(r, {"status", "webhook", "type", "limit", "cursor"})) return fail(*e, r);
  auto filter = delivery_filter(r);
  if (!filter) return fail(filter.error(), r);
  auto page = parse_page(r);
  if (!page) return fail(page.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto deliveries = session->list_webhook_deliveries(*filter, *page);
  if (!deliveries) return fail(deliveries.error(), r);
  json items = json::array();
  for (const auto& d : deliveries->items) items.push_back(delivery_json(d));
  return json_reply(200, {{"items", std::move(items)},
                          {"next_cursor", deliveries->next_after_id
                                              ? json(std::to_string(*deliveries->next_after_id))
                                              : json(nullptr)}});
}

Reply retry_webhook_delivery(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(r, {})) return fail(*e, r);
  if (auto body = object_body(r, {}, /*empty_is_object=*/true); !body) return fail(body.error(), r);
  return with_path_id(s, r, [&](store::Session& session, std::int64_t id) {
    auto delivery = session.retry_webhook_delivery(id);
    if (!delivery) return fail(delivery.error(), r);
    return json_reply(202, delivery_json(*delivery));
  });
}

}  // namespace leadscore::api::routes
