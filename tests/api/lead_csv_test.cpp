// POST /leads/import and GET /leads/export.csv over real HTTP: all-or-nothing and partial
// imports with refused rows by line, header errors, quoting, body limits, the header's limits
// and bounded error answers, roles, export filters and quoting, the round trip, and an export
// of thousands of leads. Then read_lead_csv on its own.
#include "api/lead_csv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tests/api/api_fixture.h"
#include "tools/csv.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

// The rows of a CSV text, each as its fields (copied).
std::vector<std::vector<std::string>> csv_rows(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  tools::CsvRowReader reader(text);
  tools::CsvFields fields;
  while (auto row = reader.next()) {
    EXPECT_TRUE(fields.parse(row->text)) << row->text;
    std::vector<std::string> cells;
    for (std::size_t i = 0; i < fields.size(); ++i) cells.emplace_back(fields[i]);
    rows.push_back(std::move(cells));
  }
  return rows;
}

// The cell of `column` (named by the header, rows[0]) in `row`.
std::string cell(const std::vector<std::vector<std::string>>& rows, std::size_t row,
                 const std::string& column) {
  const auto& header = rows.at(0);
  const auto at = std::ranges::find(header, column);
  EXPECT_NE(at, header.end()) << column;
  return rows.at(row).at(static_cast<std::size_t>(at - header.begin()));
}

const std::string kExportHeader =
    "id,source,stage,business_domain,activity_count,name,email,role,company,industry,location,"
    "bio,phone,website,ai_score,ai_recommendation,ai_reason,ai_scorer,ai_analyzed_at,created_at,"
    "updated_at";

// Expects a 400 validation_error whose message holds `part`.
void expect_refused(const HttpResponse& r, const std::string& part) {
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.error_code(), "validation_error");
  const std::string message = r.json()["error"]["message"];
  EXPECT_NE(message.find(part), std::string::npos) << message;
}

class LeadCsv : public ApiTest {
 protected:
  void configure(config::AppConfig& cfg) override {
    cfg.server.max_body_bytes = 8 << 10;    // a JSON body
    cfg.server.max_import_bytes = 1 << 20;  // a CSV import may be much larger
  }

  HttpResponse import(const std::string& csv, const std::string& query = "",
                      const std::string& key = "") {
    return client->request("POST", "/leads/import" + query, key.empty() ? manager_key : key, csv,
                           {{"Content-Type", "text/csv"}});
  }
  HttpResponse export_csv(const std::string& query = "", const std::string& key = "") {
    return client->request("GET", "/leads/export.csv" + query, key.empty() ? viewer_key : key);
  }
  json lead(std::int64_t id) {
    auto r = call("GET", "/leads/" + std::to_string(id));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }
};

TEST_F(LeadCsv, ImportCreatesEveryRowAsANewLeadAndAnswersTheIds) {
  auto r = import(
      "source,business_domain,activity_count,name,email,role,company,industry,location,bio,phone,"
      "website\n"
      "manual,fintech,3,Ann Lee,ann@acme.io,CEO,Acme,B2B SaaS,Berlin,Builds things,+49 30 1234,"
      "https://acme.io\n"
      "partner,,,Bob,,,,,,,,\n"
      "scanner,retail,0,,,,,,,,,\n");
  ASSERT_EQ(r.status, 201) << r.body;
  json body = r.json();
  EXPECT_EQ(body["created"], 3);
  EXPECT_EQ(body["refused"], 0);
  EXPECT_EQ(body["rows"], json::array());
  ASSERT_EQ(body["ids"].size(), 3u);
  EXPECT_LT(body["ids"][0].get<std::int64_t>(), body["ids"][1].get<std::int64_t>());

  json first = lead(body["ids"][0]);
  EXPECT_EQ(first["source"], "manual");
  EXPECT_EQ(first["stage"], "new");
  EXPECT_EQ(first["business_domain"], "fintech");
  EXPECT_EQ(first["activity_count"], 3);
  EXPECT_EQ(first["name"], "Ann Lee");
  EXPECT_EQ(first["email"], "ann@acme.io");
  EXPECT_EQ(first["role"], "CEO");
  EXPECT_EQ(first["company"], "Acme");
  EXPECT_EQ(first["industry"], "B2B SaaS");
  EXPECT_EQ(first["location"], "Berlin");
  EXPECT_EQ(first["bio"], "Builds things");
  EXPECT_EQ(first["phone"], "+49 30 1234");
  EXPECT_EQ(first["website"], "https://acme.io");
  json second = lead(body["ids"][1]);
  EXPECT_EQ(second["source"], "partner");
  EXPECT_EQ(second["name"], "Bob");
  EXPECT_TRUE(second["business_domain"].is_null());  // an empty cell is an absent field
  EXPECT_TRUE(second["email"].is_null());
  EXPECT_EQ(second["activity_count"], 0);
  EXPECT_EQ(lead(body["ids"][2])["business_domain"], "retail");

  // Each has its creation event, by the key that imported it.
  auto history =
      call("GET", "/leads/" + std::to_string(body["ids"][2].get<std::int64_t>()) + "/history");
  ASSERT_EQ(history.json()["stage_events"].size(), 1u) << history.body;
  EXPECT_EQ(history.json()["stage_events"][0]["actor"], "manager");
  EXPECT_EQ(history.json()["stage_events"][0]["to"], "new");
  EXPECT_EQ(count_rows("stage_events"), 3);
  EXPECT_EQ(call("GET", "/leads").json()["items"].size(), 3u);
}

