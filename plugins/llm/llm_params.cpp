#include "plugins/llm/llm_params.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "plugins/support/json_params.h"

namespace leadscore::llm {
namespace {

using plugin::JsonValue;
using plugin::ParamsMap;
using plugin::ParamsProblems;

// A non-empty string value of `key`; false when absent or wrong (reported).
bool read_text(ParamsMap& params, std::string_view key, std::string& out) {
  const JsonValue* value = params.value(key);
  if (value == nullptr) return false;
  if (value->kind != JsonValue::Kind::String || value->text.empty()) {
    params.error(
        key, params.key_path(key) + " must be a non-empty text, got " + plugin::describe(*value));
    return false;
  }
  out = value->text;
  return true;
}

bool read_flag(ParamsMap& params, std::string_view key, bool& out) {
  const JsonValue* value = params.value(key);
  if (value == nullptr) return false;
  if (value->kind != JsonValue::Kind::Boolean) {
    params.error(key,
                 params.key_path(key) + " must be true or false, got " + plugin::describe(*value));
    return false;
  }
  out = value->text == "true";
  return true;
}

// Fields a scorer never sees (DESIGN: never the id, dates or earlier scores).
bool never_sent(std::string_view field) {
  return field == "id" || field.starts_with("ai_") || field.ends_with("_at") || field == "offer" ||
         field == "lead";
}

bool is_field_name(std::string_view field) {
  return !field.empty() && std::ranges::all_of(field, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

void read_features(ParamsMap& params, LlmParams& out) {
  const JsonValue* value = params.value("features");
  if (value == nullptr) return;
  const std::string path = params.key_path("features");
  if (value->kind != JsonValue::Kind::List || value->items.empty()) {
    params.error("features", path + " must be a non-empty list of lead fields, got " +
                                 plugin::describe(*value));
    return;
  }
  std::vector<std::string> features;
  for (std::size_t i = 0; i < value->items.size(); ++i) {
    const JsonValue& item = value->items[i];
    const std::string where = path + "[" + std::to_string(i) + "]";
    const auto at = plugin::value_position(item, params.value_position("features"));
    if (item.kind != JsonValue::Kind::String || !is_field_name(item.text)) {
      params.problems().add(at,
                            where + " must be a lead field name, got " + plugin::describe(item));
    } else if (never_sent(item.text)) {
      params.problems().add(
          at, where + ": '" + item.text + "' is never sent to a scorer (no ids, dates or scores)");
    } else if (std::ranges::find(features, item.text) != features.end()) {
      params.problems().add(at, where + ": '" + item.text + "' is listed twice");
    } else {
      features.push_back(item.text);
    }
  }
  out.features = std::move(features);
}

// token_limit_field and temperature, whose defaults follow the model: an OpenAI reasoning model
// gets max_completion_tokens and no temperature.
void read_token_limit(ParamsMap& params, LlmParams& p) {
  const bool reasoning = p.provider == Provider::OpenAi && is_reasoning_model(p.model);
  p.token_limit_field =
      reasoning ? TokenLimitField::MaxCompletionTokens : TokenLimitField::MaxTokens;
  p.temperature = reasoning ? std::nullopt : std::optional<double>(0.0);
  std::string field;
  if (read_text(params, "token_limit_field", field)) {
    if (field == "max_tokens") {
      p.token_limit_field = TokenLimitField::MaxTokens;
    } else if (field == "max_completion_tokens" && p.provider == Provider::OpenAi) {
      p.token_limit_field = TokenLimitField::MaxCompletionTokens;
    } else if (field == "max_completion_tokens") {
      params.error("token_limit_field",
                   "params.token_limit_field: the anthropic API takes max_tokens only");
    } else {
      params.error("token_limit_field",
                   "params.token_limit_field must be max_tokens or max_completion_tokens, got '" +
                       field + "'");
    }
  }
  const JsonValue* temperature = params.value("temperature");
  if (temperature == nullptr) return;
  if (temperature->kind == JsonValue::Kind::Null ||
      (temperature->kind == JsonValue::Kind::String && temperature->text == "none")) {
    p.temperature.reset();
    return;
  }
  double value = 0;
  if (params.read("temperature", value, {0, 2})) p.temperature = value;
}

void read_intent_points(ParamsMap& params, LlmParams& out) {
  ParamsMap points = params.map("intent_points");
  constexpr plugin::NumberRange kRange{0, 50};
  points.read("High", out.intent_points.high, kRange);
  points.read("Medium", out.intent_points.medium, kRange);
  points.read("Low", out.intent_points.low, kRange);
  points.finish();
}

std::string shortest(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc{} ? std::string(buffer, end) : std::string("?");
}

std::string canonical_text(const LlmParams& p, const std::string& template_text) {
  std::string text = std::string(to_string(p.provider)) + "|" + p.base_url + "|" + p.model + "|" +
                     p.api_key_env + "|" + std::to_string(p.max_tokens) + "|" +
                     (p.response_schema ? "schema" : "free") + "|";
  // What is sent besides: only when it differs from max_tokens at temperature 0, so that the
  // version of a scorer configured before these params existed stays the same.
  if (p.token_limit_field != TokenLimitField::MaxTokens || p.temperature != 0.0)
    text += std::string(to_string(p.token_limit_field)) + "|" +
            (p.temperature ? "temperature " + shortest(*p.temperature) : "no temperature") + "|";
  for (const auto& f : p.features) text += f + ",";
  text += "|" + shortest(p.intent_points.high) + "," + shortest(p.intent_points.medium) + "," +
          shortest(p.intent_points.low) + "|" + template_text;
  return text;
}

}  // namespace

std::string_view to_string(Provider provider) {
  return provider == Provider::Anthropic ? "anthropic" : "openai";
}

std::string_view to_string(TokenLimitField field) {
  return field == TokenLimitField::MaxCompletionTokens ? "max_completion_tokens" : "max_tokens";
}

bool is_reasoning_model(std::string_view model) {
  if (const auto slash = model.rfind('/'); slash != std::string_view::npos)
    model.remove_prefix(slash + 1);
  // The number after `prefix`, and that it ends the name or is followed by one of `after`.
  const auto number_after = [&](std::string_view prefix, std::string_view after) -> int {
    if (!model.starts_with(prefix)) return -1;
    std::string_view rest = model.substr(prefix.size());
    int number = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), number);
    if (ec != std::errc{} || end == rest.data()) return -1;
    if (end != rest.data() + rest.size() && after.find(*end) == std::string_view::npos) return -1;
    return number;
  };
  return number_after("o", "-") >= 1 || number_after("gpt-", "-.") >= 5;
}

std::string endpoint_url(const LlmParams& params) {
  return params.base_url +
         (params.provider == Provider::Anthropic ? "/v1/messages" : "/chat/completions");
}

std::expected<LlmConfig, std::string> read_llm_config(std::string_view params_json,
                                                      const std::filesystem::path& config_dir) {
  auto document = plugin::parse_positioned_json(params_json);
  if (!document) return std::unexpected(document.error());
  ParamsProblems problems;
  ParamsMap params(&*document, "params", problems, {1, 1});
  if (!params.present() && problems.empty()) problems.add({1, 1}, "params must be a mapping");

  LlmConfig config;
  LlmParams& p = config.params;
  std::string provider;
  if (params.require("provider") && read_text(params, "provider", provider)) {
    if (provider == "openai")
      p.provider = Provider::OpenAi;
    else if (provider == "anthropic")
      p.provider = Provider::Anthropic;
    else
      params.error("provider",
                   "params.provider must be openai or anthropic, got '" + provider + "'");
  }
  p.base_url =
      p.provider == Provider::Anthropic ? "https://api.anthropic.com" : "https://api.openai.com/v1";
  if (read_text(params, "base_url", p.base_url)) {
    while (p.base_url.ends_with('/')) p.base_url.pop_back();
    if (!p.base_url.starts_with("http://") && !p.base_url.starts_with("https://"))
      params.error("base_url", "params.base_url must start with http:// or https://");
  }
  if (params.require("model")) read_text(params, "model", p.model);
  if (read_text(params, "api_key_env", p.api_key_env)) {
    const char* key = std::getenv(p.api_key_env.c_str());
    if (key == nullptr || *key == '\0')
      params.error("api_key_env", "params.api_key_env: the environment variable " + p.api_key_env +
                                      " is not set or empty");
    else
      config.api_key = key;
  }
  params.read("max_tokens", p.max_tokens, {1, 100000});
  read_token_limit(params, p);
  read_flag(params, "response_schema", p.response_schema);
  std::string prompt;
  if (params.require("prompt") && read_text(params, "prompt", prompt))
    p.prompt_file = config_dir / prompt;
  read_features(params, p);
  read_intent_points(params, p);
  params.read("max_retries", p.max_retries, {0, 10});
  {
    ParamsMap backoff = params.map("backoff");
    backoff.read("initial_ms", p.backoff_initial_ms, {1, 60000});
    backoff.read("max_ms", p.backoff_max_ms, {1, 600000});
    if (p.backoff_max_ms < p.backoff_initial_ms)
      backoff.error("max_ms", "params.backoff.max_ms must be at least initial_ms");
    backoff.finish();
  }
  params.read("deadline_ms", p.deadline_ms, {1, 600000});
  {
    ParamsMap breaker = params.map("breaker");
    breaker.read("failures", p.breaker_failures, {0, 1000});
    breaker.read("cooldown_s", p.breaker_cooldown_s, {0.001, 86400});
    breaker.finish();
  }
  params.read("max_concurrency", p.max_concurrency, {1, 1024});
  params.read("cache_ttl_s", p.cache_ttl_s, {0, 30 * 86400.0});
  {
    ParamsMap budget = params.map("budget");
    budget.read("tokens_per_day", p.tokens_per_day, {0, std::int64_t{1} << 50});
    std::string state_file;
    if (read_text(budget, "state_file", state_file))
      p.budget_state_file = (config_dir / state_file).lexically_normal();
    budget.finish();
  }
  params.finish();

  if (!p.prompt_file.empty()) {
    std::ifstream file(p.prompt_file, std::ios::binary);
    std::ostringstream text;
    if (file.is_open()) text << file.rdbuf();
    if (!file.is_open() || file.bad()) {
      params.error("prompt", "params.prompt: cannot read " + p.prompt_file.string());
    } else {
      auto parsed =
          PromptTemplate::parse(text.str(), p.prompt_file.filename().string(), p.features);
      if (parsed) {
        config.prompt = std::move(*parsed);
      } else {
        std::istringstream lines(parsed.error());
        for (std::string line; std::getline(lines, line);)
          params.error("prompt", "params.prompt: " + line);
      }
    }
  }
  if (!problems.empty()) return std::unexpected(problems.to_text());
  config.canonical = canonical_text(p, config.prompt.text());
  return config;
}

}  // namespace leadscore::llm
