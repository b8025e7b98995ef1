#include "plugins/llm/prompt_template.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace leadscore::llm {
namespace {

std::string_view trim(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

std::string at_line(std::string_view file, int line) {
  return std::string(file) + ":" + std::to_string(line) + ": ";
}

}  // namespace

std::expected<PromptTemplate, std::string> PromptTemplate::parse(
    std::string_view text, std::string_view file, const std::vector<std::string>& features) {
  PromptTemplate out;
  out.text_ = std::string(text);
  const std::size_t first_end = std::min(text.find('\n'), text.size());
  const std::string_view first = trim(text.substr(0, first_end));
  std::string problems;
  constexpr std::string_view kVersion = "version:";
  if (!first.starts_with(kVersion) || trim(first.substr(kVersion.size())).empty())
    problems += at_line(file, 1) + "the first line must be `version: X` (the prompt's version)\n";
  else
    out.version_ = std::string(trim(first.substr(kVersion.size())));

  std::string_view body = text.substr(std::min(first_end + 1, text.size()));
  int line = 2;
  std::string literal;
  std::size_t i = 0;
  while (i < body.size()) {
    if (body.compare(i, 2, "{{") != 0) {
      if (body[i] == '\n') ++line;
      literal += body[i++];
      continue;
    }
    const std::size_t close = body.find("}}", i + 2);
    const std::size_t newline = body.find('\n', i + 2);
    if (close == std::string_view::npos || close > newline) {
      problems += at_line(file, line) + "`{{` without `}}` on the same line\n";
      literal += body[i++];
      continue;
    }
    const std::string name(trim(body.substr(i + 2, close - i - 2)));
    if (name != "lead" && name != "offer" && std::ranges::find(features, name) == features.end())
      problems += at_line(file, line) + "{{" + name +
                  "}} is not {{lead}}, {{offer}} or a field of params.features\n";
    out.pieces_.push_back({std::move(literal), name});
    literal.clear();
    i = close + 2;
  }
  out.pieces_.push_back({std::move(literal), ""});
  if (!problems.empty()) {
    problems.pop_back();
    return std::unexpected(problems);
  }
  return out;
}

std::string PromptTemplate::render(const std::vector<PromptField>& lead,
                                   const std::optional<std::string>& offer) const {
  std::string out;
  std::string lead_json;
  for (const Piece& piece : pieces_) {
    out += piece.literal;
    if (piece.placeholder.empty()) continue;
    if (piece.placeholder == "lead") {
      if (lead_json.empty()) {
        nlohmann::ordered_json object = nlohmann::ordered_json::object();
        for (const PromptField& field : lead) {
          if (!field.text) continue;
          if (field.is_number)
            object[field.name] = nlohmann::ordered_json::parse(*field.text, nullptr, false);
          else
            object[field.name] = *field.text;
        }
        lead_json = object.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
      }
      out += lead_json;
    } else if (piece.placeholder == "offer") {
      out += offer ? *offer : std::string("(no active offer)");
    } else {
      const auto it = std::ranges::find(lead, piece.placeholder, &PromptField::name);
      out += it != lead.end() && it->text ? *it->text : std::string("(unknown)");
    }
  }
  return out;
}

}  // namespace leadscore::llm
