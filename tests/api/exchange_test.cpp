// The parts of an HTTP exchange that need no server (api/exchange.h): the one table from
// domain::ErrorCode to status and error name, the error body every refusal carries, request
// ids, and the strict parsing of ids, JSON bodies, members and query parameters.
#include "api/exchange.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/domain/utf8.h"

namespace leadscore::api {
namespace {

// One enumerator of domain::ErrorCode as engine/domain/error.h declares and documents it
// ("HandoffRejected,  // 422 handoff_rejected, details.failed_checks").
struct DocumentedCode {
  std::string enumerator;
  ErrorCode code;
  int status = 0;    // the status its comment names
  std::string name;  // the error name its comment names; empty when it names none
};

// Every ErrorCode, read from the header: the enumerators have implicit values, so the i-th one
// declared is ErrorCode(i). A code added to error.h is checked here without a change to this
// test.
std::vector<DocumentedCode> documented_codes() {
  std::ifstream in(LEADSCORE_SOURCE_DIR "/engine/domain/error.h");
  std::stringstream text;
  text << in.rdbuf();
  const std::string header = text.str();
  const auto begin = header.find("enum class ErrorCode {");
  const auto end = header.find("};", begin);
  if (begin == std::string::npos || end == std::string::npos) return {};
  std::istringstream body(header.substr(begin, end - begin));
  const std::regex enumerator(R"(^\s*([A-Z][A-Za-z]*),\s*//(.*)$)");
  const std::regex documented(R"(\b([1-5][0-9][0-9])\b(?:\s+([a-z_]+)\b)?)");
  std::vector<DocumentedCode> codes;
  for (std::string line; std::getline(body, line);) {
    std::smatch match;
    if (!std::regex_match(line, match, enumerator)) continue;
    DocumentedCode code{match[1], static_cast<ErrorCode>(codes.size()), 0, ""};
    const std::string comment = match[2];
    if (std::smatch doc; std::regex_search(comment, doc, documented)) {
      code.status = std::stoi(doc[1]);
      code.name = doc[2];
    }
    codes.push_back(code);
  }
  return codes;
}

json body_of(const Reply& reply) { return json::parse(reply.body); }

TEST(ErrorTable, ReadsEveryCodeOfTheHeader) {
  const auto codes = documented_codes();
  ASSERT_FALSE(codes.empty()) << "engine/domain/error.h was not found or not understood";
  // The reading follows the declaration order: known enumerators sit at their values.
  std::map<std::string, ErrorCode> known{{"Validation", ErrorCode::Validation},
                                         {"Internal", ErrorCode::Internal},
                                         {"Unauthorized", ErrorCode::Unauthorized},
                                         {"ClientGone", ErrorCode::ClientGone}};
  for (const auto& code : codes)
    if (auto it = known.find(code.enumerator); it != known.end()) {
      EXPECT_EQ(code.code, it->second) << code.enumerator;
      known.erase(it);
    }
  EXPECT_TRUE(known.empty()) << known.begin()->first << " was not read";
  EXPECT_GE(codes.size(), static_cast<std::size_t>(ErrorCode::ClientGone) + 1);
}

TEST(ErrorTable, EveryCodeHasTheStatusItsDeclarationDocuments) {
  for (const auto& code : documented_codes()) {
    ASSERT_NE(code.status, 0) << code.enumerator << " documents no status in error.h";
    EXPECT_EQ(status_of(code.code), code.status) << code.enumerator;
  }
}

TEST(ErrorTable, EveryCodeHasTheNameItsDeclarationDocuments) {
  for (const auto& code : documented_codes()) {
    EXPECT_FALSE(code_name(code.code).empty()) << code.enumerator;
    if (!code.name.empty()) {
      EXPECT_EQ(code_name(code.code), code.name) << code.enumerator;
    }
  }
}

TEST(ErrorTable, OnlyInternalIsAnInternalError) {
  // A code missing from the table would answer as an internal error: every other code has a
  // row of its own.
  for (const auto& code : documented_codes()) {
    if (code.code == ErrorCode::Internal) continue;
    EXPECT_NE(status_of(code.code), 500) << code.enumerator;
    EXPECT_NE(code_name(code.code), "internal_error") << code.enumerator;
  }
  EXPECT_EQ(status_of(ErrorCode::Internal), 500);
  EXPECT_EQ(code_name(ErrorCode::Internal), "internal_error");
}

TEST(ErrorTable, NamesAreUniqueAndLowerSnakeCase) {
  std::set<std::string_view> names;
  const std::regex snake("[a-z]+(_[a-z]+)*");
  for (const auto& code : documented_codes()) {
    const std::string_view name = code_name(code.code);
    EXPECT_TRUE(names.insert(name).second) << name << " names two codes";
    EXPECT_TRUE(std::regex_match(std::string(name), snake)) << name;
  }
}

TEST(ErrorTable, StatusesAreClientOrServerErrors) {
  for (const auto& code : documented_codes()) {
    const int status = status_of(code.code);
    EXPECT_GE(status, 400) << code.enumerator;
    EXPECT_LT(status, 600) << code.enumerator;
  }
}

TEST(ErrorReply, EveryCodeAnswersWithTheSameBodyShape) {
  for (const auto& code : documented_codes()) {
    const Reply reply = error_reply({code.code, "what went wrong", {}, {}}, "req-1");
    EXPECT_EQ(reply.status, status_of(code.code)) << code.enumerator;
    EXPECT_EQ(reply.content_type, "application/json");
    const json body = body_of(reply);
    ASSERT_TRUE(body.is_object());
    EXPECT_EQ(body.size(), 1u) << body;
    ASSERT_TRUE(body.contains("error")) << body;
    const json& error = body["error"];
    ASSERT_TRUE(error.is_object()) << body;
    EXPECT_EQ(error.size(), 3u) << body;
    EXPECT_EQ(error["code"], code_name(code.code));
    EXPECT_TRUE(error["message"].is_string()) << body;
    EXPECT_TRUE(error["details"].is_object()) << body;
  }
}

TEST(ErrorReply, CarriesTheMessageAndEmptyDetails) {
  const Reply reply = error_reply(Error::not_found("lead 7 not found"), "req-1");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(body_of(reply), json::parse(R"({"error": {"code": "not_found",
      "message": "lead 7 not found", "details": {}}})"));
}

TEST(ErrorReply, NamesTheFieldOfAValidationError) {
  const Reply reply = error_reply(Error::validation("email", "email is not valid UTF-8"), "r");
  EXPECT_EQ(reply.status, 400);
  const json error = body_of(reply)["error"];
  EXPECT_EQ(error["code"], "validation_error");
  EXPECT_EQ(error["message"], "email is not valid UTF-8");
  EXPECT_EQ(error["details"], json({{"field", "email"}}));
}

TEST(ErrorReply, ListsTheFailedChecksOfARejectedHandoff) {
  const Reply reply = error_reply(
      {ErrorCode::HandoffRejected, "the lead is not ready", {}, {"business_domain", "score"}}, "r");
  EXPECT_EQ(reply.status, 422);
  const json error = body_of(reply)["error"];
  EXPECT_EQ(error["code"], "handoff_rejected");
  EXPECT_EQ(error["details"]["failed_checks"], json({"business_domain", "score"}));
}

TEST(ErrorReply, AddsTheCallersDetails) {
  const json rows = json::array({{{"line", 3}, {"field", "name"}}});
  const Reply reply =
      error_reply(Error::validation("rows", "2 rows refused"), "r", {{"rows", rows}});
  const json details = body_of(reply)["error"]["details"];
  EXPECT_EQ(details["rows"], rows);
  EXPECT_EQ(details["field"], "rows");
}

TEST(ErrorReply, AnInternalErrorHidesItsMessageAndQuotesTheRequestId) {
  const Reply reply =
      error_reply(Error::internal("connection to 10.0.0.5 refused: password for admin"), "abc-42");
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.body.find("10.0.0.5"), std::string::npos) << reply.body;
  EXPECT_EQ(reply.body.find("password"), std::string::npos) << reply.body;
  const json error = body_of(reply)["error"];
  EXPECT_EQ(error["code"], "internal_error");
  EXPECT_EQ(error["message"], "internal error; quote request id abc-42");
  EXPECT_EQ(error["details"]["request_id"], "abc-42");
}