TEST_F(LeadCsv, BadRowsAreReportedByLineAndFieldAndNothingIsImported) {
  auto r = import(
      "source,activity_count,email\n"
      "manual,1,a@b.c\n"
      "webinar,1,a@b.c\n"    // line 3: unknown source
      "manual,lots,a@b.c\n"  // line 4: not an integer
      "manual,-2,a@b.c\n"    // line 5: negative
      "manual,1\n"           // line 6: a field short
      ",1,a@b.c\n"           // line 7: no source
      "manual,1," +
      std::string(321, 'e') +
      "\n"                   // line 8: too long
      "manual,1,\"open\n");  // line 9: a quote never closed
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.error_code(), "validation_error");
  const json error = r.json()["error"];
  EXPECT_NE(error["message"].get<std::string>().find("nothing was imported"), std::string::npos);
  const json rows = error["details"]["rows"];
  ASSERT_EQ(rows.size(), 7u) << r.body;
  const std::vector<std::pair<int, json>> expected{
      {3, "source"}, {4, "activity_count"}, {5, "activity_count"}, {6, nullptr},
      {7, "source"}, {8, "email"},          {9, nullptr}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(rows[i]["line"], expected[i].first) << rows[i];
    EXPECT_EQ(rows[i]["field"], expected[i].second) << rows[i];
    EXPECT_FALSE(rows[i]["message"].get<std::string>().empty());
  }
  EXPECT_NE(rows[0]["message"].get<std::string>().find("source must be one of"), std::string::npos);
  EXPECT_NE(rows[3]["message"].get<std::string>().find("2 fields; the header has 3"),
            std::string::npos);
  EXPECT_EQ(count_rows("leads"), 0);
  EXPECT_EQ(count_rows("stage_events"), 0);
}

TEST_F(LeadCsv, RowsAreCheckedExactlyAsPostLeadsChecksABody) {
  // The same values refused by POST /leads and by an import, with the same message.
  const std::string bio(4001, 'b');
  auto single = call("POST", "/leads", json{{"source", "manual"}, {"bio", bio}});
  ASSERT_EQ(single.status, 400);
  auto imported = import("source,bio\nmanual," + bio + "\n");
  ASSERT_EQ(imported.status, 400) << imported.body;
  EXPECT_EQ(imported.json()["error"]["details"]["rows"][0]["message"],
            single.json()["error"]["message"]);
  EXPECT_EQ(imported.json()["error"]["details"]["rows"][0]["field"], "bio");

  auto not_utf8 = import("source,name\nmanual,caf\xe9\n");
  ASSERT_EQ(not_utf8.status, 400) << not_utf8.body;
  EXPECT_EQ(not_utf8.json()["error"]["details"]["rows"][0]["field"], "name");
  EXPECT_EQ(count_rows("leads"), 0);
}

