// The OpenAPI document stays true: its operations are exactly the route table's, each with the
// role its route needs; the server serves it byte for byte; and /docs and /redoc serve only
// their own known files, or a clear 503 when those are not installed. (Every answer of every
// API test is also checked against the document's schemas: see api_fixture.cpp.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "api/routes.h"
#include "tests/api/api_fixture.h"
#include "tests/api/openapi_responses.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;

const json& spec() { return OpenApiResponses::shipped().document(); }

// "/leads/:id" as the document writes it: "/leads/{id}".
std::string spec_path(std::string_view route) {
  std::string out;
  for (std::size_t i = 0; i < route.size(); ++i) {
    if (route[i] != ':') {
      out += route[i];
      continue;
    }
    std::size_t end = route.find('/', i);
    if (end == std::string_view::npos) end = route.size();
    out += "{" + std::string(route.substr(i + 1, end - i - 1)) + "}";
    i = end - 1;
  }
  return out;
}

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string role_of(api::Access access) {
  switch (access) {
    case api::Access::Public:
      return "public";
    case api::Access::Read:
      return "viewer";
    case api::Access::Manage:
      return "manager";
    case api::Access::Analyze:
      return "analyst";
    case api::Access::Administer:
      return "admin";
  }
  return "?";
}

const std::set<std::string> kMethods = {"get", "post", "put", "patch", "delete", "head", "options"};

TEST(OpenApiDocument, DocumentsEveryRouteOfTheRouteTable) {
  for (const auto& route : api::route_table()) {
    const std::string path = spec_path(route.path);
    EXPECT_TRUE(spec()["paths"].contains(path) &&
                spec()["paths"][path].contains(lower(route.method)))
        << route.method << " " << route.path << " is served but not in api/openapi/openapi.json as "
        << route.method << " " << path;
  }
}

TEST(OpenApiDocument, DocumentsNoOperationTheServerDoesNotServe) {
  std::set<std::string> served;
  for (const auto& route : api::route_table())
    served.insert(lower(route.method) + " " + spec_path(route.path));
  for (const auto& [path, item] : spec()["paths"].items())
    for (const auto& [method, operation] : item.items()) {
      if (!kMethods.contains(method)) continue;
      EXPECT_TRUE(served.contains(method + " " + path))
          << method << " " << path << " is in api/openapi/openapi.json but not in route_table()";
    }
}

TEST(OpenApiDocument, EachOperationNamesTheRoleItsRouteNeeds) {
  for (const auto& route : api::route_table()) {
    const std::string path = spec_path(route.path);
    if (!spec()["paths"].contains(path) || !spec()["paths"][path].contains(lower(route.method)))
      continue;  // reported above
    const json& operation = spec()["paths"][path][lower(route.method)];
    const std::string role = role_of(route.access);
    const std::string name = std::string(route.method) + " " + route.path;
    EXPECT_EQ(operation.value("x-leadscore-role", ""), role) << name;
    const std::string description = operation.value("description", "");
    if (route.access == api::Access::Public) {
      EXPECT_NE(description.find("No key needed."), std::string::npos) << name;
      EXPECT_EQ(operation.value("security", json()), json::array()) << name << ": no key needed";
      EXPECT_FALSE(operation["responses"].contains("401")) << name;
    } else {
      EXPECT_NE(description.find("Role: " + role), std::string::npos)
          << name << ": " << description;
      EXPECT_FALSE(operation.contains("security")) << name << ": the document's bearer key applies";
      EXPECT_TRUE(operation["responses"].contains("401")) << name;
      // Every role reads; the other rights are some roles' only.
      EXPECT_EQ(operation["responses"].contains("403"), route.access != api::Access::Read) << name;
    }
    // Every route with an id refuses a malformed one (400) and answers 404 for an unknown one.
    if (std::string_view(route.path).find(":id") != std::string_view::npos) {
      EXPECT_TRUE(operation["responses"].contains("404")) << name;
    }
  }
}

TEST(OpenApiDocument, NamesEveryErrorCodeOfTheErrorTable) {
  const json& codes =
      spec()["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"];
  for (auto code :
       {api::ErrorCode::Validation, api::ErrorCode::NotFound, api::ErrorCode::LeadFinal,
        api::ErrorCode::InvalidTransition, api::ErrorCode::Conflict,
        api::ErrorCode::HandoffRejected, api::ErrorCode::InvalidConfig,
        api::ErrorCode::ScorerUnavailable, api::ErrorCode::Unavailable, api::ErrorCode::Internal,
        api::ErrorCode::Unauthorized, api::ErrorCode::Forbidden, api::ErrorCode::PayloadTooLarge,
        api::ErrorCode::MalformedRequest, api::ErrorCode::LengthRequired,
        api::ErrorCode::UriTooLong, api::ErrorCode::HeaderTooLarge, api::ErrorCode::RequestTimeout})
    EXPECT_NE(std::ranges::find(codes, json(api::code_name(code))), codes.end())
        << api::code_name(code);
}

