// Every route that takes a body, fed a seeded corpus of hostile bodies: truncated JSON, deep
// nesting, huge numbers, NaN and Infinity, wrong types for every known field, invalid UTF-8, NUL
// bytes, a megabyte value, ten thousand members, duplicate keys; and CSV imports of ten thousand
// (repeated) columns, open quotes, NUL bytes and invalid UTF-8. Each is refused with a 4xx in a
// small, well-formed error answer, on a connection that stays up, and no lead, sale, offer or
// key changes. Bodies stay within server.max_body_bytes: the HTTP framing is not fuzzed here.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "tests/api/api_fixture.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxAnswerBytes = 64 << 10;
constexpr std::uint32_t kSeed = 20240601;
constexpr int kMutationsPerRoute = 40;

// What a known member holds when it is right; every other JSON type is wrong for it.
enum class Kind { Text, OptionalText, Integer, Boolean, TextList };

struct Member {
  std::string name;
  Kind kind;
};

// A route that takes a JSON body: a body it accepts (never sent as is) and its members.
struct JsonRoute {
  std::string method;
  std::string path;
  json valid;
  std::vector<Member> members;
};

// Values of every JSON type but the one `kind` accepts (null included where it is wrong).
std::vector<json> wrong_values(Kind kind) {
  std::vector<json> out{json(42),       json(-1.5),         json(true),       json::array(),
                        json::object(), json::array({"x"}), json::array({1}), json{{"a", 1}},
                        json(nullptr),  json("text")};
  std::erase_if(out, [kind](const json& v) {
    switch (kind) {
      case Kind::Text:
        return v.is_string();
      case Kind::OptionalText:
        return v.is_string() || v.is_null();
      case Kind::Integer:
        return v.is_number_integer();
      case Kind::Boolean:
        return v.is_boolean();
      case Kind::TextList:
        return v.is_array() && (v.empty() || v[0].is_string());
    }
    return false;
  });
  return out;
}

std::string nested(std::size_t levels, const std::string& open, const std::string& inner,
                   const std::string& close) {
  std::string out;
  out.reserve(levels * (open.size() + close.size()) + inner.size());
  for (std::size_t i = 0; i < levels; ++i) out += open;
  out += inner;
  for (std::size_t i = 0; i < levels; ++i) out += close;
  return out;
}

// `text` with `value` (raw JSON text) as the value of member `name` in place of the rest.
std::string with_member(const std::string& name, const std::string& value) {
  return "{" + json(name).dump() + ":" + value + "}";
}

