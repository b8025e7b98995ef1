#include "engine/domain/webhook_event.h"

#include <utility>

namespace leadscore::domain {
namespace {

constexpr std::array<std::pair<EventType, std::string_view>, kEventTypeCount> kEventNames{{
    {EventType::LeadTransferred, "lead.transferred"},
    {EventType::SaleStageChanged, "sale.stage_changed"},
    {EventType::SalePaid, "sale.paid"},
    {EventType::SaleLost, "sale.lost"},
    {EventType::AnalysisCompleted, "analysis.completed"},
}};

constexpr std::array<std::pair<DeliveryStatus, std::string_view>, 4> kStatusNames{{
    {DeliveryStatus::Pending, "pending"},
    {DeliveryStatus::Failed, "failed"},
    {DeliveryStatus::Delivered, "delivered"},
    {DeliveryStatus::Dead, "dead"},
}};

template <typename Names, typename Value>
std::string_view name_of(const Names& names, Value value) {
  for (const auto& [v, name] : names)
    if (v == value) return name;
  return "unknown";
}

template <typename Value, typename Names>
std::optional<Value> value_of(const Names& names, std::string_view text) {
  for (const auto& [v, name] : names)
    if (name == text) return v;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(EventType type) { return name_of(kEventNames, type); }

std::optional<EventType> parse_event_type(std::string_view text) {
  return value_of<EventType>(kEventNames, text);
}

std::string_view to_string(DeliveryStatus status) { return name_of(kStatusNames, status); }

std::optional<DeliveryStatus> parse_delivery_status(std::string_view text) {
  return value_of<DeliveryStatus>(kStatusNames, text);
}

}  // namespace leadscore::domain