TEST(JsonReply, ReplacesBytesThatAreNotUtf8InsteadOfFailing) {
  Reply reply;
  ASSERT_NO_THROW(reply = json_reply(400, {{"quoted", "caf\xe9"}}));
  EXPECT_EQ(reply.status, 400);
  EXPECT_TRUE(domain::is_utf8(reply.body)) << reply.body;
  EXPECT_EQ(body_of(reply)["quoted"], "caf\xef\xbf\xbd");  // U+FFFD for the bad byte
  // An error answer quoting bad input goes through the same path.
  ASSERT_NO_THROW(reply = error_reply(Error::validation("n\xff", "bad \xff"), "r"));
  EXPECT_TRUE(domain::is_utf8(reply.body)) << reply.body;
}

TEST(EmptyReply, HasNoBodyAndNoContentType) {
  const Reply reply = empty_reply(204);
  EXPECT_EQ(reply.status, 204);
  EXPECT_TRUE(reply.body.empty());
  EXPECT_TRUE(reply.content_type.empty());
}

TEST(ApiRequest, FindsParametersAndQueryValuesByName) {
  ApiRequest request;
  request.params = {{"id", "12"}};
  request.query = {{"scorer", "lua"}, {"limit", "5"}, {"scorer", "second"}};
  ASSERT_NE(request.param("id"), nullptr);
  EXPECT_EQ(*request.param("id"), "12");
  EXPECT_EQ(request.param("scorer"), nullptr);
  ASSERT_NE(request.query_value("scorer"), nullptr);
  EXPECT_EQ(*request.query_value("scorer"), "lua");  // the first of a repeated name
  EXPECT_EQ(*request.query_value("limit"), "5");
  EXPECT_EQ(request.query_value("id"), nullptr);
}

