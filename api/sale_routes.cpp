// Sale routes: list (filtered by lead and stage), read, and move a sale through its stages.
// A lead's own sale is GET /leads/{id}/sale (lead_routes.cpp).
#include "api/handler_support.h"
#include "api/json_mapping.h"
#include "engine/domain/stage_machine.h"

namespace leadscore::api::routes {
namespace {

constexpr const char* kSaleStages = "stage must be one of: new, kyc, agreement, paid, lost";

// ?lead_id= and ?stage=; Validation naming the parameter.
std::expected<store::SaleFilter, Error> sale_filter(const ApiRequest& r) {
  store::SaleFilter filter;
  if (const auto* lead_id = r.query_value("lead_id")) {
    auto id = parse_id(lead_id, "lead_id");
    if (!id) return std::unexpected(id.error());
    filter.lead_id = *id;
  }
  if (const auto* stage = r.query_value("stage")) {
    filter.stage = domain::parse_sale_stage(*stage);
    if (!filter.stage) return std::unexpected(Error::validation("stage", kSaleStages));
  }
  return filter;
}

}  // namespace

Reply list_sales(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(r, {"lead_id", "stage", "limit", "cursor"})) return fail(*e, r);
  auto filter = sale_filter(r);
  if (!filter) return fail(filter.error(), r);
  auto page = parse_page(r);
  if (!page) return fail(page.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto sales = session->list_sales(*filter, *page);
  if (!sales) return fail(sales.error(), r);
  return page_reply(*sales);
}

Reply get_sale(const Services& s, const ApiRequest& r) {
  return get_by_id(s, r,
                   [](store::Session& session, std::int64_t id) { return session.get_sale(id); });
}

Reply change_sale_stage(const Services& s, const ApiRequest& r) {
  auto id = parse_id(r.param("id"), "id");
  if (!id) return fail(id.error(), r);
  auto body = object_body(r, {"stage"});
  if (!body) return fail(body.error(), r);
  auto it = body->find("stage");
  if (it == body->end() || !it->is_string())
    return fail(Error::validation("stage", "stage is required, as a string"), r);
  auto stage = domain::parse_sale_stage(it->get<std::string>());
  if (!stage) return fail(Error::validation("stage", kSaleStages), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto sale = session->change_sale_stage(*id, *stage, r.identity.name, r.id);
  if (!sale) return fail(sale.error(), r);
  return json_reply(200, to_json(*sale));
}

}  // namespace leadscore::api::routes
