// Documentation routes: the OpenAPI document (compiled in), and Swagger UI at /docs and ReDoc
// at /redoc, whose pages are compiled in and whose scripts and styles are files of the pinned
// swagger-ui-dist and redoc packages under server.docs_dir. Only the files listed here are
// served, by name: a path never reaches the file system.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/handler_support.h"
#include "api/openapi/documents.h"

namespace leadscore::api::routes {
namespace {

// A file a documentation page loads: from the embedded documents (`embedded`), or at `path`
// under server.docs_dir.
struct DocsFile {
  std::string_view name;  // as requested: /docs/<name>, /redoc/<name>
  std::string_view path;  // under server.docs_dir; empty for an embedded document
  std::string_view embedded;
  std::string_view content_type;
};

constexpr std::string_view kJavaScript = "application/javascript; charset=utf-8";
constexpr std::string_view kHtml = "text/html; charset=utf-8";

constexpr DocsFile kSwaggerUiFiles[] = {
    {"swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui-bundle.js", "", kJavaScript},
    {"swagger-ui.css", "swagger-ui-dist/swagger-ui.css", "", "text/css; charset=utf-8"},
    {"favicon-32x32.png", "swagger-ui-dist/favicon-32x32.png", "", "image/png"},
    {"favicon-16x16.png", "swagger-ui-dist/favicon-16x16.png", "", "image/png"},
    {"swagger-initializer.js", "", "swagger-initializer.js", kJavaScript},
};
constexpr DocsFile kRedocFiles[] = {
    {"redoc.standalone.js", "redoc/bundles/redoc.standalone.js", "", kJavaScript},
    {"redoc-init.js", "", "redoc-init.js", kJavaScript},
};

// The packages' files change only with their pinned versions; the pages and the document with
// the binary. A browser keeps the first for an hour and asks again for the others.
constexpr std::string_view kAssetCaching = "public, max-age=3600";
constexpr std::string_view kPageCaching = "no-cache";

#ifndef LEADSCORE_DOCS_DIR
#error "LEADSCORE_DOCS_DIR must name the default of server.docs_dir"
#endif

// server.docs_dir, or when the config gives none the build's (LEADSCORE_DOCS_DIR: the
// repository's web/node_modules, unless the build was told another).
std::string docs_dir(const Services& s) {
  return s.config->server.docs_dir.empty() ? std::string(LEADSCORE_DOCS_DIR)
                                           : s.config->server.docs_dir;
}

// Whether the file `path` of server.docs_dir is there; a 503 answer when it is not.
std::optional<Reply> missing_assets(const Services& s, const ApiRequest& r, std::string_view path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(std::filesystem::path(docs_dir(s)) / path, ec))
    return std::nullopt;
  spdlog::warn("request {} {} {}: {} is missing under server.docs_dir ({})", r.id, r.method, r.path,
               path, docs_dir(s));
  return fail(r,
              {ErrorCode::Unavailable,
               "the documentation files are not installed on this server (server.docs_dir; "
               "scripts/install_deps.sh installs them)",
               {},
               {}},
              json::object());
}

Reply page(const Services& s, const ApiRequest& r, std::string_view document,
           std::string_view needed) {
  if (auto missing = missing_assets(s, r, needed)) return *missing;
  return {200, std::string(embedded_document(document)), std::string(kHtml),
          std::string(kPageCaching)};
}

template <std::size_t N>
Reply asset(const Services& s, const ApiRequest& r, const DocsFile (&files)[N]) {
  const std::string* name = r.param("file");
  const DocsFile* file = nullptr;
  for (const DocsFile& f : files)
    if (name && f.name == *name) file = &f;
  if (!file)
    return fail(Error::not_found("no documentation file " + quoted_name(name ? *name : "")), r);
  if (!file->embedded.empty())
    return {200, std::string(embedded_document(file->embedded)), std::string(file->content_type),
            std::string(kPageCaching)};
  if (auto missing = missing_assets(s, r, file->path)) return *missing;
  std::ifstream in(std::filesystem::path(docs_dir(s)) / file->path, std::ios::binary);
  std::ostringstream bytes;
  if (!in || !(bytes << in.rdbuf()))
    return fail(Error::internal("cannot read " + std::string(file->path)), r);
  return {200, std::move(bytes).str(), std::string(file->content_type), std::string(kAssetCaching)};
}

}  // namespace

Reply openapi(const Services&, const ApiRequest&) {
  return {200, std::string(embedded_document("openapi.json")), "application/json",
          std::string(kPageCaching)};
}

Reply swagger_ui(const Services& s, const ApiRequest& r) {
  return page(s, r, "swagger-ui.html", kSwaggerUiFiles[0].path);
}

Reply swagger_ui_file(const Services& s, const ApiRequest& r) {
  return asset(s, r, kSwaggerUiFiles);
}

Reply redoc(const Services& s, const ApiRequest& r) {
  return page(s, r, "redoc.html", kRedocFiles[0].path);
}

Reply redoc_file(const Services& s, const ApiRequest& r) { return asset(s, r, kRedocFiles); }

}  // namespace leadscore::api::routes
