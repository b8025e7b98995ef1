// The failure value that engine modules return instead of throwing. The REST layer maps
// each code to one HTTP status in a single table (api/errors.cpp).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace leadscore::domain {

enum class ErrorCode {
  Validation,         // bad input: 400 validation_error
  NotFound,           // 404 not_found
  LeadFinal,          // the lead is transferred or lost: 409 lead_final
  InvalidTransition,  // a stage move the rules forbid: 409 invalid_transition
  Conflict,           // another state conflict (duplicate name, lead with a sale): 409 conflict
  HandoffRejected,    // 422 handoff_rejected, details.failed_checks
  ScorerUnavailable,  // 503 scorer_unavailable
  Unavailable,        // a dependency is down: 503 unavailable
  Internal,           // 500 internal_error; the message is logged, never sent
};

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
  std::string field;                       // the offending field, for validation errors
  std::vector<std::string> failed_checks;  // for HandoffRejected

  static Error validation(std::string field, std::string message) {
    return {ErrorCode::Validation, std::move(message), std::move(field), {}};
  }
  static Error not_found(std::string message) {
    return {ErrorCode::NotFound, std::move(message), {}, {}};
  }
  static Error internal(std::string message) {
    return {ErrorCode::Internal, std::move(message), {}, {}};
  }
};

}  // namespace leadscore::domain