// The hostile bodies every JSON route gets, whatever its members.
std::vector<std::string> generic_bodies(const JsonRoute& route) {
  const std::string valid = route.valid.dump();
  const std::string first = route.members.empty() ? "x" : route.members.front().name;
  std::vector<std::string> out{
      "{",
      "[",
      "{\"",
      "{\"a\":",
      "{\"a\":1,",
      "}",
      "]",
      "nul",
      "tru",
      "\"open",
      "{\"a\" 1}",
      "{'a':1}",
      "{a:1}",
      "{\"a\":1,}",
      "[1,]",
      "[] {}",
      "{}{}",
      valid + "x",
      valid + valid,
      // Valid JSON that is no object.
      "[]",
      "[{}]",
      "\"text\"",
      "42",
      "null",
      "true",
      "-0",
      // Deep nesting: closed, left open, under a known member, and of objects.
      nested(100000, "[", "", "]"),
      std::string(1000000, '['),
      with_member(first, nested(100000, "[", "1", "]")),
      nested(100000, "{\"a\":", "1", "}"),
      nested(65, "[", "", "]"),
      // Numbers no double holds, and tokens JSON does not have.
      with_member(first, "1e400"),
      with_member(first, "-1e400"),
      with_member(first, "1e-400"),
      with_member(first, "99999999999999999999999"),
      with_member(first, "NaN"),
      with_member(first, "Infinity"),
      with_member(first, "-Infinity"),
      "NaN",
      "Infinity",
      with_member(first, "0x10"),
      with_member(first, "01"),
      with_member(first, "+1"),
      // Invalid UTF-8: a stray byte, an overlong NUL, a surrogate, in a value and in a name.
      with_member(first, "\"caf\xe9\""),
      with_member(first, "\"\xc0\x80\""),
      with_member(first, "\"\xed\xa0\x80\""),
      with_member(first, "\"\\ud800\""),
      "{\"\xff\":1}",
      std::string("\xef\xbb\xbf") + "[]",
      "\xff" + valid,
      // NUL bytes: raw inside a string, outside one, and after a whole body.
      with_member(first, std::string("\"a\0b\"", 5)),
      std::string("\0", 1) + valid,
      valid + std::string("\0", 1),
      valid + std::string("\0garbage", 8),
      with_member(first, "\"\\u0000\""),
      // A megabyte: as a value, and as a member's name.
      with_member(first, "\"" + std::string(1000000, 'v') + "\""),
      with_member(std::string(1000000, 'k'), "1"),
      // Unknown members.
      with_member("zz_unknown", "1"),
      with_member("", "1"),
  };
  // Ten thousand members, all unknown; and ten thousand copies of one known member, each
  // holding a wrong value (the parser keeps the last).
  std::string many = "{", repeated = "{";
  for (int i = 0; i < 10000; ++i) {
    many += (i ? ",\"m" : "\"m") + std::to_string(i) + "\":" + std::to_string(i);
    repeated += (i ? "," : "") + json(first).dump() + ":{\"n\":" + std::to_string(i) + "}";
  }
  out.push_back(many + "}");
  out.push_back(repeated + "}");
  return out;
}

// The valid body with one member given a wrong value, for each member and wrong value; and with
// two copies of a member whose last value is wrong.
std::vector<std::string> typed_bodies(const JsonRoute& route) {
  std::vector<std::string> out;
  for (const Member& member : route.members) {
    for (const json& wrong : wrong_values(member.kind)) {
      json body = route.valid;
      body[member.name] = wrong;
      out.push_back(body.dump());
    }
    json without = route.valid;
    without.erase(member.name);
    std::string text = without.dump();
    text.pop_back();  // the closing brace
    const std::string name = json(member.name).dump();
    out.push_back(text + (without.empty() ? "" : ",") + name + ":" +
                  route.valid[member.name].dump() + "," + name + ":{\"dup\":true}}");
  }
  return out;
}

// Seeded mutations of the valid body that can never be valid: a proper prefix of an object,
// or a byte that no UTF-8 text holds (or NUL) put in anywhere.
std::vector<std::string> mutated_bodies(const std::string& valid, std::mt19937& random) {
  static const std::string kBadBytes("\xff\xfe\xc0\xc1\xf5\x80\xbf\0", 8);
  std::vector<std::string> out;
  for (int i = 0; i < kMutationsPerRoute; ++i) {
    std::string body = valid;
    if (random() % 2 == 0) {
      body.resize(1 + random() % (body.size() - 1));
    } else {
      body.insert(body.begin() + static_cast<std::ptrdiff_t>(random() % (body.size() + 1)),
                  kBadBytes[random() % kBadBytes.size()]);
    }
    out.push_back(std::move(body));
  }
  return out;
}