TEST_F(LeadCsv, PartialImportsTheGoodRowsAndReportsTheBadOnes) {
  auto r = import("source,name\nmanual,Ann\nnowhere,Bob\npartner,Cy\n", "?partial=true");
  ASSERT_EQ(r.status, 201) << r.body;
  json body = r.json();
  EXPECT_EQ(body["created"], 2);
  EXPECT_EQ(body["refused"], 1);
  ASSERT_EQ(body["rows"].size(), 1u);
  EXPECT_EQ(body["rows"][0]["line"], 3);
  EXPECT_EQ(body["rows"][0]["field"], "source");
  ASSERT_EQ(body["ids"].size(), 2u);
  EXPECT_EQ(lead(body["ids"][0])["name"], "Ann");
  EXPECT_EQ(lead(body["ids"][1])["name"], "Cy");
  EXPECT_EQ(count_rows("leads"), 2);

  // Nothing good at all: 200, nothing created.
  auto none = import("source\nnowhere\n", "?partial=true");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(none.json()["created"], 0);
  EXPECT_EQ(none.json()["refused"], 1);
  EXPECT_EQ(count_rows("leads"), 2);

  EXPECT_EQ(import("source\nmanual\n", "?partial=yes").status, 400);
  EXPECT_EQ(import("source\nmanual\n", "?dry_run=true").status, 400);
  EXPECT_EQ(count_rows("leads"), 2);
}

TEST_F(LeadCsv, UnknownColumnsAreRefusedByName) {
  auto r = import("source,nmae,linkedin_url\nmanual,Ann,x\n");
  expect_refused(r, "unknown columns nmae, linkedin_url;");
  EXPECT_EQ(r.json()["error"]["details"]["field"], "header");

  expect_refused(import("source,name,name\nmanual,a,b\n"), "repeats column name");
  expect_refused(import("name\nAnn\n"), "no source column");
  EXPECT_EQ(count_rows("leads"), 0);
}

TEST_F(LeadCsv, ExportWithoutASourceColumnImportsWithTheSourceInTheQuery) {
  // A lead export as some tools write it: no source column, the bio as linkedin_bio.
  const std::string export_csv =
      "name,role,company,industry,location,linkedin_bio\n"
      "John Doe,CEO,TechCorp,B2B SaaS,New York,15 years building enterprise SaaS platforms\n"
      "Jane Smith,Head of Sales,DataFlow,B2B SaaS,San Francisco,Leading sales teams\n";
  expect_refused(import(export_csv), "no source column");
  expect_refused(import(export_csv, "?source=webinar"), "unknown source webinar");
  auto r = import(export_csv, "?source=partner");
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_EQ(r.json()["ids"].size(), 2u);
  json john = lead(r.json()["ids"][0]);
  EXPECT_EQ(john["source"], "partner");
  EXPECT_EQ(john["bio"], "15 years building enterprise SaaS platforms");
  EXPECT_EQ(john["role"], "CEO");

  // A source cell wins over the query's; an empty one takes it.
  auto mixed = import("source,name\nmanual,Ann\n,Bob\n", "?source=scanner");
  ASSERT_EQ(mixed.status, 201) << mixed.body;
  EXPECT_EQ(lead(mixed.json()["ids"][0])["source"], "manual");
  EXPECT_EQ(lead(mixed.json()["ids"][1])["source"], "scanner");
  expect_refused(import("source,bio,linkedin_bio\nmanual,a,b\n"), "repeats column bio");
}

TEST_F(LeadCsv, MissingHeaderIsRefused) {
  expect_refused(import(""), "header row is required");
  expect_refused(import("\r\n\n"), "header row is required");
  // Data where the header should be: its cells are no column names.
  expect_refused(import("manual,Ann\npartner,Bob\n"), "first row must name");
  EXPECT_EQ(count_rows("leads"), 0);
}

TEST_F(LeadCsv, QuotedFieldsKeepCommasQuotesAndLineBreaksWithCrlf) {
  auto r = import(
      "source,name,company,bio\r\n"
      "manual,\"Lee, Ann\",\"The \"\"Best\"\" Co\",\"line one\r\nline two\nline three\"\r\n"
      "partner,Bob,,\"\"\r\n"
      "nowhere,Cy,,\r\n",  // line 6: after a row of three lines
      "?partial=true");
  ASSERT_EQ(r.status, 201) << r.body;
  json body = r.json();
  ASSERT_EQ(body["ids"].size(), 2u);
  json first = lead(body["ids"][0]);
  EXPECT_EQ(first["name"], "Lee, Ann");
  EXPECT_EQ(first["company"], "The \"Best\" Co");
  EXPECT_EQ(first["bio"], "line one\r\nline two\nline three");
  json second = lead(body["ids"][1]);
  EXPECT_EQ(second["name"], "Bob");
  EXPECT_TRUE(second["bio"].is_null());
  ASSERT_EQ(body["rows"].size(), 1u);
  EXPECT_EQ(body["rows"][0]["line"], 6);
}

