// The prompt template of the LLM scorer: a text file whose first line is `version: X` (stored
// with every result through the instance version and the audit), then the prompt itself with
// placeholders in double braces:
//   {{lead}}        the lead's allow-listed fields as a JSON object (fields without a value left
//                   out); JSON, so that a lead's text cannot pass for instructions of the prompt
//   {{offer}}       the active offer as a JSON object {name, value_props, ideal_use_cases}, or
//                   "(no active offer)"
//   {{FIELD}}       one allow-listed field's value as text, "(unknown)" when the lead has none
// A placeholder naming a field that is not in the allow-list is refused when the template is
// read, so the template cannot send what the config does not allow.
//
// Threading: a PromptTemplate is immutable after parse(); render() is safe from any thread.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leadscore::llm {

// One allow-listed field of a lead and its value, in the allow-list's order.
struct PromptField {
  std::string name;
  std::optional<std::string> text;  // as text: activity_count as digits
  bool is_number = false;           // written as a JSON number in {{lead}}
};

class PromptTemplate {
 public:
  // Reads the template text; `file` names it in messages ("lead_intent.txt:3: ..."). Every
  // problem, one per line.
  static std::expected<PromptTemplate, std::string> parse(std::string_view text,
                                                          std::string_view file,
                                                          const std::vector<std::string>& features);

  const std::string& version() const { return version_; }
  const std::string& text() const { return text_; }

  // The prompt for one lead; `offer` is the offer's JSON text as {{offer}} shows it, or
  // nullopt when no offer is active.
  std::string render(const std::vector<PromptField>& lead,
                     const std::optional<std::string>& offer) const;

 private:
  struct Piece {
    std::string literal;      // text before the placeholder
    std::string placeholder;  // "" after the last literal
  };
  std::string version_;
  std::string text_;  // the whole file, for the instance version's hash
  std::vector<Piece> pieces_;
};

}  // namespace leadscore::llm
