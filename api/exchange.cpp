#include "api/exchange.h"

#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstdio>

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
    {ErrorCode::InvalidConfig, 422, "invalid_config"},
    {ErrorCode::ScorerUnavailable, 503, "scorer_unavailable"},
    {ErrorCode::Unavailable, 503, "unavailable"},
    {ErrorCode::Unauthorized, 401, "unauthorized"},
    {ErrorCode::Forbidden, 403, "forbidden"},
    {ErrorCode::RateLimited, 429, "rate_limited"},
    {ErrorCode::PayloadTooLarge, 413, "payload_too_large"},
    {ErrorCode::MalformedRequest, 400, "bad_request"},
    {ErrorCode::LengthRequired, 411, "length_required"},
    {ErrorCode::UriTooLong, 414, "uri_too_long"},
    {ErrorCode::HeaderTooLarge, 431, "header_too_large"},
    {ErrorCode::RequestTimeout, 408, "request_timeout"},
    {ErrorCode::ClientGone, 499, "client_gone"},
    {ErrorCode::Internal, 500, "internal_error"},
};

const ErrorRow& row_of(ErrorCode code) {
  for (const auto& row : kErrorTable)
    if (row.code == code) return row;
  return kErrorTable[std::size(kErrorTable) - 1];
}

// Whether arrays and objects nest deeper than `limit` in `text`: brackets are counted outside
// strings only, and the scan stops at the first one past the limit.
bool nests_deeper_than(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character, a quote included
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

}  // namespace

std::string quoted_name(std::string_view name) {
  if (name.size() <= kMaxQuotedNameBytes) return std::string(name);
  std::size_t end = kMaxQuotedNameBytes;
  // Back off to the start of a UTF-8 character (past at most three continuation bytes).
  for (int i = 0; i < 3 && end > 0 && (static_cast<unsigned char>(name[end]) & 0xC0) == 0x80; ++i)
    --end;
  return std::string(name.substr(0, end)) + "...";
}

const std::string* ApiRequest::param(std::string_view name) const {
  return find_value(params, name);
}
const std::string* ApiRequest::query_value(std::string_view name) const {
  return find_value(query, name);
}

Reply json_reply(int status, const json& body) {
  return {
      status, body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json", {}};
}

Reply empty_reply(int status) { return {status, "", "", {}}; }

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
  return json_reply(
      status_of(error.code),
      {{"error", {{"code", code_name(error.code)}, {"message", message}, {"details", details}}}});
}

std::expected<std::int64_t, Error> parse_id(const std::string* text, std::string_view field) {
  const std::string name(field);
  if (!text || text->empty())
    return std::unexpected(Error::validation(name, name + " is required"));
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
  // The parser takes a NUL byte for the end of the input and would accept whatever follows
  // it; JSON never holds one (a string holds \u0000 instead).
  if (body.find('\0') != std::string::npos)
    return std::unexpected(Error::validation("body", "the body is not valid JSON (a NUL byte)"));
  if (nests_deeper_than(body, kMaxJsonDepth))
    return std::unexpected(
        Error::validation("body", "the body nests arrays and objects deeper than " +
                                      std::to_string(kMaxJsonDepth) + " levels"));
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded())
    return std::unexpected(Error::validation("body", "the body is not valid JSON"));
  if (!parsed.is_object())
    return std::unexpected(Error::validation("body", "the body must be a JSON object"));
  return parsed;
}

std::optional<Error> check_members(const json& object, const std::vector<std::string_view>& allowed,
                                   const std::vector<std::string_view>& forbidden) {
  for (const auto& [key, value] : object.items()) {
    if (std::ranges::find(allowed, key) != allowed.end()) continue;
    const std::string name = quoted_name(key);
    if (std::ranges::find(forbidden, key) != forbidden.end() ||
        (forbidden.size() > 0 && key.starts_with("ai_")))
      return Error::validation(name, name + " may not be set by a caller");
    return Error::validation(name, "unknown field " + name);
  }
  return std::nullopt;
}

std::optional<Error> check_query(const ApiRequest& request,
                                 const std::vector<std::string_view>& allowed) {
  for (const auto& [key, value] : request.query)
    if (std::ranges::find(allowed, key) == allowed.end()) {
      const std::string name = quoted_name(key);
      return Error::validation(name, "unknown query parameter " + name);
    }
  return std::nullopt;
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (unsigned char c : id)
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

// Process-unique ids: a random prefix chosen at start, then a counter.
std::string next_request_id() {
  static const std::uint32_t prefix = [] {
    std::uint32_t value = 0;
    if (getrandom(&value, sizeof value, 0) != sizeof value) value = 0x5eed;
    return value;
  }();
  static std::atomic<std::uint64_t> counter{0};
  // "%08x-%08llx", written by hand: it is made for nearly every request.
  static constexpr char kDigits[] = "0123456789abcdef";
  const std::uint64_t count = counter.fetch_add(1) + 1;
  int count_digits = 8;
  while (count_digits < 16 && (count >> (4 * count_digits)) != 0) ++count_digits;
  std::string id(9 + static_cast<std::size_t>(count_digits), '-');
  for (int i = 0; i < 8; ++i)
    id[static_cast<std::size_t>(i)] = kDigits[(prefix >> (28 - 4 * i)) & 0xf];
  for (int i = 0; i < count_digits; ++i)
    id[9 + static_cast<std::size_t>(i)] = kDigits[(count >> (4 * (count_digits - 1 - i))) & 0xf];
  return id;
}

}  // namespace leadscore::api