std::string printable(const std::string& body) {
  std::string out;
  for (unsigned char c : body.substr(0, 80)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return body.size() > 80 ? out + "... (" + std::to_string(body.size()) + " bytes)" : out;
}

class Fuzz : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    if (HasFatalFailure()) return;
    auto offer = call("POST", "/offers",
                      json{{"name", "Outreach"},
                           {"value_props", {"24/7"}},
                           {"ideal_use_cases", {"Fintech"}},
                           {"active", true}});
    ASSERT_EQ(offer.status, 201) << offer.body;
    offer_id = std::to_string(offer.json()["id"].get<std::int64_t>());
    json open = create_lead({{"source", "partner"}, {"name", "Open"}, {"industry", "Fintech"}});
    lead_id = std::to_string(open["id"].get<std::int64_t>());
    json sold = create_lead({{"source", "partner"}, {"business_domain", "fintech"}});
    const std::string sold_id = std::to_string(sold["id"].get<std::int64_t>());
    call("POST", "/leads/" + sold_id + "/activity", json{{"count", 8}});
    qualify(sold["id"]);
    ASSERT_EQ(call("POST", "/leads/" + sold_id + "/analyze").status, 200);
    auto transfer = call("POST", "/leads/" + sold_id + "/transfer");
    ASSERT_EQ(transfer.status, 201) << transfer.body;
    sale_id = std::to_string(transfer.json()["sale"]["id"].get<std::int64_t>());
  }

  // Everything a refused request must leave as it was.
  json snapshot() {
    json out;
    for (const char* table : {"leads", "sales", "offers", "stage_events", "analyses", "api_keys"})
      out["rows"][table] = count_rows(table);
    for (const std::string& path : {"/leads/" + lead_id, "/sales/" + sale_id, "/offers/" + offer_id,
                                    std::string("/admin/keys")})
      out[path] = client->request("GET", path, admin_key).json();
    return out;
  }

  // Sends `body`; expects a small, well-formed 4xx error answer.
  void expect_refused(const std::string& method, const std::string& path, const std::string& body,
                      const std::map<std::string, std::string>& headers = {}) {
    auto r = client->request(method, path, admin_key, body, headers);
    const std::string what = method + " " + path + " " + printable(body);
    ASSERT_NE(r.status, -1) << "no answer: " << r.body << " to " << what;
    EXPECT_GE(r.status, 400) << what << " -> " << r.body.substr(0, 300);
    EXPECT_LT(r.status, 500) << what << " -> " << r.body.substr(0, 300);
    EXPECT_LT(r.body.size(), kMaxAnswerBytes) << what;
    const json answer = r.json();
    ASSERT_TRUE(answer.is_object() && answer.contains("error")) << what << " -> " << r.body;
    const json& error = answer["error"];
    EXPECT_TRUE(error.is_object() && error.size() == 3) << what << " -> " << r.body;
    EXPECT_TRUE(error.value("code", json()).is_string()) << what << " -> " << r.body;
    EXPECT_TRUE(error.value("message", json()).is_string()) << what << " -> " << r.body;
    EXPECT_TRUE(error.value("details", json()).is_object()) << what << " -> " << r.body;
    ++sent;
  }

  void expect_serving() {
    EXPECT_EQ(client->request("GET", "/health").status, 200);
    HttpClient fresh(server->port());
    EXPECT_EQ(fresh.request("GET", "/health").status, 200);
  }

  std::string lead_id, sale_id, offer_id;
  int sent = 0;
};

