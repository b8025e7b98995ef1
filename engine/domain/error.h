// The failure value that engine modules return instead of throwing. The REST layer maps
// each code to one HTTP status and error name in a single table (api/exchange.cpp), which
// every error answer goes through, those of the HTTP layer itself included.
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
  InvalidConfig,      // a reload found errors in the files; nothing changed: 422 invalid_config
  ScorerUnavailable,  // 503 scorer_unavailable
  Unavailable,        // a dependency is down, or the server is busy or stopping: 503 unavailable
  Internal,           // 500 internal_error; the message is logged, never sent
  // Refusals of the HTTP layer, before any engine code runs.
  Unauthorized,      // no key, or not a valid one: 401 unauthorized
  Forbidden,         // the key's role lacks the right: 403 forbidden
  RateLimited,       // the key used up its rate limit (rate_limit): 429 rate_limited
  PayloadTooLarge,   // 413 payload_too_large
  MalformedRequest,  // request framing the server cannot read: 400 bad_request
  LengthRequired,    // a body without a Content-Length: 411 length_required
  UriTooLong,        // 414 uri_too_long
  HeaderTooLarge,    // 431 header_too_large
  RequestTimeout,    // the request was not received in time: 408 request_timeout
  ClientGone,        // the client left before its answer: 499, logged, never sent
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
