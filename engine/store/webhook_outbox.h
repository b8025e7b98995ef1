// The webhook outbox as the changes write it: each change query that causes an event writes it
// here, inside its own transaction (or, for analyses, inside its own statement), for the
// webhooks subscribed to the event's type (Database::set_webhook_subscriptions); with none
// subscribed nothing is written and nothing is sent to PostgreSQL. Private to engine/store.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/store/session_impl.h"
#include "engine/store/store.h"

namespace leadscore::store {

// lead.transferred, for the handoff `change` (its lead and the sale it created).
Result<void> write_handoff_event(Session::Impl& session, const StageChange& change,
                                 const std::string& actor);
// sale.stage_changed, and sale.paid / sale.lost when `sale` (as changed) reached that stage.
Result<void> write_sale_events(Session::Impl& session, const domain::Sale& sale,
                               domain::SaleStage from, const std::string& actor);

// The webhooks subscribed to analysis.completed, as a text[] parameter; nullopt when none (the
// analysis is then written by the statement without events).
std::optional<std::string> analysis_event_webhooks(const Session::Impl& session);
// WITH items (each starting with ", ") that write analysis.completed for every lead row of
// `rows` (a FROM item with the leads' columns), in `order`, to the webhooks of the text[]
// parameter `webhooks_param` ("$16").
std::string analysis_event_items(std::string_view rows, std::string_view order,
                                 std::string_view webhooks_param);

}  // namespace leadscore::store
