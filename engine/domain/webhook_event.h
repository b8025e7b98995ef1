// Webhook events: the changes leadscore tells other systems about, and the states of one
// delivery of an event to one webhook. Pure values; safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace leadscore::domain {

// lead.transferred: a handoff (the lead reached `transferred`, its sale was created);
// sale.stage_changed: any stage change of a sale, with sale.paid / sale.lost beside it when the
// new stage is that one; analysis.completed: an analysis was stored on its lead.
enum class EventType { LeadTransferred, SaleStageChanged, SalePaid, SaleLost, AnalysisCompleted };
inline constexpr std::size_t kEventTypeCount = 5;
inline constexpr std::array<EventType, kEventTypeCount> kEventTypes{
    EventType::LeadTransferred, EventType::SaleStageChanged, EventType::SalePaid,
    EventType::SaleLost, EventType::AnalysisCompleted};

std::string_view to_string(EventType type);
std::optional<EventType> parse_event_type(std::string_view text);

// pending: not attempted yet; failed: attempted, another attempt is due; delivered: answered
// 2xx; dead: failed until its give-up age (an operator may send it again).
enum class DeliveryStatus { Pending, Failed, Delivered, Dead };

std::string_view to_string(DeliveryStatus status);
std::optional<DeliveryStatus> parse_delivery_status(std::string_view text);

}  // namespace leadscore::domain
