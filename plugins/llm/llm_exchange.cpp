#include "plugins/llm/llm_exchange.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace leadscore::llm {
namespace {

using nlohmann::json;

constexpr std::string_view kSchemaName = "lead_verdict";
constexpr std::size_t kMaxReasonBytes = 2000;
constexpr int kMaxCandidates = 64;

std::string_view trim(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

std::optional<json> parse_object(std::string_view text) {
  json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

// The end (one past the closing brace) of the balanced object starting at text[start], or npos.
std::size_t object_end(std::string_view text, std::size_t start) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// A number as people read it: "0.82", "1".
std::string shortest(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc{} ? std::string(buffer, end) : std::string("?");
}

// Cuts UTF-8 text to at most `bytes`, never inside a character.
std::string cut_utf8(std::string text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  std::size_t end = bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text;
}

std::int64_t integer_at(const json& object, const char* key) {
  if (!object.is_object()) return 0;
  const auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

}  // namespace

const json& verdict_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties",
       {{"intent",
         {{"type", "string"},
          {"enum", {"High", "Medium", "Low"}},
          {"description", "How likely the lead is to buy the offer."}}},
        {"score",
         {{"type", {"number", "null"}},
          {"description", "The chance of a deal, from 0 to 1; null when you cannot tell."}}},
        {"recommendation",
         {{"type", "string"},
          {"enum", {"transfer_to_sales", "continue_qualification", "drop_lead"}}}},
        {"reason",
         {{"type", "string"},
          {"description", "One or two sentences naming the lead's facts that decided."}}}}},
      {"required", {"intent", "score", "recommendation", "reason"}},
      {"additionalProperties", false}};
  return schema;
}