TEST_F(LeadCsv, ImportMayBeLargerThanAJsonBodyButNotPastItsOwnLimit) {
  std::string csv = "source,bio\n";
  const std::string row = "manual," + std::string(1000, 'b') + "\n";
  while (csv.size() < 100 << 10) csv += row;  // past max_body_bytes (8 KiB)
  auto fits = import(csv);
  ASSERT_EQ(fits.status, 201) << fits.body.substr(0, 300);
  const std::int64_t leads = count_rows("leads");
  EXPECT_GT(leads, 90);

  while (csv.size() <= 1 << 20) csv += row;  // past max_import_bytes
  auto too_large = import(csv);
  EXPECT_EQ(too_large.status, 413) << too_large.body;
  EXPECT_EQ(too_large.error_code(), "payload_too_large");
  EXPECT_EQ(count_rows("leads"), leads);
  HttpClient fresh(server->port());
  EXPECT_EQ(fresh.request("GET", "/health").status, 200);
}

TEST_F(LeadCsv, ImportNeedsTheRightToCreateLeadsAndExportTheRightToRead) {
  const std::string csv = "source\nmanual\n";
  EXPECT_EQ(import(csv, "", viewer_key).status, 403);
  EXPECT_EQ(import(csv, "", analyst_key).status, 403);
  EXPECT_EQ(client->request("POST", "/leads/import", "", csv).status, 401);
  EXPECT_EQ(count_rows("leads"), 0);
  EXPECT_EQ(import(csv, "", admin_key).status, 201);
  EXPECT_EQ(import(csv, "", manager_key).status, 201);
  for (const std::string& key : {viewer_key, analyst_key, manager_key, admin_key})
    EXPECT_EQ(export_csv("", key).status, 200) << key;
  EXPECT_EQ(client->request("GET", "/leads/export.csv").status, 401);
}

TEST_F(LeadCsv, ExportHasTheHeaderAndHonoursTheFiltersOfGetLeads) {
  auto empty = export_csv();
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(empty.headers["content-type"], "text/csv");
  EXPECT_EQ(empty.body, kExportHeader + "\n");

  json scored = create_lead({{"source", "partner"}, {"business_domain", "fintech"}});
  const std::int64_t scored_id = scored["id"];
  call("POST", "/leads/" + std::to_string(scored_id) + "/activity", json{{"count", 8}});
  qualify(scored_id);
  ASSERT_EQ(call("POST", "/leads/" + std::to_string(scored_id) + "/analyze").status, 200);
  json other = create_lead({{"source", "manual"}});

  const std::string body = export_csv().body;
  EXPECT_TRUE(body.starts_with(kExportHeader + "\n"));
  auto all = csv_rows(body);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(cell(all, 1, "id"), std::to_string(scored_id));
  EXPECT_EQ(cell(all, 1, "stage"), "qualified");
  EXPECT_EQ(cell(all, 1, "activity_count"), "8");
  EXPECT_EQ(cell(all, 1, "ai_score"), "1");
  EXPECT_EQ(cell(all, 1, "ai_recommendation"), "transfer_to_sales");
  EXPECT_EQ(cell(all, 1, "ai_scorer"), "heuristic");
  json stored = lead(scored_id);
  EXPECT_EQ(cell(all, 1, "ai_reason"), stored["ai_reason"]);
  EXPECT_EQ(cell(all, 1, "ai_analyzed_at"), stored["ai_analyzed_at"]);
  EXPECT_EQ(cell(all, 1, "created_at"), stored["created_at"]);
  EXPECT_EQ(cell(all, 1, "updated_at"), stored["updated_at"]);
  EXPECT_EQ(cell(all, 2, "id"), std::to_string(other["id"].get<std::int64_t>()));
  EXPECT_EQ(cell(all, 2, "ai_score"), "");
  EXPECT_EQ(cell(all, 2, "business_domain"), "");

  for (const std::string query :
       {"?source=partner", "?stage=qualified", "?min_score=0.5", "?max_score=1&min_score=1",
        "?recommendation=transfer_to_sales"}) {
    auto rows = csv_rows(export_csv(query).body);
    ASSERT_EQ(rows.size(), 2u) << query;
    EXPECT_EQ(cell(rows, 1, "id"), std::to_string(scored_id)) << query;
  }
  auto manual = csv_rows(export_csv("?source=manual&stage=new").body);
  ASSERT_EQ(manual.size(), 2u);
  EXPECT_EQ(cell(manual, 1, "id"), std::to_string(other["id"].get<std::int64_t>()));
  EXPECT_EQ(csv_rows(export_csv("?stage=lost").body).size(), 1u);

  // The filters are checked as GET /leads checks them; paging belongs to GET /leads.
  for (const std::string query :
       {"?stage=won", "?source=nowhere", "?min_score=2", "?min_score=0.9&max_score=0.1",
        "?recommendation=maybe", "?limit=10", "?cursor=1", "?color=red"}) {
    auto r = export_csv(query);
    EXPECT_EQ(r.status, 400) << query << " " << r.body;
    EXPECT_EQ(r.error_code(), "validation_error") << query;
  }
}

