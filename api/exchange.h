// One HTTP exchange as the route handlers see it: the parts of a request copied off the
// reactor thread (Pistache reuses its Request once the handler returns), and the reply a
// handler produces. Errors map to statuses in one table (status_of).
//
// Threading: plain values; an ApiRequest belongs to the one task that handles it.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/auth.h"
#include "engine/domain/error.h"

namespace leadscore::api {

using domain::Error;
using domain::ErrorCode;
using nlohmann::json;

struct ApiRequest {
  std::string id;      // request id, also sent back as X-Request-Id
  std::string client;  // the client's address: the front door's X-Real-IP, else the peer's
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> params;  // path parameters, without ':'
  std::vector<std::pair<std::string, std::string>> query;
  std::string body;
  Identity identity;  // who asked; empty name on unauthenticated routes
  // When the request arrived whole (its time limits count from here).
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();

  const std::string* param(std::string_view name) const;
  const std::string* query_value(std::string_view name) const;
};

struct Reply {
  int status = 200;
  std::string body;  // JSON unless content_type says otherwise
  std::string content_type = "application/json";
  std::string cache_control;  // a Cache-Control header when not empty
};

Reply json_reply(int status, const json& body);
Reply empty_reply(int status);  // e.g. 204

// {"error": {"code", "message", "details"}}; a 500 says only "internal error" and the
// request id, never the message (which the caller logs).
// `more_details` are added to details (e.g. the refused rows of an import).
Reply error_reply(const Error& error, const std::string& request_id,
                  const json& more_details = json::object());
int status_of(ErrorCode code);
std::string_view code_name(ErrorCode code);

// Request ids: a valid one sent by a client (1..64 of [A-Za-z0-9._-]) is kept; otherwise the
// server makes one, unique in the process (a random prefix chosen at start, then a counter).
bool valid_request_id(std::string_view id);
std::string next_request_id();

// Arrays and objects in a JSON body nest at most this deep; a deeper body is refused before
// it is parsed (a parsed level costs memory, and a million of them fit in a megabyte).
constexpr std::size_t kMaxJsonDepth = 64;
// The most bytes of a name from a request (a member, a query parameter) an answer quotes.
constexpr std::size_t kMaxQuotedNameBytes = 64;

// `name`, from a request, as an answer quotes it: cut after kMaxQuotedNameBytes bytes (at a
// character boundary, marked with "...") so that the answer stays small.
std::string quoted_name(std::string_view name);

// Strict parsing of request parts; each failure is a Validation error naming the field.
std::expected<std::int64_t, Error> parse_id(const std::string* text, std::string_view field);
// The body as a JSON object: a Validation error (field "body") when it is not valid JSON (a
// NUL byte anywhere included), not an object, or nests deeper than kMaxJsonDepth.
std::expected<json, Error> parse_json_object(const std::string& body, bool empty_is_object);
// Refuses any member not in `allowed`; names in `forbidden` get their own message.
std::optional<Error> check_members(const json& object, const std::vector<std::string_view>& allowed,
                                   const std::vector<std::string_view>& forbidden = {});
// Refuses any query parameter not in `allowed`.
std::optional<Error> check_query(const ApiRequest& request,
                                 const std::vector<std::string_view>& allowed);

}  // namespace leadscore::api
