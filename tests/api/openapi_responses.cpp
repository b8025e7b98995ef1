#include "tests/api/openapi_responses.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace leadscore::testing {
namespace {

using nlohmann::json;

std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string lower(std::string text) {
  std::ranges::transform(text, text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// "application/json; charset=utf-8" -> "application/json"
std::string media_type_of(const std::string& content_type) {
  std::string type = lower(content_type.substr(0, content_type.find(';')));
  type.erase(type.find_last_not_of(" \t") + 1);
  return type;
}

}  // namespace

const OpenApiResponses& OpenApiResponses::shipped() {
  static const OpenApiResponses instance([] {
    const std::string path = std::string(LEADSCORE_SOURCE_DIR) + "/api/openapi/openapi.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
  }());
  return instance;
}

OpenApiResponses::OpenApiResponses(json document)
    : document_(std::move(document)), checker_(document_) {}

std::optional<std::string> OpenApiResponses::operation_path(const std::string& method,
                                                            const std::string& path) const {
  const std::string bare = path.substr(0, path.find('?'));
  const auto wanted = segments(bare);
  const std::string verb = lower(method);
  std::optional<std::string> best;
  int best_literals = -1;
  for (const auto& [templ, item] : document_.at("paths").items()) {
    if (!item.contains(verb)) continue;
    const auto parts = segments(templ);
    if (parts.size() != wanted.size()) continue;
    int literals = 0;
    bool matches = true;
    for (std::size_t i = 0; i < parts.size() && matches; ++i) {
      if (parts[i].starts_with("{") && parts[i].ends_with("}"))
        matches = !wanted[i].empty();
      else if (parts[i] == wanted[i])
        ++literals;
      else
        matches = false;
    }
    if (matches && literals > best_literals) {
      best = templ;
      best_literals = literals;
    }
  }
  return best;
}

std::vector<std::string> OpenApiResponses::check(const std::string& method, const std::string& path,
                                                 long status, const std::string& content_type,
                                                 const std::string& body) const {
  const auto templ = operation_path(method, path);
  if (!templ) return {};
  const std::string where = method + " " + path + " -> " + std::to_string(status) + ": ";
  const json& operation = document_.at("paths").at(*templ).at(lower(method));
  const json& responses = operation.at("responses");
  const std::string code = std::to_string(status);
  if (!responses.contains(code))
    return {where + "the status is not documented for " + method + " " + *templ};
  const json* response = &responses.at(code);
  if (response->contains("$ref")) {
    const std::string ref = response->at("$ref").get<std::string>();
    response = &document_.at(json::json_pointer(ref.substr(1)));
  }
  if (!response->contains("content")) {
    if (!body.empty()) return {where + "a body where none is documented: " + body.substr(0, 200)};
    return {};
  }
  const std::string type = media_type_of(content_type);
  const json& content = response->at("content");
  if (!content.contains(type))
    return {where + "Content-Type " + content_type + " is not documented (" + content.dump() + ")"};
  if (type != "application/json") return {};
  const json value = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return {where + "the body is not JSON: " + body.substr(0, 200)};
  const json& media = content.at(type);
  if (!media.contains("schema")) return {};
  std::vector<std::string> problems = checker_.check(value, media.at("schema"));
  for (auto& problem : problems) problem = where + problem + "\n  body: " + body.substr(0, 400);
  return problems;
}

}  // namespace leadscore::testing