TEST_F(LeadCsv, ExportQuotesCommasQuotesAndLineBreaks) {
  create_lead({{"source", "manual"},
               {"name", "Lee, Ann"},
               {"company", "The \"Best\" Co"},
               {"bio", "line one\r\nline two\nthree, \"four\""},
               {"location", "plain"}});
  auto r = export_csv();
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(",\"Lee, Ann\","), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(",\"The \"\"Best\"\" Co\","), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(",plain,"), std::string::npos) << r.body;
  auto rows = csv_rows(r.body);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(cell(rows, 1, "name"), "Lee, Ann");
  EXPECT_EQ(cell(rows, 1, "company"), "The \"Best\" Co");
  EXPECT_EQ(cell(rows, 1, "bio"), "line one\r\nline two\nthree, \"four\"");
}

TEST_F(LeadCsv, AnExportImportsAsNewLeadsWithTheSameProfile) {
  const json tricky{{"source", "partner"},
                    {"business_domain", "fin,tech"},
                    {"name", "Zoë \"Z\" Ñúñez"},
                    {"email", "z@example.com"},
                    {"role", "VP, Sales"},
                    {"company", "東京 Ltd"},
                    {"industry", "B2B SaaS"},
                    {"location", "São Paulo"},
                    {"bio", "first\nsecond\r\nthird, \"quoted\""},
                    {"phone", "+55 (11) 5555-0100"},
                    {"website", "https://example.com/a?b=1,2"}};
  json original = create_lead(tricky);
  call("POST", "/leads/" + std::to_string(original["id"].get<std::int64_t>()) + "/activity",
       json{{"count", 4}});
  qualify(original["id"]);
  create_lead({{"source", "manual"}});

  auto exported = export_csv();
  ASSERT_EQ(exported.status, 200);
  auto imported = import(exported.body);
  ASSERT_EQ(imported.status, 201) << imported.body;
  json body = imported.json();
  ASSERT_EQ(body["ids"].size(), 2u);
  std::vector<std::string> ignored = body["ignored_columns"];
  EXPECT_EQ(ignored,
            (std::vector<std::string>{"id", "stage", "ai_score", "ai_recommendation", "ai_reason",
                                      "ai_scorer", "ai_analyzed_at", "created_at", "updated_at"}));
  json copy = lead(body["ids"][0]);
  EXPECT_NE(copy["id"], original["id"]);
  EXPECT_EQ(copy["stage"], "new");  // a stage is never imported: leads start new
  EXPECT_EQ(copy["activity_count"], 4);
  for (const auto& [field, value] : tricky.items()) EXPECT_EQ(copy[field], value) << field;
  json plain = lead(body["ids"][1]);
  EXPECT_EQ(plain["source"], "manual");
  EXPECT_TRUE(plain["name"].is_null());
}