TEST(RequestId, AcceptsOneToSixtyFourSafeCharacters) {
  EXPECT_TRUE(valid_request_id("a"));
  EXPECT_TRUE(valid_request_id("Req-2026_01.x"));
  EXPECT_TRUE(valid_request_id(std::string(64, 'z')));
  EXPECT_FALSE(valid_request_id(""));
  EXPECT_FALSE(valid_request_id(std::string(65, 'z')));
  for (std::string_view bad : {"a b", "a/b", "a\nb", "a:b", "\"a\"", "caf\xc3\xa9", "a\tb"})
    EXPECT_FALSE(valid_request_id(bad)) << bad;
}

TEST(RequestId, MadeIdsAreValidHexAndUnique) {
  const std::regex shape("[0-9a-f]{8}-[0-9a-f]{8,16}");
  std::set<std::string> seen;
  std::string prefix;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = next_request_id();
    EXPECT_TRUE(valid_request_id(id)) << id;
    EXPECT_TRUE(std::regex_match(id, shape)) << id;
    EXPECT_TRUE(seen.insert(id).second) << id << " made twice";
    if (prefix.empty()) prefix = id.substr(0, 8);
    EXPECT_EQ(id.substr(0, 8), prefix) << "the prefix is chosen once per process";
  }
}

TEST(RequestId, MadeIdsAreUniqueAcrossThreads) {
  constexpr int kThreads = 4, kEach = 2000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&made, t] {
      for (int i = 0; i < kEach; ++i) made[t].push_back(next_request_id());
    });
  for (auto& thread : threads) thread.join();
  std::set<std::string> all;
  for (const auto& ids : made) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
}

TEST(QuotedName, KeepsAShortNameWhole) {
  EXPECT_EQ(quoted_name(""), "");
  EXPECT_EQ(quoted_name("email"), "email");
  const std::string limit(kMaxQuotedNameBytes, 'n');
  EXPECT_EQ(quoted_name(limit), limit);
}

