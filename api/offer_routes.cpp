// Offer routes: create, list, read, replace (PUT) and delete the offers; each write hands the
// active offer it left to the server's offer cache, so the next analysis sees it.
#include "api/handler_support.h"
#include "api/json_mapping.h"

namespace leadscore::api::routes {
namespace {

// The checked offer of a POST or PUT body.
std::expected<domain::OfferInput, Error> offer_input(const ApiRequest& r) {
  auto body = parse_json_object(r.body, false);
  if (!body) return std::unexpected(body.error());
  auto offer = parse_offer(*body);
  if (!offer) return offer;
  if (auto e = domain::validate(*offer)) return std::unexpected(*e);
  return offer;
}

void install(const Services& s, const store::ActiveOffer& active) {
  if (s.offers) s.offers->install(active);
}

// Writes the offer of the request's body with `write` (create or replace) and answers it.
template <typename Write>
Reply write_offer(const Services& s, const ApiRequest& r, int status, Write&& write) {
  auto offer = offer_input(r);
  if (!offer) return fail(offer.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  store::Result<store::OfferChange> change = write(*session, *offer);
  if (!change) return fail(change.error(), r);
  install(s, change->active);
  return json_reply(status, to_json(change->offer));
}

}  // namespace

Reply create_offer(const Services& s, const ApiRequest& r) {
  return write_offer(s, r, 201, [](store::Session& session, const domain::OfferInput& offer) {
    return session.create_offer(offer);
  });
}

Reply list_offers(const Services& s, const ApiRequest& r) {
  return list_by_page(s, r, [](store::Session& session, const store::PageRequest& page) {
    return session.list_offers(page);
  });
}

Reply get_offer(const Services& s, const ApiRequest& r) {
  return get_by_id(s, r,
                   [](store::Session& session, std::int64_t id) { return session.get_offer(id); });
}

Reply replace_offer(const Services& s, const ApiRequest& r) {
  auto id = parse_id(r.param("id"), "id");
  if (!id) return fail(id.error(), r);
  return write_offer(s, r, 200,
                     [id = *id](store::Session& session, const domain::OfferInput& offer) {
                       return session.replace_offer(id, offer);
                     });
}

Reply delete_offer(const Services& s, const ApiRequest& r) {
  return with_path_id(s, r, [&](store::Session& session, std::int64_t id) {
    auto active = session.delete_offer(id);
    if (!active) return fail(active.error(), r);
    install(s, *active);
    return empty_reply(204);
  });
}

}  // namespace leadscore::api::routes