TEST_F(LeadCsv, ThousandsOfLeadsImportInOneRequestAndExportWhole) {
  constexpr int kLeads = 3500;  // more than three pages of the export's internal paging
  std::string csv = "source,name,company,activity_count\n";
  for (int i = 0; i < kLeads; ++i)
    csv += "scanner,Lead " + std::to_string(i) + ",\"Co, " + std::to_string(i % 7) + "\"," +
           std::to_string(i % 5) + "\n";
  auto imported = import(csv);
  ASSERT_EQ(imported.status, 201) << imported.body.substr(0, 300);
  ASSERT_EQ(imported.json()["ids"].size(), static_cast<std::size_t>(kLeads));
  EXPECT_EQ(count_rows("stage_events"), kLeads);

  auto exported = export_csv();
  ASSERT_EQ(exported.status, 200);
  auto rows = csv_rows(exported.body);
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kLeads) + 1);
  std::set<std::int64_t> ids;
  std::int64_t last = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const std::int64_t id = std::stoll(cell(rows, i, "id"));
    EXPECT_GT(id, last);
    last = id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kLeads));
  EXPECT_EQ(cell(rows, 1, "name"), "Lead 0");
  EXPECT_EQ(cell(rows, kLeads, "name"), "Lead " + std::to_string(kLeads - 1));
  EXPECT_EQ(cell(rows, kLeads, "company"), "Co, " + std::to_string((kLeads - 1) % 7));
  EXPECT_EQ(cell(rows, 8, "activity_count"), "2");
}

// Header limits and bounded answers. Bodies up to the shipped max_import_bytes (16 MiB), so a
// header may hold a million columns.
class LeadCsvLimits : public LeadCsv {
 protected:
  void configure(config::AppConfig& cfg) override {
    LeadCsv::configure(cfg);
    cfg.server.max_import_bytes = 16 << 20;
  }
};

constexpr std::size_t kSmallAnswer = 64 << 10;

// `count` copies of `column` joined by commas.
std::string repeated_columns(const std::string& column, std::size_t count) {
  std::string header = column;
  header.reserve((column.size() + 1) * count);
  for (std::size_t i = 1; i < count; ++i) header += "," + column;
  return header;
}

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// A 400 on the header whose message holds `part`, in an answer of under 64 KiB.
void expect_header_refused(const HttpResponse& r, const std::string& part) {
  ASSERT_EQ(r.status, 400) << r.body.substr(0, 500);
  EXPECT_LT(r.body.size(), kSmallAnswer);
  EXPECT_EQ(r.error_code(), "validation_error");
  EXPECT_EQ(r.json()["error"]["details"]["field"], "header");
  const std::string message = r.json()["error"]["message"];
  EXPECT_NE(message.find(part), std::string::npos) << message;
}

TEST_F(LeadCsvLimits, AHeaderOfAMillionColumnsIsRefusedAtItsLengthLimit) {
  auto r = import("source," + repeated_columns("name", 1000000) + "\nmanual," +
                  repeated_columns("x", 1000000) + "\n");
  expect_header_refused(r, "the header row is longer than 8192 bytes");
  expect_header_refused(r, "at most 64 columns");
  expect_header_refused(r, "repeats column name");
  EXPECT_EQ(count_rows("leads"), 0);

  // Empty names, and a quote that never closes: the scan still stops at the limit.
  expect_header_refused(import("source" + std::string(1000000, ',') + "\nmanual\n"),
                        "longer than 8192 bytes");
  expect_header_refused(import("\"source," + std::string(4 << 20, 'x') + "\nmanual\n"),
                        "longer than 8192 bytes");
  expect_header_refused(import(std::string(4 << 20, 's')), "longer than 8192 bytes");
  EXPECT_EQ(count_rows("leads"), 0);
  EXPECT_EQ(call("GET", "/health").status, 200);
}

TEST_F(LeadCsvLimits, AHeaderOfTenThousandColumnsIsRefused) {
  std::string header = "source";
  for (int i = 0; i < 10000; ++i) header += ",c" + std::to_string(i);
  auto r = import(header + "\nmanual" + std::string(10000, ',') + "\n");
  expect_header_refused(r, "longer than 8192 bytes");
  expect_header_refused(r, "unknown columns c0, c1, ");
  EXPECT_EQ(count_rows("leads"), 0);
}

TEST_F(LeadCsvLimits, TenThousandRepeatedColumnsAnswerSmallAndNameTheRepeatOnce) {
  auto r = import(repeated_columns("source", 10000) + "\nmanual\n");
  expect_header_refused(r, "longer than 8192 bytes");
  const std::string message = r.json()["error"]["message"];
  EXPECT_NE(message.find("repeats column source"), std::string::npos) << message;
  EXPECT_EQ(occurrences(message, "source"), 1u) << message;
  EXPECT_EQ(count_rows("leads"), 0);
}

