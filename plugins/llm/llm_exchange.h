// What the LLM scorer sends and reads back, as pure functions: the request body of each
// provider (with the verdict's JSON schema), the provider's answer (text or tool input, whether
// it was cut off, token usage), one JSON object recovered from a fenced or chatty text, the
// verdict checked, and the verdict as a score with its contribution.
//
// Threading: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "plugins/llm/llm_params.h"
#include "plugins/support/score_answer.h"

namespace leadscore::llm {

// The JSON schema of the verdict: {intent: High|Medium|Low, score: number 0..1 or null,
// recommendation, reason}, strict (every property required, nothing else allowed).
const nlohmann::json& verdict_schema();

// The request body for the provider: the prompt as one user message, the temperature (when
// sent), max_tokens as the params' token_limit_field, and (response_schema) the schema as
// OpenAI's response_format or Anthropic's forced tool.
std::string request_body(const LlmParams& params, const std::string& prompt);

// The provider's answer to a 2xx response.
struct ProviderAnswer {
  std::string text;                          // the model's text ("" when it used the tool)
  std::optional<nlohmann::json> tool_input;  // Anthropic: the forced tool's input
  bool cut_off = false;                      // finish_reason "length" / stop_reason "max_tokens"
  std::string refusal;                       // OpenAI: the model refused (message.refusal)
  std::int64_t tokens_in = 0;
  // The output tokens billed, reasoning tokens included. OpenAI counts a reasoning model's
  // reasoning tokens in completion_tokens already and reports them apart as
  // completion_tokens_details.reasoning_tokens; a server whose reasoning tokens exceed its
  // completion_tokens cannot have counted them there, and has them added.
  std::int64_t tokens_out = 0;
  std::optional<std::int64_t> tokens_reasoning;  // when the usage reports them
};

// Reads the provider's response body; an error when it is not that provider's shape.
std::expected<ProviderAnswer, std::string> read_provider_answer(Provider provider,
                                                                std::string_view body);

// One JSON object from a model's text: the whole text, else the inside of a ```json (or ```)
// fence, else the first balanced {...} in the text that parses and has an "intent" (the first
// that parses when none has). nullopt when there is none.
std::optional<nlohmann::json> recover_json_object(std::string_view text);

struct Verdict {
  std::string intent;  // "High", "Medium" or "Low"
  std::optional<double> score;
  plugin::Recommendation recommendation = plugin::Recommendation::ContinueQualification;
  std::string reason;
};

// Checks one verdict object: intent (any case), score absent/null or a number in 0..1,
// recommendation one of the three, reason a non-empty text (cut to 2000 bytes).
std::expected<Verdict, std::string> read_verdict(const nlohmann::json& object);

// The verdict in the provider's answer: the tool input, else the object recovered from the
// text. A cut-off answer (its message says how many of the tokens went to reasoning), a
// refusal or an answer without a valid verdict is an error.
std::expected<Verdict, std::string> verdict_of(const ProviderAnswer& answer,
                                               std::int64_t max_tokens);

// The score: the model's, else the intent's points / 50; one contribution that says which.
plugin::ScoreResult to_result(const Verdict& verdict, const IntentPoints& points);

}  // namespace leadscore::llm
