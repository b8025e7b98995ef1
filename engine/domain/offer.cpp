#include "engine/domain/offer.h"

#include <string_view>

namespace leadscore::domain {
namespace {

bool is_blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

// `what` names the value in messages ("name", "value_props[2]"); `field` is the member.
std::optional<Error> check_text(const std::string& field, const std::string& what,
                                std::string_view value, std::size_t max_bytes, bool required) {
  if (required && is_blank(value)) return Error::validation(field, what + " must not be empty");
  if (value.size() > max_bytes)
    return Error::validation(field,
                             what + " is longer than " + std::to_string(max_bytes) + " bytes");
  if (value.find('\0') != std::string_view::npos)
    return Error::validation(field, what + " contains a NUL byte");
  return std::nullopt;
}

std::optional<Error> check_list(const std::string& field, const std::vector<std::string>& items) {
  if (items.size() > kMaxOfferListItems)
    return Error::validation(field, field + " has " + std::to_string(items.size()) +
                                        " items; at most " + std::to_string(kMaxOfferListItems));
  for (std::size_t i = 0; i < items.size(); ++i)
    if (auto e = check_text(field, field + "[" + std::to_string(i) + "]", items[i],
                            kMaxOfferListItemBytes, /*required=*/true))
      return e;
  return std::nullopt;
}

}  // namespace

std::optional<Error> validate(const OfferInput& offer) {
  if (auto e = check_text("name", "name", offer.name, kMaxOfferNameBytes, /*required=*/true))
    return e;
  if (offer.description)
    if (auto e = check_text("description", "description", *offer.description,
                            kMaxOfferDescriptionBytes, /*required=*/false))
      return e;
  if (auto e = check_list("value_props", offer.value_props)) return e;
  return check_list("ideal_use_cases", offer.ideal_use_cases);
}

}  // namespace leadscore::domain