TEST_F(LeadCsv, AHeaderOfMoreThan64ColumnsIsRefusedNamingTheLimit) {
  auto over = import("source," + repeated_columns("bio", 64) + "\nmanual\n");
  expect_header_refused(over, "the header has more than 64 columns");
  expect_header_refused(over, "repeats column bio");
  // 64 columns are read: what is wrong with them is all the answer says.
  auto at_limit = import("source," + repeated_columns("bio", 63) + "\nmanual\n");
  expect_header_refused(at_limit, "the header repeats column bio");
  EXPECT_EQ(at_limit.json()["error"]["message"].get<std::string>().find("64"), std::string::npos);
  EXPECT_EQ(count_rows("leads"), 0);
}

TEST_F(LeadCsv, EachRepeatedColumnIsNamedOnce) {
  auto r = import("source,name,name,bio,name,linkedin_bio,bio\nmanual,a,b,c,d,e,f\n");
  expect_header_refused(r, "the header repeats columns name, bio");
  EXPECT_EQ(occurrences(r.json()["error"]["message"], "name"), 1u) << r.body;
}

TEST_F(LeadCsvLimits, ThousandsOfBadRowsListTheFirstHundredAndCountThemAll) {
  std::string csv = "source,name\n";
  for (int i = 0; i < 10; ++i) csv += "manual,Good " + std::to_string(i) + "\n";
  for (int i = 0; i < 5000; ++i) csv += "nowhere,Bad " + std::to_string(i) + "\n";
  auto r = import(csv);
  ASSERT_EQ(r.status, 400) << r.body.substr(0, 300);
  EXPECT_LT(r.body.size(), kSmallAnswer);
  const json error = r.json()["error"];
  EXPECT_EQ(error["details"]["refused"], 5000);
  ASSERT_EQ(error["details"]["rows"].size(), 100u);
  EXPECT_EQ(error["details"]["rows"][0]["line"], 12);
  EXPECT_EQ(error["details"]["rows"][99]["line"], 111);
  const std::string message = error["message"];
  EXPECT_NE(message.find("5000 of 5010 rows"), std::string::npos) << message;
  EXPECT_NE(message.find("the first 100 are listed"), std::string::npos) << message;
  EXPECT_EQ(count_rows("leads"), 0);

  auto partial = import(csv, "?partial=true");
  ASSERT_EQ(partial.status, 201) << partial.body.substr(0, 300);
  EXPECT_LT(partial.body.size(), kSmallAnswer);
  EXPECT_EQ(partial.json()["created"], 10);
  EXPECT_EQ(partial.json()["refused"], 5000);
  EXPECT_EQ(partial.json()["rows"].size(), 100u);
  EXPECT_EQ(count_rows("leads"), 10);
}

TEST_F(LeadCsv, ARowOfAMillionCellsOrOneHugeCellIsRefusedOnItsOwn) {
  auto r =
      import("source,name\nmanual" + std::string(1000000, ',') + "\nmanual,Ann\n", "?partial=true");
  ASSERT_EQ(r.status, 201) << r.body.substr(0, 300);
  EXPECT_LT(r.body.size(), kSmallAnswer);
  EXPECT_EQ(r.json()["created"], 1);
  ASSERT_EQ(r.json()["rows"].size(), 1u);
  EXPECT_EQ(r.json()["rows"][0]["line"], 2);
  EXPECT_TRUE(r.json()["rows"][0]["field"].is_null());
  EXPECT_NE(r.json()["rows"][0]["message"].get<std::string>().find(
                "more than 2 fields; the header has 2"),
            std::string::npos)
      << r.body;

  auto huge = import("source,bio\nmanual," + std::string(1000000, 'b') + "\n");
  ASSERT_EQ(huge.status, 400);
  EXPECT_LT(huge.body.size(), kSmallAnswer);
  EXPECT_EQ(huge.json()["error"]["details"]["rows"][0]["field"], "bio");
  EXPECT_EQ(count_rows("leads"), 1);
}

TEST_F(LeadCsvLimits, AnImportOfMoreThanTheMostRowsIsRefusedWhole) {
  std::string csv = "source,name\n";
  for (std::size_t i = 0; i <= api::kMaxImportRows; ++i) csv += "manual,x\n";
  for (const std::string query : {"", "?partial=true"}) {
    auto r = import(csv, query);
    ASSERT_EQ(r.status, 400) << r.body.substr(0, 300);
    EXPECT_LT(r.body.size(), kSmallAnswer);
    EXPECT_EQ(r.json()["error"]["details"]["field"], "body");
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("more than 100000 rows"),
              std::string::npos)
        << r.body;
  }
  EXPECT_EQ(count_rows("leads"), 0);
}

