// Session: the queries of offers — create, read, list, replace, delete, and the active offer.
// At most one offer is active, and offer writes run one at a time, each in a transaction that
// first moves the offers' revision forward (write_offer).
#include <optional>
#include <utility>

#include "engine/store/row_mapping.h"
#include "engine/store/session_impl.h"
#include "engine/store/store.h"

namespace leadscore::store {
namespace {

std::unexpected<Error> offer_not_found(std::int64_t id) {
  return std::unexpected(Error::not_found("offer " + std::to_string(id) + " not found"));
}

// The offer fields a caller sets, in kCreateOffer's order.
Params& offer_fields(Params& p, const domain::OfferInput& offer) {
  return p.text(offer.name)
      .text(offer.description)
      .text(text_list_json(offer.value_props))
      .text(text_list_json(offer.ideal_use_cases))
      .text(offer.active ? "true" : "false");
}

// The revision and the active offer (its columns NULL when there is none), in one snapshot.
const Statement kActiveOffer{"active_offer",
                             cat({"SELECT r.revision, o.* FROM offers_revision AS r"
                                  " LEFT JOIN (SELECT ",
                                  kOfferColumns, " FROM offers WHERE active) AS o ON true"})};

Result<ActiveOffer> read_active_offer(PgConnection& c) {
  auto r = c.execute(kActiveOffer, Params());
  if (!r) return failure(r.error());
  if (r->rows() != 1) return std::unexpected(Error::internal("offers_revision has no row"));
  ActiveOffer active{r->integer(0, 0), std::nullopt};
  if (!r->is_null(0, 1)) active.offer = read_offer(*r, 0, 1);
  return active;
}

// First in every offer write: moves the revision forward and holds its row lock until commit,
// so that offer writes run one at a time.
const Statement kNextOfferRevision{
    "next_offer_revision", "UPDATE offers_revision SET revision = revision + 1 RETURNING revision"};
// Deactivates the active offer unless it is $1 (NULL: whichever it is).
const Statement kDeactivateOffers{"deactivate_offers",
                                  cat({"UPDATE offers SET active = false, ", kTouch,
                                       " WHERE active AND id IS DISTINCT FROM $1::bigint"})};

// One offer write: in a transaction that first takes the offers' revision (and with it the
// lock that makes offer writes run one at a time), deactivates the active offer when `offer`
// is to be active in its place (`id`: the offer written, nullopt for a new one), runs `write`,
// and reads the active offer as the transaction leaves it.
template <typename Write>
Result<OfferChange> write_offer(PgConnection& c, const domain::OfferInput& offer,
                                std::optional<std::int64_t> id, Write&& write) {
  if (auto e = domain::validate(offer)) return std::unexpected(*e);
  return in_transaction(c, [&]() -> Result<OfferChange> {
    if (auto r = c.execute(kNextOfferRevision, Params()); !r) return failure(r.error());
    if (offer.active)
      if (auto r = c.execute(kDeactivateOffers, Params().integer(id)); !r)
        return failure(r.error());
    auto written = write();
    if (!written) return std::unexpected(written.error());
    auto active = read_active_offer(c);
    if (!active) return std::unexpected(active.error());
    return OfferChange{std::move(*written), std::move(*active)};
  });
}

}  // namespace

// $1 name, $2 description, $3 value_props, $4 ideal_use_cases, $5 active.
const Statement kCreateOffer{
    "create_offer",
    cat({"INSERT INTO offers (name, description, value_props, ideal_use_cases, active)"
         " VALUES ($1, $2, $3::jsonb, $4::jsonb, $5::boolean) RETURNING ",
         kOfferColumns})};

Result<OfferChange> Session::create_offer(const domain::OfferInput& offer) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<OfferChange> {
    return write_offer(c, offer, std::nullopt, [&]() -> Result<domain::Offer> {
      Params p;
      auto r = c.execute(kCreateOffer, offer_fields(p, offer));
      if (!r) return failure(r.error());
      return read_offer(*r, 0);
    });
  });
}

const Statement kGetOffer{"get_offer",
                          cat({"SELECT ", kOfferColumns, " FROM offers WHERE id = $1::bigint"})};

Result<domain::Offer> Session::get_offer(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) {
    return find_by_id(c, kGetOffer, id, read_offer, offer_not_found);
  });
}

const Statement kListOffers{"list_offers", cat({"SELECT ", kOfferColumns,
                                                " FROM offers WHERE id > coalesce($1::bigint, 0)"
                                                " ORDER BY id LIMIT $2::bigint"})};

Result<Page<domain::Offer>> Session::list_offers(const PageRequest& page) {
  return guarded(impl_.get(), [&](PgConnection& c) {
    return list_page<domain::Offer>(c, kListOffers, page, read_offer);
  });
}

// $1 id, $2.. as kCreateOffer.
const Statement kReplaceOffer{
    "replace_offer", cat({"UPDATE offers SET name = $2, description = $3, value_props = $4::jsonb,"
                          " ideal_use_cases = $5::jsonb, active = $6::boolean, ",
                          kTouch, " WHERE id = $1::bigint RETURNING ", kOfferColumns})};

Result<OfferChange> Session::replace_offer(std::int64_t id, const domain::OfferInput& offer) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<OfferChange> {
    return write_offer(c, offer, id, [&]() -> Result<domain::Offer> {
      Params p;
      p.integer(id);
      auto r = c.execute(kReplaceOffer, offer_fields(p, offer));
      if (!r) return failure(r.error());
      if (r->rows() == 0) return offer_not_found(id);
      return read_offer(*r, 0);
    });
  });
}

const Statement kDeleteOffer{"delete_offer",
                             "DELETE FROM offers WHERE id = $1::bigint RETURNING id"};

Result<ActiveOffer> Session::delete_offer(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<ActiveOffer> {
    return in_transaction(c, [&]() -> Result<ActiveOffer> {
      if (auto r = c.execute(kNextOfferRevision, Params()); !r) return failure(r.error());
      auto r = c.execute(kDeleteOffer, Params().integer(id));
      if (!r) return failure(r.error());
      if (r->rows() == 0) return offer_not_found(id);
      return read_active_offer(c);
    });
  });
}

Result<ActiveOffer> Session::active_offer() {
  return guarded(impl_.get(), [&](PgConnection& c) { return read_active_offer(c); });
}

}  // namespace leadscore::store
