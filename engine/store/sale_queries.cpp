// Session: the queries of sales — read, list, and their stage changes. A sale is created by
// the handoff of its lead, in change_lead_stage's transaction (lead_queries.cpp).
#include <string>

#include "engine/domain/stage_machine.h"
#include "engine/store/row_mapping.h"
#include "engine/store/session_impl.h"
#include "engine/store/store.h"
#include "engine/store/webhook_outbox.h"

namespace leadscore::store {
namespace {

using domain::ErrorCode;
using domain::SaleStage;
using domain::TransitionVerdict;

std::unexpected<Error> sale_not_found(std::int64_t id) {
  return std::unexpected(Error::not_found("sale " + std::to_string(id) + " not found"));
}

}  // namespace

const Statement kGetSale{"get_sale",
                         cat({"SELECT ", kSaleColumns, " FROM sales WHERE id = $1::bigint"})};

Result<domain::Sale> Session::get_sale(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) {
    return find_by_id(c, kGetSale, id, read_sale, sale_not_found);
  });
}

// $1 lead. No row: no such lead; a row of NULLs: the lead has no sale.
const Statement kGetLeadSale{"get_lead_sale",
                             cat({"SELECT sale.* FROM leads"
                                  " LEFT JOIN LATERAL (SELECT ",
                                  kSaleColumns,
                                  " FROM sales WHERE lead_id = $1::bigint) sale ON true"
                                  " WHERE leads.id = $1::bigint"})};

Result<domain::Sale> Session::get_lead_sale(std::int64_t lead_id) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<domain::Sale> {
    auto r = c.execute(kGetLeadSale, Params().integer(lead_id));
    if (!r) return failure(r.error());
    if (r->rows() == 0)
      return std::unexpected(Error::not_found("lead " + std::to_string(lead_id) + " not found"));
    if (r->is_null(0, 0))
      return std::unexpected(Error::not_found("lead " + std::to_string(lead_id) +
                                              " has no sale (it has not been handed off)"));
    return read_sale(*r, 0);
  });
}

// One plan for every combination of filters: an unset filter is a NULL parameter.
const Statement kListSales{"list_sales", cat({"SELECT ", kSaleColumns,
                                              " FROM sales WHERE id > coalesce($1::bigint, 0)"
                                              "  AND ($2::bigint IS NULL OR lead_id = $2::bigint)"
                                              "  AND ($3::text IS NULL OR stage = $3::text)"
                                              " ORDER BY id LIMIT $4::bigint"})};

Result<Page<domain::Sale>> Session::list_sales(const SaleFilter& filter, const PageRequest& page) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<Page<domain::Sale>> {
    if (auto e = check_limit(page)) return std::unexpected(*e);
    Params p;
    p.integer(page.after_id).integer(filter.lead_id);
    if (filter.stage)
      p.text(domain::to_string(*filter.stage));
    else
      p.null();
    p.integer(std::int64_t{page.limit} + 1);
    auto r = c.execute(kListSales, p);
    if (!r) return failure(r.error());
    return read_page<domain::Sale>(*r, page.limit, read_sale);
  });
}

const Statement kLockSale{
    "lock_sale", cat({"SELECT ", kSaleColumns, " FROM sales WHERE id = $1::bigint FOR UPDATE"})};
// $1 sale, $2 new stage, $3 old stage, $4 actor, $5 request id.
const Statement kSetSaleStage{
    "set_sale_stage",
    cat({"WITH sale AS (UPDATE sales SET stage = $2::text, ", kTouch,
         " WHERE id = $1::bigint RETURNING ", kSaleColumns,
         "), event AS ("
         " INSERT INTO stage_events (lead_id, sale_id, from_stage, to_stage, actor, request_id)"
         " SELECT lead_id, id, $3::text, $2::text, $4, $5::text FROM sale)"
         " SELECT * FROM sale"})};

Result<domain::Sale> Session::change_sale_stage(std::int64_t id, SaleStage to,
                                                const std::string& actor,
                                                const std::optional<std::string>& request_id) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<domain::Sale> {
    return in_transaction(c, [&]() -> Result<domain::Sale> {
      auto locked = c.execute(kLockSale, Params().integer(id));
      if (!locked) return failure(locked.error());
      if (locked->rows() == 0) return sale_not_found(id);
      const domain::Sale sale = read_sale(*locked, 0);
      const std::string from(domain::to_string(sale.stage));
      switch (domain::check_sale_transition(sale.stage, to)) {
        case TransitionVerdict::FromFinal:
          return error(ErrorCode::InvalidTransition, "sale " + std::to_string(id) + " is " + from +
                                                         ", a final stage: it cannot change");
        case TransitionVerdict::Invalid:
        case TransitionVerdict::NeedsHandoff:
          return error(ErrorCode::InvalidTransition, "cannot move sale from " + from + " to " +
                                                         std::string(domain::to_string(to)));
        case TransitionVerdict::Allowed:
          break;
      }
      auto r = c.execute(
          kSetSaleStage,
          Params().integer(id).text(domain::to_string(to)).text(from).text(actor).text(request_id));
      if (!r) return failure(r.error());
      domain::Sale changed = read_sale(*r, 0);
      if (auto events = write_sale_events(*impl_, changed, sale.stage, actor); !events)
        return std::unexpected(events.error());
      return changed;
    });
  });
}

}  // namespace leadscore::store
