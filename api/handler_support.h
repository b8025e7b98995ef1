// Small helpers shared by the route handlers (not part of the API's public face).
#pragma once

#include <spdlog/spdlog.h>

#include <charconv>

#include "api/exchange.h"
#include "api/json_mapping.h"
#include "api/routes.h"

namespace leadscore::api {

// The error reply for `error`; an internal error is logged here with the request id, and
// its message never leaves the server.
inline Reply fail(const Error& error, const ApiRequest& request) {
  if (error.code == ErrorCode::Internal)
    spdlog::error("request {} {} {}: {}", request.id, request.method, request.path, error.message);
  else if (error.code == ErrorCode::Unavailable)
    spdlog::warn("request {} {} {}: {}", request.id, request.method, request.path, error.message);
  return error_reply(error, request.id);
}

// A refusal (not an internal error) with `more_details` added to its details.
inline Reply fail(const ApiRequest& request, const Error& error, const json& more_details) {
  return error_reply(error, request.id, more_details);
}

// The parsed JSON object body of `request`, with the members limited to `allowed`.
inline std::expected<json, Error> object_body(const ApiRequest& request,
                                              const std::vector<std::string_view>& allowed,
                                              bool empty_is_object = false) {
  auto body = parse_json_object(request.body, empty_is_object);
  if (!body) return body;
  if (auto e = check_members(*body, allowed)) return std::unexpected(*e);
  return body;
}

// The GET /leads filters (stage, source, min_score, max_score, recommendation) among `values`
// (a query's parameters, or a JSON filter's members as text); Validation naming the field.
// Defined in lead_routes.cpp.
namespace routes {
std::expected<store::LeadFilter, Error> lead_filter(
    const Services& s, const std::vector<std::pair<std::string, std::string>>& values);
// The same filters as a JSON object, a body's member `field` (POST /jobs/score,
// POST /scorers/compare): min_score and max_score numbers, the others strings; members in
// `also` are allowed and left to the caller. Validation naming `field`.MEMBER.
std::expected<store::LeadFilter, Error> lead_filter_object(
    const Services& s, const json& filter, const std::string& field,
    const std::vector<std::string_view>& also = {});
}  // namespace routes

// Keyset paging parameters: `limit` 1..1000 (default 50) and `cursor`.
inline std::expected<store::PageRequest, Error> parse_page(const ApiRequest& r) {
  store::PageRequest page;
  if (const auto* limit = r.query_value("limit")) {
    int value = 0;
    auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), value);
    if (ec != std::errc() || end != limit->data() + limit->size() || value < 1 || value > 1000)
      return std::unexpected(Error::validation("limit", "limit must be an integer from 1 to 1000"));
    page.limit = value;
  }
  if (const auto* cursor = r.query_value("cursor")) {
    auto id = parse_id(cursor, "cursor");
    if (!id)
      return std::unexpected(Error::validation("cursor", "cursor is not one this server gave"));
    page.after_id = *id;
  }
  return page;
}

// {items, next_cursor}; next_cursor is null on the last page.
template <typename T>
Reply page_reply(const store::Page<T>& page) {
  json items = json::array();
  for (const auto& item : page.items) items.push_back(to_json(item));
  return json_reply(
      200, {{"items", std::move(items)},
            {"next_cursor",
             page.next_after_id ? json(std::to_string(*page.next_after_id)) : json(nullptr)}});
}

// A route on /<things>/{id}: the reply of `act(session, id)`, on a leased session (the
// reactor's own when it runs as a ReactorRead there).
template <typename Act>
Reply with_path_id(const Services& s, const ApiRequest& r, Act&& act) {
  auto id = parse_id(r.param("id"), "id");
  if (!id) return fail(id.error(), r);
  if (s.leased) return act(*s.leased, *id);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  return act(*session, *id);
}

// GET /<things>/{id}: `read(session, id)` the one named by the path, and answer it.
template <typename Read>
Reply get_by_id(const Services& s, const ApiRequest& r, Read&& read) {
  return with_path_id(s, r, [&](store::Session& session, std::int64_t id) {
    auto found = read(session, id);
    if (!found) return fail(found.error(), r);
    return json_reply(200, to_json(*found));
  });
}

// GET /<things>: one keyset page (`limit`, `cursor`) of `list(session, page)`.
template <typename List>
Reply list_by_page(const Services& s, const ApiRequest& r, List&& list) {
  if (auto e = check_query(r, {"limit", "cursor"})) return fail(*e, r);
  auto page = parse_page(r);
  if (!page) return fail(page.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto items = list(*session, *page);
  if (!items) return fail(items.error(), r);
  return page_reply(*items);
}

}  // namespace leadscore::api