std::string request_body(const LlmParams& params, const std::string& prompt) {
  json body = {{"model", params.model},
               {std::string(to_string(params.token_limit_field)), params.max_tokens}};
  if (params.temperature) {
    if (*params.temperature == std::floor(*params.temperature))
      body["temperature"] = static_cast<std::int64_t>(*params.temperature);  // 0, as before
    else
      body["temperature"] = *params.temperature;
  }
  body["messages"] = json::array({{{"role", "user"}, {"content", prompt}}});
  if (params.response_schema) {
    if (params.provider == Provider::Anthropic) {
      body["tools"] = json::array({{{"name", kSchemaName},
                                    {"description", "Record the verdict on the lead."},
                                    {"input_schema", verdict_schema()}}});
      body["tool_choice"] = {{"type", "tool"}, {"name", kSchemaName}};
    } else {
      body["response_format"] = {
          {"type", "json_schema"},
          {"json_schema", {{"name", kSchemaName}, {"strict", true}, {"schema", verdict_schema()}}}};
    }
  }
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::expected<ProviderAnswer, std::string> read_provider_answer(Provider provider,
                                                                std::string_view body) {
  const json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return std::unexpected("the upstream's answer is not a JSON object");
  ProviderAnswer answer;
  if (const auto usage = parsed.find("usage"); usage != parsed.end()) {
    const bool anthropic = provider == Provider::Anthropic;
    answer.tokens_in = integer_at(*usage, anthropic ? "input_tokens" : "prompt_tokens");
    answer.tokens_out = integer_at(*usage, anthropic ? "output_tokens" : "completion_tokens");
    if (const auto details = usage->find("completion_tokens_details");
        !anthropic && details != usage->end() && details->is_object() &&
        details->contains("reasoning_tokens") &&
        (*details)["reasoning_tokens"].is_number_integer()) {
      answer.tokens_reasoning = std::max<std::int64_t>(integer_at(*details, "reasoning_tokens"), 0);
      if (*answer.tokens_reasoning > answer.tokens_out)
        answer.tokens_out += *answer.tokens_reasoning;
    }
  }
  if (provider == Provider::Anthropic) {
    const auto content = parsed.find("content");
    if (content == parsed.end() || !content->is_array())
      return std::unexpected("the upstream's answer has no `content` list (not a messages answer)");
    for (const json& block : *content) {
      if (!block.is_object()) continue;
      const std::string type = block.value("type", "");
      if (type == "tool_use" && block.contains("input") && !answer.tool_input)
        answer.tool_input = block["input"];
      else if (type == "text" && block.contains("text") && block["text"].is_string())
        answer.text += block["text"].get<std::string>();
    }
    answer.cut_off = parsed.value("stop_reason", json()) == "max_tokens";
    return answer;
  }
  const auto choices = parsed.find("choices");
  if (choices == parsed.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object())
    return std::unexpected("the upstream's answer has no `choices` (not a chat completion)");
  const json& choice = (*choices)[0];
  answer.cut_off = choice.value("finish_reason", json()) == "length";
  if (const auto message = choice.find("message");
      message != choice.end() && message->is_object()) {
    if (const auto content = message->find("content");
        content != message->end() && content->is_string())
      answer.text = content->get<std::string>();
    if (const auto refusal = message->find("refusal");
        refusal != message->end() && refusal->is_string())
      answer.refusal = refusal->get<std::string>();
  }
  return answer;
}

std::optional<json> recover_json_object(std::string_view text) {
  const std::string_view whole = trim(text);
  if (auto object = parse_object(whole)) return object;
  for (std::size_t fence = text.find("```"); fence != std::string_view::npos;
       fence = text.find("```", fence + 3)) {
    std::size_t start = text.find('\n', fence);
    const std::size_t close = text.find("```", fence + 3);
    if (start == std::string_view::npos || close == std::string_view::npos) break;
    if (start < close)
      if (auto object = parse_object(text.substr(start, close - start))) return object;
    fence = close;
  }
  std::optional<json> first;
  int candidates = 0;
  for (std::size_t start = text.find('{');
       start != std::string_view::npos && candidates < kMaxCandidates;
       start = text.find('{', start + 1), ++candidates) {
    const std::size_t end = object_end(text, start);
    if (end == std::string_view::npos) continue;
    auto object = parse_object(text.substr(start, end - start));
    if (!object) continue;
    if (object->contains("intent")) return object;
    if (!first) first = std::move(object);
  }
  return first;
}

std::expected<Verdict, std::string> read_verdict(const json& object) {
  Verdict verdict;
  const auto text_at = [&](const char* key) -> std::optional<std::string> {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  const auto intent = text_at("intent");
  if (!intent) return std::unexpected("the verdict has no intent text");
  std::string lower;
  for (char c : *intent) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "high")
    verdict.intent = "High";
  else if (lower == "medium")
    verdict.intent = "Medium";
  else if (lower == "low")
    verdict.intent = "Low";
  else
    return std::unexpected("the verdict's intent must be High, Medium or Low, got '" +
                           cut_utf8(*intent, 40) + "'");
  if (const auto score = object.find("score"); score != object.end() && !score->is_null()) {
    if (!score->is_number()) return std::unexpected("the verdict's score is not a number");
    const double value = score->get<double>();
    if (!std::isfinite(value) || value < 0 || value > 1)
      return std::unexpected("the verdict's score " + shortest(value) + " is not in 0..1");
    verdict.score = value;
  }
  const auto recommendation = text_at("recommendation");
  const auto parsed = recommendation ? plugin::parse_recommendation(*recommendation) : std::nullopt;
  if (!parsed)
    return std::unexpected(
        "the verdict's recommendation must be transfer_to_sales, continue_qualification or "
        "drop_lead, got " +
        (recommendation ? "'" + cut_utf8(*recommendation, 40) + "'" : std::string("none")));
  verdict.recommendation = *parsed;
  const auto reason = text_at("reason");
  if (!reason || trim(*reason).empty()) return std::unexpected("the verdict has no reason");
  verdict.reason = cut_utf8(std::string(trim(*reason)), kMaxReasonBytes);
  return verdict;
}

std::expected<Verdict, std::string> verdict_of(const ProviderAnswer& answer,
                                               std::int64_t max_tokens) {
  if (answer.cut_off)
    return std::unexpected(
        "the answer was cut off at max_tokens (" + std::to_string(max_tokens) + ")" +
        (answer.tokens_reasoning && *answer.tokens_reasoning > 0
             ? ", " + std::to_string(*answer.tokens_reasoning) + " of them spent on reasoning"
             : std::string()) +
        ": raise max_tokens or shorten the prompt");
  if (!answer.refusal.empty())
    return std::unexpected("the model refused: " + cut_utf8(answer.refusal, 200));
  if (answer.tool_input) {
    if (!answer.tool_input->is_object())
      return std::unexpected("the model's tool input is not a JSON object");
    return read_verdict(*answer.tool_input);
  }
  auto object = recover_json_object(answer.text);
  if (!object)
    return std::unexpected("the model's answer holds no JSON object: '" +
                           cut_utf8(std::string(trim(answer.text)), 120) + "'");
  return read_verdict(*object);
}

plugin::ScoreResult to_result(const Verdict& verdict, const IntentPoints& points) {
  plugin::ScoreResult result;
  result.intent = verdict.intent;
  result.recommendation = verdict.recommendation;
  result.reason = verdict.reason;
  if (verdict.score) {
    result.score = *verdict.score;
    result.contributions.push_back({"llm intent " + verdict.intent + " (score " +
                                        shortest(*verdict.score) + " given by the model)",
                                    result.score});
  } else {
    const double intent_points = verdict.intent == "High"     ? points.high
                                 : verdict.intent == "Medium" ? points.medium
                                                              : points.low;
    result.score = intent_points / 50.0;
    result.contributions.push_back({"llm intent " + verdict.intent + " (no score given: " +
                                        shortest(intent_points) + " of 50 points)",
                                    result.score});
  }
  return result;
}

}  // namespace leadscore::llm