TEST(OpenApiDocument, RefusesAnAnswerItDoesNotDocument) {
  const auto& responses = OpenApiResponses::shipped();
  // An undocumented status, a wrong shape, a wrong error code for the status, a wrong type.
  EXPECT_FALSE(responses.check("GET", "/health", 418, "application/json", "{}").empty());
  EXPECT_FALSE(
      responses.check("GET", "/health", 200, "application/json", R"({"status":"up"})").empty());
  EXPECT_FALSE(responses
                   .check("GET", "/leads/7", 404, "application/json",
                          R"({"error":{"code":"conflict","message":"m","details":{}}})")
                   .empty());
  EXPECT_FALSE(responses.check("GET", "/leads/export.csv", 200, "application/json", "[]").empty());
  EXPECT_FALSE(responses.check("DELETE", "/leads/7", 204, "", "body").empty());
  // And takes what it does document.
  EXPECT_TRUE(
      responses.check("GET", "/health", 200, "application/json", R"({"status":"ok"})").empty());
  EXPECT_TRUE(responses
                  .check("GET", "/leads/7?x=1", 404, "application/json",
                         R"({"error":{"code":"not_found","message":"m","details":{}}})")
                  .empty());
  EXPECT_EQ(responses.operation_path("GET", "/leads/export.csv"), "/leads/export.csv");
  EXPECT_EQ(responses.operation_path("GET", "/leads/12"), "/leads/{id}");
  EXPECT_EQ(responses.operation_path("GET", "/nothing/here"), std::nullopt);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

using OpenApiServed = ApiTest;

TEST_F(OpenApiServed, ServesTheDocumentByteForByteWithoutAKey) {
  auto r = client->request("GET", "/openapi.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(r.body, read_file(std::string(LEADSCORE_SOURCE_DIR) + "/api/openapi/openapi.json"));
  EXPECT_EQ(json::parse(r.body)["openapi"], "3.1.0");
}

TEST_F(OpenApiServed, DocsAndRedocPagesLoadOnlyWhatLeadscoreServes) {
  for (const std::string page : {"/docs", "/redoc"}) {
    auto r = client->request("GET", page);
    ASSERT_EQ(r.status, 200) << page << ": " << r.body;
    EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8") << page;
    EXPECT_EQ(r.headers["cache-control"], "no-cache") << page;
    EXPECT_NE(r.body.find("<script src=\"" + page + "/"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("http:"), std::string::npos) << page;
    EXPECT_EQ(r.body.find("https:"), std::string::npos) << page;
    EXPECT_EQ(r.body.find("//"), std::string::npos) << page << ": no protocol-relative address";
    // Every script and style the page names is served.
    for (std::size_t at = r.body.find("=\"/"); at != std::string::npos;
         at = r.body.find("=\"/", at + 1)) {
      const std::string asset = r.body.substr(at + 2, r.body.find('"', at + 2) - at - 2);
      auto loaded = client->request("GET", asset);
      EXPECT_EQ(loaded.status, 200) << page << " loads " << asset;
      EXPECT_FALSE(loaded.body.empty()) << asset;
    }
  }
}

TEST_F(OpenApiServed, AssetsCarryTheirTypeAndCaching) {
  auto js = client->request("GET", "/docs/swagger-ui-bundle.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.headers["content-type"], "application/javascript; charset=utf-8");
  EXPECT_EQ(js.headers["cache-control"], "public, max-age=3600");
  EXPECT_EQ(js.body, read_file(std::string(LEADSCORE_SOURCE_DIR) +
                               "/web/node_modules/swagger-ui-dist/swagger-ui-bundle.js"));
  EXPECT_EQ(client->request("GET", "/docs/swagger-ui.css").headers["content-type"],
            "text/css; charset=utf-8");
  EXPECT_EQ(client->request("GET", "/docs/favicon-32x32.png").headers["content-type"], "image/png");
  auto redoc = client->request("GET", "/redoc/redoc.standalone.js");
  EXPECT_EQ(redoc.status, 200);
  EXPECT_GT(redoc.body.size(), 100000u);
}

TEST_F(OpenApiServed, ServesOnlyItsKnownFiles) {
  for (const std::string path :
       {"/docs/package.json", "/docs/index.html", "/docs/..%2Fredoc%2Fpackage.json",
        "/docs/%2E%2E%2F%2E%2E%2Fpackage.json", "/redoc/redoc.standalone.js.map",
        "/redoc/swagger-ui-bundle.js", "/docs/swagger-ui-bundle.js%00"}) {
    auto r = client->request("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.error_code(), "not_found") << path;
  }
  // A path of more segments is no route at all.
  EXPECT_EQ(client->request("GET", "/docs/swagger-ui-dist/swagger-ui-bundle.js").status, 404);
}

class DocsNotInstalled : public ApiTest {
 protected:
  void configure(config::AppConfig& config) override {
    config.server.docs_dir =
        (std::filesystem::temp_directory_path() / "leadscore-no-docs").string();
  }
};

TEST_F(DocsNotInstalled, DocsAnswer503SayingWhatIsMissingAndTheServerGoesOn) {
  for (const std::string path :
       {"/docs", "/redoc", "/docs/swagger-ui-bundle.js", "/redoc/redoc.standalone.js"}) {
    auto r = client->request("GET", path);
    EXPECT_EQ(r.status, 503) << path;
    EXPECT_EQ(r.error_code(), "unavailable") << path;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("server.docs_dir"),
              std::string::npos)
        << r.body;
  }
  // What needs no file is still served.
  EXPECT_EQ(client->request("GET", "/openapi.json").status, 200);
  EXPECT_EQ(client->request("GET", "/docs/swagger-initializer.js").status, 200);
  EXPECT_EQ(client->request("GET", "/health").status, 200);
}

}  // namespace
}  // namespace leadscore::testing