TEST(QuotedName, CutsALongNameAndMarksIt) {
  const std::string name(kMaxQuotedNameBytes + 1, 'n');
  EXPECT_EQ(quoted_name(name), std::string(kMaxQuotedNameBytes, 'n') + "...");
  EXPECT_EQ(quoted_name(std::string(100'000, 'x')).size(), kMaxQuotedNameBytes + 3);
}

TEST(QuotedName, NeverCutsACharacterInTwo) {
  // A character of each length, placed so that the cut falls at each of its bytes.
  for (const std::string character : {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"}) {
    for (std::size_t before = kMaxQuotedNameBytes - character.size(); before <= kMaxQuotedNameBytes;
         ++before) {
      const std::string name = std::string(before, 'a') + character + std::string(10, 'b');
      const std::string quoted = quoted_name(name);
      ASSERT_TRUE(quoted.ends_with("...")) << quoted;
      const std::string kept = quoted.substr(0, quoted.size() - 3);
      EXPECT_TRUE(domain::is_utf8(kept)) << before << " bytes before " << character.size();
      EXPECT_TRUE(name.starts_with(kept));
      EXPECT_LE(kept.size(), kMaxQuotedNameBytes);
      // Only the character that would be split is left out.
      EXPECT_GT(kept.size(), kMaxQuotedNameBytes - character.size());
    }
  }
}

TEST(ParseId, ReadsAPositiveInteger) {
  const std::string one = "1", big = "9223372036854775807";
  EXPECT_EQ(parse_id(&one, "id"), 1);
  EXPECT_EQ(parse_id(&big, "id"), INT64_MAX);
}

TEST(ParseId, RequiresTheValue) {
  const std::string empty;
  for (const std::string* text : {static_cast<const std::string*>(nullptr), &empty}) {
    const auto id = parse_id(text, "lead_id");
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code, ErrorCode::Validation);
    EXPECT_EQ(id.error().field, "lead_id");
    EXPECT_EQ(id.error().message, "lead_id is required");
  }
}

TEST(ParseId, RefusesWhatIsNotAPositiveInteger) {
  for (const std::string text : {"0", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x1f", "12abc",
                                 "9223372036854775808", "99999999999999999999999"}) {
    const auto id = parse_id(&text, "id");
    ASSERT_FALSE(id) << text;
    EXPECT_EQ(id.error().code, ErrorCode::Validation);
    EXPECT_EQ(id.error().field, "id");
    EXPECT_EQ(id.error().message, "id must be a positive integer") << text;
  }
}

TEST(ParseJsonObject, ReadsAnObject) {
  const auto parsed = parse_json_object(R"({"name": "Ada", "n": [1, {"x": null}]})", false);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ((*parsed)["name"], "Ada");
  EXPECT_EQ((*parsed)["n"][1], json({{"x", nullptr}}));
}

TEST(ParseJsonObject, AnEmptyBodyIsAnObjectOnlyWhenAllowed) {
  for (const std::string body : {"", "  \r\n\t"}) {
    const auto allowed = parse_json_object(body, true);
    ASSERT_TRUE(allowed);
    EXPECT_EQ(*allowed, json::object());
    const auto refused = parse_json_object(body, false);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().field, "body");
  }
}

TEST(ParseJsonObject, RefusesWhatIsNotAnObject) {
  for (const std::string body : {"[]", "1", "\"text\"", "null", "true"}) {
    const auto parsed = parse_json_object(body, true);
    ASSERT_FALSE(parsed) << body;
    EXPECT_EQ(parsed.error().code, ErrorCode::Validation);
    EXPECT_EQ(parsed.error().field, "body");
    EXPECT_EQ(parsed.error().message, "the body must be a JSON object");
  }
}

TEST(ParseJsonObject, RefusesWhatIsNotJson) {
  for (const std::string body : {"{", "{\"a\": }", "{} {}", "{'a': 1}", "{\"a\": 1,}", "nope"}) {
    const auto parsed = parse_json_object(body, true);
    ASSERT_FALSE(parsed) << body;
    EXPECT_EQ(parsed.error().field, "body");
    EXPECT_EQ(parsed.error().message, "the body is not valid JSON") << body;
  }
}

TEST(ParseJsonObject, RefusesANulByteAnywhere) {
  using namespace std::string_literals;
  for (const std::string& body : {"{}\0{\"extra\": 1}"s, "{\"a\": \"x\0y\"}"s, "\0"s}) {
    const auto parsed = parse_json_object(body, true);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().field, "body");
    EXPECT_NE(parsed.error().message.find("NUL"), std::string::npos);
  }
  // The escaped form is a string like any other.
  const auto escaped = parse_json_object(R"({"a": "x\u0000y"})", false);
  ASSERT_TRUE(escaped);
  EXPECT_EQ((*escaped)["a"].get<std::string>().size(), 3u);
}

std::string nested(std::size_t depth) {
  // depth - 1 arrays inside one object: {"a": [[...]]}
  return "{\"a\": " + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
}

TEST(ParseJsonObject, AcceptsNestingUpToTheLimit) {
  const auto parsed = parse_json_object(nested(kMaxJsonDepth), false);
  EXPECT_TRUE(parsed) << parsed.error().message;
}

TEST(ParseJsonObject, RefusesNestingPastTheLimit) {
  for (std::size_t depth : {kMaxJsonDepth + 1, std::size_t{100'000}}) {
    const auto parsed = parse_json_object(nested(depth), false);
    ASSERT_FALSE(parsed) << depth;
    EXPECT_EQ(parsed.error().field, "body");
    EXPECT_NE(parsed.error().message.find("deeper than " + std::to_string(kMaxJsonDepth)),
              std::string::npos)
        << parsed.error().message;
  }
  // An unclosed deep body is refused for its depth before the parser sees it.
  const auto unclosed = parse_json_object(std::string(1'000'000, '['), false);
  ASSERT_FALSE(unclosed);
  EXPECT_NE(unclosed.error().message.find("deeper"), std::string::npos);
}

TEST(ParseJsonObject, BracketsInsideStringsDoNotCountAsNesting) {
  const std::string brackets(10 * kMaxJsonDepth, '[');
  const auto plain = parse_json_object("{\"a\": \"" + brackets + "\"}", false);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ((*plain)["a"], brackets);
  // An escaped quote does not end the string.
  const auto escaped = parse_json_object("{\"a\": \"\\\"" + brackets + "\"}", false);
  ASSERT_TRUE(escaped) << escaped.error().message;
  EXPECT_EQ((*escaped)["a"], "\"" + brackets);
  // Closing brackets in a string do not make room for deeper nesting either.
  const std::string closers(10 * kMaxJsonDepth, ']');
  const std::string deep = "{\"a\": \"" + closers +
                           "\", \"b\": " + std::string(kMaxJsonDepth, '[') +
                           std::string(kMaxJsonDepth, ']') + "}";
  EXPECT_FALSE(parse_json_object(deep, false));
}

TEST(CheckMembers, AllowsListedMembers) {
  EXPECT_FALSE(check_members(json::object(), {"name"}).has_value());
  EXPECT_FALSE(check_members({{"name", "Ada"}, {"email", "a@b"}}, {"email", "name"}).has_value());
}

TEST(CheckMembers, RefusesAnUnknownMemberNamingIt) {
  const auto error = check_members({{"name", "Ada"}, {"nmae", 1}}, {"name"});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, ErrorCode::Validation);
  EXPECT_EQ(error->field, "nmae");
  EXPECT_EQ(error->message, "unknown field nmae");
}

TEST(CheckMembers, RefusesAForbiddenMemberWithItsOwnMessage) {
  const auto error = check_members({{"id", 3}}, {"name"}, {"id", "created_at"});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->field, "id");
  EXPECT_EQ(error->message, "id may not be set by a caller");
}

TEST(CheckMembers, ScoreFieldsAreForbiddenWhereAnythingIs) {
  // Where a route forbids members, every ai_* member (what a scorer sets) is forbidden too.
  const auto forbidden = check_members({{"ai_score", 1}}, {"name"}, {"id"});
  ASSERT_TRUE(forbidden.has_value());
  EXPECT_EQ(forbidden->message, "ai_score may not be set by a caller");
  // Elsewhere it is just unknown.
  const auto unknown = check_members({{"ai_score", 1}}, {"name"});
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->message, "unknown field ai_score");
}

TEST(CheckMembers, QuotesALongNameCut) {
  const std::string name(10'000, 'k');
  const auto error = check_members({{name, 1}}, {"name"});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->field, quoted_name(name));
  EXPECT_LT(error->message.size(), 100u);
}

TEST(CheckQuery, RefusesAnUnknownParameter) {
  ApiRequest request;
  request.query = {{"scorer", "lua"}};
  EXPECT_FALSE(check_query(request, {"scorer"}).has_value());
  request.query.emplace_back("scorre", "x");
  const auto error = check_query(request, {"scorer"});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, ErrorCode::Validation);
  EXPECT_EQ(error->field, "scorre");
  EXPECT_EQ(error->message, "unknown query parameter scorre");
  EXPECT_TRUE(check_query(request, {}).has_value());
}

}  // namespace
}  // namespace leadscore::api