TEST_F(Fuzz, EveryJsonRouteRefusesHostileBodiesAndChangesNothing) {
  using enum Kind;
  const std::vector<Member> profile{{"business_domain", OptionalText}, {"name", OptionalText},
                                    {"email", OptionalText},           {"role", OptionalText},
                                    {"company", OptionalText},         {"industry", OptionalText},
                                    {"location", OptionalText},        {"bio", OptionalText},
                                    {"phone", OptionalText},           {"website", OptionalText}};
  std::vector<Member> new_lead{{"source", Text}, {"activity_count", Integer}};
  new_lead.insert(new_lead.end(), profile.begin(), profile.end());
  const std::vector<Member> offer{{"name", Text},
                                  {"description", OptionalText},
                                  {"value_props", TextList},
                                  {"ideal_use_cases", TextList},
                                  {"active", Boolean}};
  const json lead_body{{"source", "manual"}, {"activity_count", 1}, {"business_domain", "x"},
                       {"name", "A"},        {"email", "a@b.c"},    {"role", "CTO"},
                       {"company", "C"},     {"industry", "I"},     {"location", "L"},
                       {"bio", "B"},         {"phone", "+1 555"},   {"website", "a.io"}};
  json patch_body = lead_body;
  patch_body.erase("source");
  patch_body.erase("activity_count");
  const json offer_body{{"name", "O"},
                        {"description", "D"},
                        {"value_props", {"v"}},
                        {"ideal_use_cases", {"u"}},
                        {"active", false}};
  const std::string lead = "/leads/" + lead_id;
  const std::vector<JsonRoute> routes{
      {"POST", "/leads", lead_body, new_lead},
      {"PATCH", lead, patch_body, profile},
      {"PATCH", lead + "/stage", {{"stage", "contacted"}}, {{"stage", Text}}},
      {"POST", lead + "/activity", {{"count", 2}}, {{"count", Integer}}},
      {"POST", lead + "/analyze", json::object(), {}},
      {"POST", lead + "/transfer", json::object(), {}},
      {"PATCH", "/sales/" + sale_id + "/stage", {{"stage", "kyc"}}, {{"stage", Text}}},
      {"POST", "/offers", offer_body, offer},
      {"PUT", "/offers/" + offer_id, offer_body, offer},
      {"POST",
       "/admin/keys",
       {{"name", "fuzzed"}, {"role", "viewer"}},
       {{"name", Text}, {"role", Text}}},
      {"POST", "/admin/reload", json::object(), {}},
  };
  // Values of the right type that are still refused: the limits of every text and list.
  const std::vector<std::tuple<std::size_t, std::string, json>> over_limits{
      {0, "bio", std::string(4001, 'b')},
      {0, "source", "carrier-pigeon"},
      {0, "name", std::string("a\0b", 3)},
      {1, "email", std::string(321, 'e')},
      {0, "phone", std::string(65, '5')},
      {1, "website", std::string(2049, 'w')},
      {3, "count", 1000001},
      {3, "count", 0},
      {7, "value_props", json(std::vector<std::string>(10000, "v"))},
      {7, "name", " "},
      {8, "ideal_use_cases", json::array({""})},
      {9, "name", "bad name!"},
      {9, "role", "owner"},
      {6, "stage", "won"},
      {2, "stage", "\u00e9"}};

  const json before = snapshot();
  std::mt19937 random(kSeed);
  for (const JsonRoute& route : routes) {
    std::vector<std::string> bodies = generic_bodies(route);
    for (auto& body : typed_bodies(route)) bodies.push_back(std::move(body));
    for (auto& body : mutated_bodies(route.valid.dump(), random)) bodies.push_back(std::move(body));
    for (const std::string& body : bodies) {
      expect_refused(route.method, route.path, body);
      if (HasFatalFailure()) return;
    }
    expect_serving();
  }
  for (const auto& [route, member, value] : over_limits) {
    json body = routes[route].valid;
    body[member] = value;
    expect_refused(routes[route].method, routes[route].path, body.dump());
  }
  EXPECT_GT(sent, 1000);
  expect_serving();
  EXPECT_EQ(snapshot(), before);
}