// read_lead_csv on its own.

const std::vector<std::string> kSources{"scanner", "partner", "manual"};

TEST(ReadLeadCsv, RefusesAHeaderOneBytePastItsLengthLimit) {
  // An unknown column that fills the limit exactly is read (and named); one byte more is not.
  const std::string at_limit = "source," + std::string(api::kMaxImportHeaderBytes - 7, 'x');
  auto read = api::read_lead_csv(at_limit + "\nmanual,1\n", kSources);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().field, "header");
  EXPECT_TRUE(read.error().message.starts_with("unknown column xxx")) << read.error().message;

  auto past = api::read_lead_csv(at_limit + "x\nmanual,1\n", kSources);
  ASSERT_FALSE(past);
  EXPECT_TRUE(past.error().message.starts_with("the header row is longer than 8192 bytes"))
      << past.error().message;
  // The column cut short by the limit is not named.
  EXPECT_EQ(past.error().message.find("xxx"), std::string::npos) << past.error().message;
}

TEST(ReadLeadCsv, CountsEveryRefusedRowAndKeepsTheFirstHundred) {
  std::string csv = "source,name\nmanual,Ann\n";
  for (int i = 0; i < 250; ++i) csv += "nowhere,x\n";
  auto read = api::read_lead_csv(csv, kSources);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->rows.size(), 1u);
  EXPECT_EQ(read->refused, 250u);
  ASSERT_EQ(read->problems.size(), api::kMaxReportedRows);
  EXPECT_EQ(read->problems.front().line, 3u);
  EXPECT_EQ(read->problems.back().line, 102u);
}

TEST(ReadLeadCsv, ReadsUpToTheMostRowsAndNoFurther) {
  std::string csv = "source\n";
  for (std::size_t i = 0; i < api::kMaxImportRows; ++i) csv += i % 2 ? "manual\n" : "nowhere\n";
  auto at_limit = api::read_lead_csv(csv, kSources);
  ASSERT_TRUE(at_limit) << at_limit.error().message;
  EXPECT_EQ(at_limit->rows.size() + at_limit->refused, api::kMaxImportRows);

  // Refused rows count too: the row past the limit ends the reading, whatever follows it.
  auto past = api::read_lead_csv(csv + "manual\n\"never read", kSources);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().field, "body");
  EXPECT_EQ(past.error().message,
            "the import has more than 100000 rows (the first one past the limit is on line "
            "100002); split it into smaller imports");
}

TEST(ReadLeadCsv, RefusesRowsOfMoreOrFewerFieldsThanTheHeader) {
  auto read =
      api::read_lead_csv("source,name\nmanual,a,b,c\nmanual\n\"manual\",\"a\",\"b\"\n", kSources);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->problems.size(), 3u);
  EXPECT_EQ(read->problems[0].message, "the row has more than 2 fields; the header has 2");
  EXPECT_EQ(read->problems[1].message, "the row has 1 fields; the header has 2");
  EXPECT_EQ(read->problems[2].message, "the row has more than 2 fields; the header has 2");
}

TEST(ReadLeadCsv, NamesUnknownAndRepeatedColumnsOnceEach) {
  auto unknown = api::read_lead_csv("source,x,y,x\n", kSources);
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(unknown.error().message.starts_with("unknown columns x, y;"))
      << unknown.error().message;
  auto repeated = api::read_lead_csv("source,id,id,bio,linkedin_bio,id\n", kSources);
  ASSERT_FALSE(repeated);
  EXPECT_EQ(repeated.error().message, "the header repeats columns id, bio");
}

TEST(ReadLeadCsv, AByteOrderMarkBeforeTheHeaderIsNotPartOfIt) {
  auto read = api::read_lead_csv("\xEF\xBB\xBFsource,name\nmanual,Ada\n", kSources);
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->rows.size(), 1u);
  EXPECT_EQ(read->rows[0].lead.profile.name, "Ada");
  // Only at the very start: elsewhere it is a character of a cell like any other.
  auto inside = api::read_lead_csv("source,\xEF\xBB\xBFname\n", kSources);
  EXPECT_FALSE(inside);
}

}  // namespace
}  // namespace leadscore::testing
