// Sale routes: list, read, and move a sale through its stages.
#include "api/handler_support.h"
#include "api/json_mapping.h"

namespace leadscore::api::routes {

Reply list_sales(const Services& s, const ApiRequest& r) {
  return list_by_page(s, r, [](store::Session& session, const store::PageRequest& page) {
    return session.list_sales(page);
  });
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
  if (!stage)
    return fail(Error::validation("stage", "stage must be one of: new, kyc, agreement, paid, lost"),
                r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto sale = session->change_sale_stage(*id, *stage, r.identity.name, r.id);
  if (!sale) return fail(sale.error(), r);
  return json_reply(200, to_json(*sale));
}

}  // namespace leadscore::api::routes
