#include "api/exchange.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace leadscore::api {
namespace {

const std::string* find_value(const std::vector<std::pair<std::string, std::string>>& pairs,
                              std::string_view name) {
  for (const auto& [k, v] : pairs)
    if (k == name) return &v;
  return nullptr;
}

struct ErrorRow {
  ErrorCode code;
  int status;
  std::string_view name;
};

// The one table from engine error codes to HTTP statuses.
constexpr ErrorRow kErrorTable[] = {
    {ErrorCode::Validation, 400, "validation_error"},
    {ErrorCode::NotFound, 404, "not_found"},
    {ErrorCode::LeadFinal, 409, "lead_final"},
    {ErrorCode::InvalidTransition, 409, "invalid_transition"},
    {ErrorCode::Conflict, 409, "conflict"},
    {ErrorCode::HandoffRejected, 422, "handoff_rejected"},
    {ErrorCode::ScorerUnavailable, 503, "scorer_unavailable"},
    {ErrorCode::Unavailable, 503, "unavailable"},
    {ErrorCode::Internal, 500, "internal_error"},
};

const ErrorRow& row_of(ErrorCode code) {
  for (const auto& row : kErrorTable)
    if (row.code == code) return row;
  return kErrorTable[std::size(kErrorTable) - 1];
}

}  // namespace

const std::string* ApiRequest::param(std::string_view name) const {
  return find_value(params, name);
}
const std::string* ApiRequest::query_value(std::string_view name) const {
  return find_value(query, name);
}

Reply json_reply(int status, const json& body) {
  return {status, body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json"};
}

Reply empty_reply(int status) { return {status, "", ""}; }

int status_of(ErrorCode code) { return row_of(code).status; }
std::string_view code_name(ErrorCode code) { return row_of(code).name; }

Reply error_reply(const Error& error, const std::string& request_id, const json& more_details) {
  json details = more_details;
  std::string message = error.message;
  if (error.code == ErrorCode::Internal) {
    message = "internal error; quote request id " + request_id;
    details["request_id"] = request_id;
  }
  if (!error.field.empty()) details["field"] = error.field;
  if (!error.failed_checks.empty()) details["failed_checks"] = error.failed_checks;
  return json_reply(status_of(error.code),
                    {{"error", {{"code", code_name(error.code)},
                                {"message", message},
                                {"details", details}}}});
}

std::expected<std::int64_t, Error> parse_id(const std::string* text, std::string_view field) {
  const std::string name(field);
  if (!text || text->empty()) return std::unexpected(Error::validation(name, name + " is required"));
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size())
    return std::unexpected(Error::validation(name, name + " must be a positive integer"));
  if (value < 1)
    return std::unexpected(Error::validation(name, name + " must be a positive integer"));
  return value;
}

std::expected<json, Error> parse_json_object(const std::string& body, bool empty_is_object) {
  if (empty_is_object && std::ranges::all_of(body, [](unsigned char c) { return std::isspace(c); }))
    return json::object();
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded())
    return std::unexpected(Error::validation("body", "the body is not valid JSON"));
  if (!parsed.is_object())
    return std::unexpected(Error::validation("body", "the body must be a JSON object"));
  return parsed;
}

std::optional<Error> check_members(const json& object,
                                   const std::vector<std::string_view>& allowed,
                                   const std::vector<std::string_view>& forbidden) {
  for (const auto& [key, value] : object.items()) {
    if (std::ranges::find(allowed, key) != allowed.end()) continue;
    if (std::ranges::find(forbidden, key) != forbidden.end() ||
        (forbidden.size() > 0 && key.starts_with("ai_")))
      return Error::validation(key, key + " may not be set by a caller");
    return Error::validation(key, "unknown field " + key);
  }
  return std::nullopt;
}

std::optional<Error> check_query(const ApiRequest& request,
                                 const std::vector<std::string_view>& allowed) {
  for (const auto& [key, value] : request.query)
    if (std::ranges::find(allowed, key) == allowed.end())
      return Error::validation(key, "unknown query parameter " + key);
  return std::nullopt;
}

}  // namespace leadscore::api