TEST_F(Fuzz, TheCsvImportRefusesHostileBodiesAndChangesNothing) {
  auto columns = [](const std::string& column, std::size_t count) {
    std::string out = column;
    for (std::size_t i = 1; i < count; ++i) out += "," + column;
    return out;
  };
  std::string ten_thousand = "source";
  for (int i = 0; i < 10000; ++i) ten_thousand += ",c" + std::to_string(i);
  std::string bad_rows = "source,name\n";
  for (int i = 0; i < 5000; ++i) bad_rows += "nowhere,x\n";
  const std::string valid = "source,name,bio\nmanual,Ann,x\npartner,Bob,y\n";
  std::vector<std::string> bodies{
      "",
      "\n\r\n",
      ten_thousand + "\nmanual\n",
      columns("source", 10000) + "\nmanual\n",
      "source" + std::string(1000000, ',') + "\nmanual\n",
      columns("source", 65) + "\n",
      "source,name,name,bio,bio\nmanual,a,b,c,d\n",
      // Quotes left open: in the header, in a row, and one that runs to the end of the body.
      "\"source,name\nmanual,Ann\n",
      valid + "manual,\"Ann,x\n",
      valid + "manual,\"" + std::string(500000, 'q') + "\n",
      "source,na\"me\nmanual,Ann\n",
      valid + "manual,\"Ann\"x,y\n",
      // NUL bytes and invalid UTF-8 in the header and in cells.
      std::string("sou\0rce,name\nmanual,Ann\n", 24),
      valid + std::string("manual,A\0n,x\n", 13),
      valid + std::string("manual\0,Ann,x\n", 14),
      "so\xffurce\nmanual\n",
      valid + "manual,caf\xe9,x\n",
      valid + "manual,\xc0\x80,x\n",
      valid + "manual,Ann,\xed\xa0\x80\n",
      std::string("\xef\xbb\xbf") + "name\nAnn\n",
      // Rows of too many or too few cells, a megabyte cell, thousands of bad rows.
      valid + "manual" + std::string(500000, ',') + "\n",
      valid + "manual\n",
      valid + "manual,Ann," + std::string(1000000, 'b') + "\n",
      bad_rows,
      valid + "manual,Ann,x,\n",
      "id,stage\n1,new\n",
      "name\nAnn\n",
      valid + "webinar,Ann,x\n",
  };
  std::mt19937 random(kSeed);
  static const std::string kBadBytes("\xff\xfe\xc0\x80\0", 5);
  for (int i = 0; i < kMutationsPerRoute; ++i) {
    std::string body = valid;
    if (random() % 2 == 0) {
      body.resize(random() % body.size());
      body += '"';  // a quote left open at whatever point the body was cut
    } else {
      body.insert(body.begin() + static_cast<std::ptrdiff_t>(random() % (body.size() + 1)),
                  kBadBytes[random() % kBadBytes.size()]);
    }
    bodies.push_back(std::move(body));
  }

  const json before = snapshot();
  for (const std::string& body : bodies) {
    expect_refused("POST", "/leads/import", body, {{"Content-Type", "text/csv"}});
    if (HasFatalFailure()) return;
  }
  expect_serving();
  EXPECT_EQ(snapshot(), before);
}

// Deep nesting is refused by its depth before the body is parsed (a parsed level costs memory),
// and the limit is exact: 64 levels are parsed, 65 are not.
TEST_F(Fuzz, BodiesNestedDeeperThan64LevelsAreRefusedByTheirDepth) {
  const json before = snapshot();
  for (const std::string& body :
       {std::string(1000000, '['), nested(100000, "{\"a\":", "1", "}"),
        with_member("source", nested(64, "[", "", "]")), nested(65, "[", "", "]")}) {
    auto r = call("POST", "/leads", body);
    ASSERT_EQ(r.status, 400) << printable(body);
    EXPECT_EQ(r.json()["error"]["details"]["field"], "body");
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("deeper than 64 levels"),
              std::string::npos)
        << r.body;
  }
  // Brackets inside strings do not count; 64 levels parse and are judged by their members.
  auto in_string =
      call("POST", "/leads", with_member("source", "\"" + std::string(100, '[') + "\""));
  EXPECT_EQ(in_string.status, 400);
  EXPECT_EQ(in_string.json()["error"]["details"]["field"], "source") << in_string.body;
  auto at_limit = call("POST", "/leads", with_member("source", nested(63, "[", "", "]")));
  EXPECT_EQ(at_limit.status, 400);
  EXPECT_EQ(at_limit.json()["error"]["details"]["field"], "source") << at_limit.body;
  EXPECT_EQ(snapshot(), before);
}

}  // namespace
}  // namespace leadscore::testing
