// Sale routes: list, read, and move a sale through its stages.
#include "api/handler_support.h"
#include "api/json_mapping.h"

namespace leadscore::api::routes {

Reply list_sales(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(r, {"limit", "cursor"})) return fail(*e, r);
  auto page = parse_page(r);
  if (!page) return fail(page.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto sales = session->list_sales(*page);
  if (!sales) return fail(sales.error(), r);
  return page_reply(*sales);
}

Reply get_sale(const Services& s, const ApiRequest& r) {
  auto id = parse_id(r.param("id"), "id");
  if (!id) return fail(id.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto sale = session->get_sale(*id);
  if (!sale) return fail(sale.error(), r);
  return json_reply(200, to_json(*sale));
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
  if (!stage)
    return fail(Error::validation("stage", "stage must be one of: new, kyc, agreement, paid, lost"),
                r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto sale = session->change_sale_stage(*id, *stage, r.identity.name);
  if (!sale) return fail(sale.error(), r);
  return json_reply(200, to_json(*sale));
}

}  // namespace leadscore::api::routes
