#include "api/json_mapping.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

#include "api/exchange.h"
#include "engine/store/resource_json.h"

namespace leadscore::api {
namespace {

using domain::Error;

json optional_text(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

json features_json(const domain::Features& f) {
  json out{{"source", f.source},
           {"stage", domain::to_string(f.stage)},
           {"activity_count", f.activity_count},
           {"business_domain", optional_text(f.business_domain)}};
  domain::for_each_profile_field(
      f.profile, [&](const char* name, const auto& v) { out[name] = optional_text(v); });
  out["offer_id"] = f.offer ? json(f.offer->id) : json(nullptr);
  return out;
}

// A text member: a string, or null to leave it empty.
std::expected<std::optional<std::string>, Error> text_member(const json& value,
                                                             const std::string& field) {
  if (value.is_null()) return std::optional<std::string>{};
  if (!value.is_string())
    return std::unexpected(Error::validation(field, field + " must be a string or null"));
  return std::optional<std::string>{value.get<std::string>()};
}

// A required text member (not null).
std::expected<std::string, Error> required_text(const json& body, const std::string& field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null())
    return std::unexpected(Error::validation(field, field + " is required"));
  if (!it->is_string())
    return std::unexpected(Error::validation(field, field + " must be a string"));
  return it->get<std::string>();
}

// A list of strings (value_props, ideal_use_cases).
std::expected<std::vector<std::string>, Error> text_list_member(const json& value,
                                                                const std::string& field) {
  if (!value.is_array())
    return std::unexpected(Error::validation(field, field + " must be an array of strings"));
  std::vector<std::string> items;
  items.reserve(value.size());
  for (const json& item : value) {
    if (!item.is_string())
      return std::unexpected(Error::validation(
          field, field + "[" + std::to_string(items.size()) + "] must be a string"));
    items.push_back(item.get<std::string>());
  }
  return items;
}

const std::vector<std::string_view> kOfferServerFields{"id", "created_at", "updated_at"};

const std::vector<std::string_view> kServerFields{"id", "stage", "created_at", "updated_at"};

}  // namespace

json to_json(const domain::Lead& lead) { return store::lead_json(lead); }

namespace {

// Members of one JSON object, each value already JSON text, written in nlohmann's order (a
// json object is a std::map: keys in byte order).
class ObjectText {
 public:
  void text(std::string_view key, std::string_view value) {
    std::string& out = add(key);
    // Printable ASCII without quote or backslash is written as it is; the rest as nlohmann
    // writes it (escapes, and invalid UTF-8 replaced as json_reply asks).
    if (std::all_of(value.begin(), value.end(),
                    [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; })) {
      out += '"';
      out += value;
      out += '"';
    } else {
      out += json(value).dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }
  void text(std::string_view key, const std::optional<std::string>& value) {
    if (value)
      text(key, std::string_view(*value));
    else
      null(key);
  }
  void integer(std::string_view key, std::int64_t value) {
    char buffer[24];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    add(key).append(buffer, end);
  }
  void real(std::string_view key, std::optional<double> value) {
    if (!value || !std::isfinite(*value)) return null(key);
    std::array<char, 64> buffer{};
    char* end = nlohmann::detail::to_chars(buffer.data(), buffer.data() + buffer.size(), *value);
    add(key).append(buffer.data(), end);
  }
  void null(std::string_view key) { add(key) += "null"; }
  void object(std::string_view key, const ObjectText& value) { add(key) += value.str(); }

  std::string str() const {
    std::vector<const Member*> order;
    order.reserve(members_.size());
    std::size_t size = 2;
    for (const Member& m : members_) {
      order.push_back(&m);
      size += m.key.size() + m.value.size() + 4;
    }
    std::sort(order.begin(), order.end(),
              [](const Member* a, const Member* b) { return a->key < b->key; });
    std::string out;
    out.reserve(size);
    out += '{';
    for (const Member* m : order) {
      if (out.size() > 1) out += ',';
      out += '"';
      out += m->key;  // the mapping's own names: nothing to escape
      out += "\":";
      out += m->value;
    }
    out += '}';
    return out;
  }

 private:
  struct Member {
    std::string_view key;
    std::string value;
  };
  std::string& add(std::string_view key) { return members_.emplace_back(Member{key, {}}).value; }
  std::vector<Member> members_;
};

}  // namespace

std::string lead_json_text(const domain::Lead& lead) {
  ObjectText out;
  out.integer("id", lead.id);
  out.text("source", std::string_view(lead.source));
  out.text("stage", domain::to_string(lead.stage));
  out.text("business_domain", lead.business_domain);
  out.integer("activity_count", lead.activity_count);
  domain::for_each_profile_field(lead.profile,
                                 [&](const char* name, const auto& v) { out.text(name, v); });
  out.real("ai_score", lead.ai_score);
  if (lead.ai_recommendation)
    out.text("ai_recommendation", domain::to_string(*lead.ai_recommendation));
  else
    out.null("ai_recommendation");
  out.text("ai_reason", lead.ai_reason);
  if (lead.ai_scorer) {
    ObjectText scorer;
    scorer.text("name", std::string_view(*lead.ai_scorer));
    scorer.text("version", std::string_view(lead.ai_scorer_version ? *lead.ai_scorer_version : ""));
    out.object("ai_scorer", scorer);
  } else {
    out.null("ai_scorer");
  }
  out.text("ai_analyzed_at", lead.ai_analyzed_at);
  out.text("created_at", std::string_view(lead.created_at));
  out.text("updated_at", std::string_view(lead.updated_at));
  return out.str();
}

json to_json(const domain::Sale& sale) { return store::sale_json(sale); }

json to_json(const store::StageEvent& e) {
  return {{"from", e.from ? json(domain::to_string(*e.from)) : json(nullptr)},
          {"to", domain::to_string(e.to)},
          {"actor", e.actor},
          {"request_id", optional_text(e.request_id)},
          {"at", e.at}};
}

json to_json(const domain::ScoreResult& r) {
  json contributions = json::array();
  for (const auto& c : r.contributions)
    contributions.push_back({{"rule", c.rule}, {"points", c.points}});
  json out{{"score", r.score},
           {"recommendation", domain::to_string(r.recommendation)},
           {"reason", r.reason},
           {"contributions", std::move(contributions)}};
  if (r.intent) out["intent"] = *r.intent;  // optional: absent when the scorer gave none
  return out;
}

namespace {

// A stored audit (a JSON object text) as JSON; null when the run kept none.
json audit_json(const std::optional<std::string>& audit) {
  if (!audit) return nullptr;
  json parsed = json::parse(*audit, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? json(*audit) : parsed;
}

}  // namespace

json to_json(const domain::Analysis& a) {
  json out{{"id", a.id},
           {"scorer", a.scorer},
           {"scorer_version", a.scorer_version},
           {"role", a.role},
           {"actor", a.actor},
           {"features", features_json(a.features)},
           {"latency_ms", a.latency_ms},
           {"error", optional_text(a.error)},
           {"audit", audit_json(a.audit)},
           {"request_id", optional_text(a.request_id)},
           {"experiment", optional_text(a.experiment)},
           {"arm", optional_text(a.arm)},
           {"created_at", a.created_at}};
  if (a.result) {
    json r = to_json(*a.result);
    for (auto& [k, v] : r.items()) out[k] = v;
  }
  return out;
}

json to_json(const store::ApiKey& key) {
  return {{"name", key.name}, {"role", store::to_string(key.role)}, {"created_at", key.created_at}};
}

json to_json(const domain::Offer& offer) {
  return {{"id", offer.id},
          {"name", offer.name},
          {"description", optional_text(offer.description)},
          {"value_props", offer.value_props},
          {"ideal_use_cases", offer.ideal_use_cases},
          {"active", offer.active},
          {"created_at", offer.created_at},
          {"updated_at", offer.updated_at}};
}

json to_json(const domain::Job& job) {
  const domain::JobFilter& f = job.filter;
  json filter = json::object();
  if (f.stage) filter["stage"] = domain::to_string(*f.stage);
  if (f.source) filter["source"] = *f.source;
  if (f.min_score) filter["min_score"] = *f.min_score;
  if (f.max_score) filter["max_score"] = *f.max_score;
  if (f.recommendation) filter["recommendation"] = domain::to_string(*f.recommendation);
  if (f.unscored) filter["unscored"] = *f.unscored;
  const auto eta = domain::job_eta_seconds(job);
  return {{"id", job.id},
          {"status", domain::to_string(job.status)},
          {"scorer", optional_text(job.scorer)},
          {"filter", std::move(filter)},
          {"total", job.total},
          {"done", job.done},
          {"failed", job.failed},
          {"created_by", job.created_by},
          {"created_at", job.created_at},
          {"started_at", optional_text(job.started_at)},
          {"finished_at", optional_text(job.finished_at)},
          {"rate", domain::job_rate(job)},
          {"eta_seconds", eta ? json(*eta) : json(nullptr)},
          {"error", optional_text(job.error)}};
}

std::expected<domain::OfferInput, Error> parse_offer(const json& body) {
  if (auto e =
          check_members(body, {"name", "description", "value_props", "ideal_use_cases", "active"},
                        kOfferServerFields))
    return std::unexpected(*e);
  domain::OfferInput offer;
  auto name = required_text(body, "name");
  if (!name) return std::unexpected(name.error());
  offer.name = std::move(*name);
  if (auto description = body.find("description"); description != body.end()) {
    auto text = text_member(*description, "description");
    if (!text) return std::unexpected(text.error());
    offer.description = *text;
  }
  for (auto [field, target] : {std::pair{"value_props", &offer.value_props},
                               std::pair{"ideal_use_cases", &offer.ideal_use_cases}}) {
    if (auto it = body.find(field); it != body.end()) {
      auto items = text_list_member(*it, field);
      if (!items) return std::unexpected(items.error());
      *target = std::move(*items);
    }
  }
  if (auto active = body.find("active"); active != body.end()) {
    if (!active->is_boolean())
      return std::unexpected(Error::validation("active", "active must be true or false"));
    offer.active = active->get<bool>();
  }
  return offer;
}

std::expected<domain::Offer, Error> parse_offer_file(const json& body) {
  if (!body.is_object())
    return std::unexpected(Error::validation("body", "an offer must be a JSON object"));
  json fields = body;
  domain::Offer offer;
  if (auto id = fields.find("id"); id != fields.end()) {
    if (!id->is_number_integer() || id->get<std::int64_t>() < 1)
      return std::unexpected(Error::validation("id", "id must be a positive integer"));
    offer.id = id->get<std::int64_t>();
  }
  for (const char* ignored : {"id", "created_at", "updated_at", "active"}) fields.erase(ignored);
  auto input = parse_offer(fields);
  if (!input) return std::unexpected(input.error());
  if (auto e = domain::validate(*input)) return std::unexpected(*e);
  static_cast<domain::OfferInput&>(offer) = std::move(*input);
  return offer;
}

std::shared_ptr<const domain::OfferView> offer_view(const domain::Offer& offer) {
  json out = json::object();
  if (offer.id > 0) out["id"] = offer.id;
  out["name"] = offer.name;
  if (offer.description) out["description"] = *offer.description;
  out["value_props"] = offer.value_props;
  out["ideal_use_cases"] = offer.ideal_use_cases;
  return std::make_shared<const domain::OfferView>(
      domain::OfferView{offer.id, out.dump(-1, ' ', false, json::error_handler_t::replace)});
}

std::expected<domain::NewLead, Error> parse_new_lead(const json& body) {
  static const std::vector<std::string_view> allowed = [] {
    std::vector<std::string_view> members{"source", "activity_count"};
    for (std::string_view field : domain::text_field_names()) members.push_back(field);
    return members;
  }();
  if (auto e = check_members(body, allowed, kServerFields)) return std::unexpected(*e);
  domain::NewLead lead;
  auto source = required_text(body, "source");
  if (!source) return std::unexpected(source.error());
  lead.source = std::move(*source);
  if (auto count = body.find("activity_count"); count != body.end()) {
    if (!count->is_number_integer() ||
        (count->is_number_unsigned() &&
         count->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max())))
      return std::unexpected(
          Error::validation("activity_count", "activity_count must be an integer >= 0"));
    lead.activity_count = count->get<std::int64_t>();
  }
  if (auto domain_value = body.find("business_domain"); domain_value != body.end()) {
    auto text = text_member(*domain_value, "business_domain");
    if (!text) return std::unexpected(text.error());
    lead.business_domain = *text;
  }
  std::optional<Error> error;
  domain::for_each_profile_field(lead.profile,
                                 [&](const char* name, std::optional<std::string>& target) {
                                   auto it = body.find(name);
                                   if (error || it == body.end()) return;
                                   auto text = text_member(*it, name);
                                   if (!text)
                                     error = text.error();
                                   else
                                     target = *text;
                                 });
  if (error) return std::unexpected(*error);
  return lead;
}

std::expected<domain::LeadPatch, Error> parse_lead_patch(const json& body) {
  if (auto e =
          check_members(body, domain::text_field_names(),
                        {"id", "stage", "source", "activity_count", "created_at", "updated_at"}))
    return std::unexpected(*e);
  domain::LeadPatch patch;
  auto read = [&](std::string_view name,
                  std::optional<std::optional<std::string>>& target) -> std::optional<Error> {
    auto it = body.find(std::string(name));
    if (it == body.end()) return std::nullopt;
    auto text = text_member(*it, std::string(name));
    if (!text) return text.error();
    target = *text;
    return std::nullopt;
  };
  std::optional<Error> error = read("business_domain", patch.business_domain);
  domain::for_each_profile_field(patch, [&](std::string_view name, auto& target) {
    if (!error) error = read(name, target);
  });
  if (error) return std::unexpected(*error);
  if (patch.empty())
    return std::unexpected(Error::validation(
        "body", "nothing to change: give at least one of " + domain::text_field_list()));
  return patch;
}

}  // namespace leadscore::api
