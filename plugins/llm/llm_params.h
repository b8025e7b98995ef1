// The params of one LLM scorer instance (plugins/README.md documents each), read from the JSON
// text that create() receives with positioned messages ("LINE:COLUMN: message"), the prompt
// template read from its file, and the API key read from the environment variable the params
// name.
//
// Threading: values.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/llm/prompt_template.h"

namespace leadscore::llm {

enum class Provider { OpenAi, Anthropic };

std::string_view to_string(Provider provider);

// The request member that carries max_tokens. OpenAI's reasoning models (o1, o3, o4-mini,
// gpt-5, ...) refuse max_tokens and take max_completion_tokens, which also bounds their
// reasoning tokens; Anthropic takes max_tokens only.
enum class TokenLimitField { MaxTokens, MaxCompletionTokens };

std::string_view to_string(TokenLimitField field);

// Whether the model name is one of OpenAI's reasoning models: "o" and a number (o1, o3-mini,
// o4-mini-2025-04-16), or "gpt-" and a number of 5 or more (gpt-5, gpt-5-mini, gpt-5.1),
// after any "vendor/" prefix a router adds ("openai/o3-mini").
bool is_reasoning_model(std::string_view model);

// Points of each intent out of 50, used as the score when the model gives none.
struct IntentPoints {
  double high = 50;
  double medium = 30;
  double low = 10;
};

struct LlmParams {
  Provider provider = Provider::OpenAi;
  std::string base_url;  // without a trailing '/'
  std::string model;
  std::string api_key_env;  // empty: no key (a local server)
  std::int64_t max_tokens = 300;
  // Default: max_completion_tokens for an OpenAI reasoning model, else max_tokens.
  TokenLimitField token_limit_field = TokenLimitField::MaxTokens;
  // nullopt: not sent (the default for an OpenAI reasoning model, which refuses any but its
  // own); else 0 unless the params say otherwise.
  std::optional<double> temperature = 0.0;
  bool response_schema = true;  // ask for the JSON schema (response_format / a forced tool)
  std::filesystem::path prompt_file;
  std::vector<std::string> features{"source", "stage",   "activity_count", "business_domain",
                                    "role",   "company", "industry"};
  IntentPoints intent_points;
  std::int64_t max_retries = 2;
  std::int64_t backoff_initial_ms = 500;
  std::int64_t backoff_max_ms = 8000;
  std::int64_t deadline_ms = 20000;
  std::int64_t breaker_failures = 5;  // 0: no breaker
  double breaker_cooldown_s = 30;
  std::int64_t max_concurrency = 8;
  double cache_ttl_s = 0;                   // 0: no cache
  std::int64_t tokens_per_day = 0;          // 0: no limit
  std::filesystem::path budget_state_file;  // empty: the day's count in memory only
};

// What create() needs besides the params: the template and the key, read once.
struct LlmConfig {
  LlmParams params;
  PromptTemplate prompt;
  std::string api_key;    // empty when api_key_env is empty
  std::string canonical;  // the effective params and the template text, for the version hash
};

// Reads the params (relative paths against config_dir), the prompt template and the key.
// Every problem, one per line, positioned in params_json where it has a position there.
std::expected<LlmConfig, std::string> read_llm_config(std::string_view params_json,
                                                      const std::filesystem::path& config_dir);

// The URL the provider's API is posted to: base_url + "/chat/completions" (openai: base_url
// ends with the API version, "https://api.openai.com/v1") or base_url + "/v1/messages"
// (anthropic: "https://api.anthropic.com").
std::string endpoint_url(const LlmParams& params);

}  // namespace leadscore::llm
