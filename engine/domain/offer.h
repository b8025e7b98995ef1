// Offers: the products leads are qualified for — a name, value propositions and the ideal
// customer profile (ICP: the industries and use cases the product fits). At most one
// offer is active; every scorer sees the active one (OfferView). Pure values and checks; safe
// from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/domain/error.h"

namespace leadscore::domain {

// What a caller sets on an offer (POST /offers, and PUT /offers/{id}, which replaces it whole).
struct OfferInput {
  std::string name;
  std::optional<std::string> description;
  std::vector<std::string> value_props;
  std::vector<std::string> ideal_use_cases;
  bool active = false;
};

struct Offer : OfferInput {
  std::int64_t id = 0;
  std::string created_at;  // RFC 3339, UTC
  std::string updated_at;  // RFC 3339, UTC
};

// Limits, in bytes of UTF-8 text. The store's CHECK constraints repeat them as a backstop.
inline constexpr std::size_t kMaxOfferNameBytes = 200;
inline constexpr std::size_t kMaxOfferDescriptionBytes = 4000;
inline constexpr std::size_t kMaxOfferListItems = 50;       // value_props, ideal_use_cases
inline constexpr std::size_t kMaxOfferListItemBytes = 200;  // each item

// The first problem found, naming the field: a blank or too long name, a too long description,
// a list with too many items, an item that is blank or too long, a NUL byte anywhere.
std::optional<Error> validate(const OfferInput& offer);

// The active offer as scorers see it, made once per change of the offer and shared by every
// analysis (copying it is copying a pointer). `json` is the object handed to scorers,
// {id, name, description?, value_props, ideal_use_cases}; an analysis read back from history
// keeps only the id (`json` empty).
struct OfferView {
  std::int64_t id = 0;
  std::string json;
};

}  // namespace leadscore::domain
