// Administration routes: API keys (admin only; a key is shown once, when created) and the
// list of loaded scorers.
#include "api/handler_support.h"
#include "api/json_mapping.h"

namespace leadscore::api::routes {
namespace {

bool valid_key_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

// Reloads the key cache after this process changed the keys.
std::optional<Error> refresh_keys(const Services& s, store::Session& session) {
  auto keys = session.list_api_keys();
  if (!keys) return keys.error();
  s.keys->replace(*keys);
  return std::nullopt;
}

}  // namespace

namespace {

json scorers_json(const Services& s, const scoring::ScorerSet& scorers) {
  json items = json::array();
  for (const auto& entry : scorers.entries()) {
    auto error = s.scorers->last_error(entry.scorer->name());
    items.push_back({{"name", entry.scorer->name()},
                     {"plugin", entry.plugin},
                     {"plugin_path", entry.plugin_path},
                     {"version", entry.scorer->version()},
                     {"role", entry.role.empty() ? json(nullptr) : json(entry.role)},
                     {"fallback", entry.fallback.empty() ? json(nullptr) : json(entry.fallback)},
                     {"slow", entry.scorer->slow()},
                     {"last_error", error ? json{{"message", error->message}, {"at", error->at}}
                                          : json(nullptr)}});
  }
  return items;
}

}  // namespace

Reply list_scorers(const Services& s, const ApiRequest&) {
  return json_reply(200, {{"items", scorers_json(s, *s.scorers->current())}});
}

// Builds the whole scorer set again from the files (config, plugins, params) beside the live
// one and swaps it in only when all of it loads; else 422 with every positioned error and the
// old set keeps serving. Requests in flight finish on the set they started with.
Reply reload(const Services& s, const ApiRequest& r) {
  if (auto body = object_body(r, {}, /*empty_is_object=*/true); !body) return fail(body.error(), r);
  auto reloaded = s.scorers->reload();
  if (!reloaded) {
    json errors = json::array();
    for (const auto& e : reloaded.error())
      errors.push_back(
          {{"file", e.file}, {"line", e.line}, {"column", e.column}, {"message", e.message}});
    spdlog::warn("reload refused ({} errors); the live scorers stay", reloaded.error().size());
    return fail(r,
                {ErrorCode::InvalidConfig, "the configuration has errors; nothing changed", {}, {}},
                {{"errors", std::move(errors)}});
  }
  spdlog::info("reloaded: {} scorers, primary {}", (*reloaded)->entries().size(),
               (*reloaded)->primary().name());
  return json_reply(200, {{"scorers", scorers_json(s, **reloaded)}});
}

Reply create_key(const Services& s, const ApiRequest& r) {
  auto body = object_body(r, {"name", "role"});
  if (!body) return fail(body.error(), r);
  auto name = body->find("name");
  if (name == body->end() || !name->is_string() || !valid_key_name(name->get<std::string>()))
    return fail(Error::validation("name",
                                  "name is required: 1 to 64 letters, digits, '-', '_' "
                                  "or '.'"),
                r);
  auto role_member = body->find("role");
  auto role = role_member != body->end() && role_member->is_string()
                  ? store::parse_role(role_member->get<std::string>())
                  : std::nullopt;
  if (!role)
    return fail(Error::validation("role", "role must be one of: viewer, manager, analyst, admin"),
                r);
  const std::string key = generate_key();
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto created = session->create_api_key(name->get<std::string>(), *role, hash_key(key));
  if (!created) return fail(created.error(), r);
  if (auto e = refresh_keys(s, *session)) return fail(*e, r);
  json out = to_json(*created);
  out["key"] = key;
  return json_reply(201, out);
}

Reply list_keys(const Services& s, const ApiRequest& r) {
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto keys = session->list_api_keys();
  if (!keys) return fail(keys.error(), r);
  json items = json::array();
  for (const auto& k : *keys) items.push_back(to_json(k));
  return json_reply(200, {{"items", std::move(items)}});
}

Reply delete_key(const Services& s, const ApiRequest& r) {
  const std::string* name = r.param("name");
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto keys = session->list_api_keys();
  if (!keys) return fail(keys.error(), r);
  auto target = std::ranges::find(*keys, *name, &store::ApiKey::name);
  if (target == keys->end()) return fail(Error::not_found("no API key named " + *name), r);
  const auto admins = std::ranges::count(*keys, store::Role::Admin, &store::ApiKey::role);
  if (target->role == store::Role::Admin && admins == 1)
    return fail({ErrorCode::Conflict, "the last admin key cannot be deleted", {}, {}}, r);
  if (auto deleted = session->delete_api_key(*name); !deleted) return fail(deleted.error(), r);
  if (auto e = refresh_keys(s, *session)) return fail(*e, r);
  return empty_reply(204);
}

}  // namespace leadscore::api::routes
