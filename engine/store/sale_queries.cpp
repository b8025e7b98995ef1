// Session: the queries of sales — read, list, and their stage changes. A sale is created by
// the handoff of its lead, in change_lead_stage's transaction (lead_queries.cpp).
#include <string>

#include "engine/domain/stage_machine.h"
#include "engine/store/row_mapping.h"
#include "engine/store/session_impl.h"
#include "engine/store/store.h"

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

const Statement kListSales{"list_sales", cat({"SELECT ", kSaleColumns,
                                              " FROM sales WHERE id > coalesce($1::bigint, 0)"
                                              " ORDER BY id LIMIT $2::bigint"})};

Result<Page<domain::Sale>> Session::list_sales(const PageRequest& page) {
  return guarded(impl_.get(), [&](PgConnection& c) {
    return list_page<domain::Sale>(c, kListSales, page, read_sale);
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
      return read_sale(*r, 0);
    });
  });
}

}  // namespace leadscore::store
