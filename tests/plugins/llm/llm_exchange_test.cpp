// What the LLM scorer sends and reads back (plugins/llm/llm_exchange.h): the request bodies of
// both APIs with the schema, the answers of both APIs, the JSON object recovered from fenced or
// chatty text, the verdict's checks, and the score with its one contribution.
#include "plugins/llm/llm_exchange.h"

#include <gtest/gtest.h>

namespace leadscore::llm {
namespace {

using nlohmann::json;

LlmParams params_for(Provider provider) {
  LlmParams p;
  p.provider = provider;
  p.model = "m-1";
  p.max_tokens = 123;
  return p;
}

TEST(LlmRequest, OpenAiAsksForTheStrictSchemaAsResponseFormat) {
  const json body = json::parse(request_body(params_for(Provider::OpenAi), "the prompt"));
  EXPECT_EQ(body["model"], "m-1");
  EXPECT_EQ(body["max_tokens"], 123);
  EXPECT_EQ(body["temperature"], 0);
  EXPECT_EQ(body["messages"], json::parse(R"([{"role": "user", "content": "the prompt"}])"));
  EXPECT_EQ(body["response_format"]["type"], "json_schema");
  EXPECT_EQ(body["response_format"]["json_schema"]["strict"], true);
  EXPECT_EQ(body["response_format"]["json_schema"]["name"], "lead_verdict");
  EXPECT_EQ(body["response_format"]["json_schema"]["schema"], verdict_schema());
  EXPECT_FALSE(body.contains("tools"));
}

TEST(LlmRequest, AnthropicForcesOneToolWithTheSchema) {
  const json body = json::parse(request_body(params_for(Provider::Anthropic), "p"));
  ASSERT_EQ(body["tools"].size(), 1u);
  EXPECT_EQ(body["tools"][0]["input_schema"], verdict_schema());
  EXPECT_EQ(body["tool_choice"], json::parse(R"({"type": "tool", "name": "lead_verdict"})"));
  EXPECT_FALSE(body.contains("response_format"));
  EXPECT_EQ(body["max_tokens"], 123);
}

TEST(LlmRequest, AReasoningModelsLimitGoesAsMaxCompletionTokensWithoutATemperature) {
  LlmParams p = params_for(Provider::OpenAi);
  p.token_limit_field = TokenLimitField::MaxCompletionTokens;
  p.temperature.reset();
  const json body = json::parse(request_body(p, "p"));
  EXPECT_EQ(body["max_completion_tokens"], 123);
  EXPECT_FALSE(body.contains("max_tokens"));
  EXPECT_FALSE(body.contains("temperature"));
  p.temperature = 0.7;
  EXPECT_EQ(json::parse(request_body(p, "p"))["temperature"], 0.7);
}

TEST(LlmRequest, ReasoningModelsAreKnownByTheirNames) {
  for (const char* model :
       {"o1", "o1-mini", "o1-preview", "o3", "o3-mini", "o3-pro", "o4-mini", "o4-mini-2025-04-16",
        "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5.1", "gpt-6", "openai/o3-mini", "openai/gpt-5"})
    EXPECT_TRUE(is_reasoning_model(model)) << model;
  for (const char* model :
       {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-3.5-turbo", "o", "omni", "o1x", "ollama-o3",
        "gpt-5x", "claude-3-5-haiku-latest", "qwen2.5:7b", "local", "gpt-", "o0"})
    EXPECT_FALSE(is_reasoning_model(model)) << model;
}

TEST(LlmRequest, WithoutResponseSchemaAsksForNone) {
  LlmParams p = params_for(Provider::OpenAi);
  p.response_schema = false;
  EXPECT_FALSE(json::parse(request_body(p, "p")).contains("response_format"));
}

TEST(LlmRequest, SchemaRequiresEveryFieldAndAllowsNoOther) {
  const json& schema = verdict_schema();
  EXPECT_EQ(schema["required"], json::parse(R"(["intent","score","recommendation","reason"])"));
  EXPECT_EQ(schema["additionalProperties"], false);
  EXPECT_EQ(schema["properties"]["intent"]["enum"], json::parse(R"(["High","Medium","Low"])"));
}

TEST(LlmAnswer, ReadsAnOpenAiCompletionWithUsage) {
  auto answer = read_provider_answer(Provider::OpenAi, R"({"choices": [{"message":
      {"role": "assistant", "content": "{\"intent\": \"Low\"}"}, "finish_reason": "stop"}],
      "usage": {"prompt_tokens": 11, "completion_tokens": 7}})");
  ASSERT_TRUE(answer) << answer.error();
  EXPECT_EQ(answer->text, R"({"intent": "Low"})");
  EXPECT_FALSE(answer->cut_off);
  EXPECT_EQ(answer->tokens_in, 11);
  EXPECT_EQ(answer->tokens_out, 7);
}

TEST(LlmAnswer, ReadsAnAnthropicToolUseWithUsage) {
  auto answer = read_provider_answer(Provider::Anthropic, R"({"content": [
      {"type": "text", "text": "Here."},
      {"type": "tool_use", "name": "lead_verdict", "input": {"intent": "High"}}],
      "stop_reason": "tool_use", "usage": {"input_tokens": 5, "output_tokens": 3}})");
  ASSERT_TRUE(answer) << answer.error();
  ASSERT_TRUE(answer->tool_input);
  EXPECT_EQ((*answer->tool_input)["intent"], "High");
  EXPECT_EQ(answer->tokens_in, 5);
  EXPECT_EQ(answer->tokens_out, 3);
}

TEST(LlmAnswer, KnowsACutOffAnswerOfEitherApi) {
  auto openai = read_provider_answer(
      Provider::OpenAi,
      R"({"choices": [{"message": {"content": "{\"in"}, "finish_reason": "length"}]})");
  auto anthropic = read_provider_answer(
      Provider::Anthropic,
      R"({"content": [{"type": "text", "text": "{"}], "stop_reason": "max_tokens"})");
  ASSERT_TRUE(openai && anthropic);
  EXPECT_TRUE(openai->cut_off);
  EXPECT_TRUE(anthropic->cut_off);
  auto verdict = verdict_of(*openai, 300);
  ASSERT_FALSE(verdict);
  EXPECT_EQ(verdict.error(),
            "the answer was cut off at max_tokens (300): raise max_tokens or shorten the prompt");
}

TEST(LlmAnswer, CountsReasoningTokensAsTheOutputTheyAreBilledAs) {
  // OpenAI: completion_tokens holds the reasoning tokens already.
  auto openai = read_provider_answer(Provider::OpenAi, R"({"choices": [{"message": {"content":
      ""}, "finish_reason": "length"}], "usage": {"prompt_tokens": 90, "completion_tokens": 300,
      "completion_tokens_details": {"reasoning_tokens": 300}}})");
  ASSERT_TRUE(openai);
  EXPECT_EQ(openai->tokens_in, 90);
  EXPECT_EQ(openai->tokens_out, 300);
  EXPECT_EQ(openai->tokens_reasoning, 300);
  EXPECT_EQ(verdict_of(*openai, 300).error(),
            "the answer was cut off at max_tokens (300), 300 of them spent on reasoning: raise "
            "max_tokens or shorten the prompt");
  // A server that counts them apart: more reasoning tokens than completion tokens.
  auto apart = read_provider_answer(Provider::OpenAi, R"({"choices": [{"message": {"content":
      "x"}}], "usage": {"prompt_tokens": 90, "completion_tokens": 40,
      "completion_tokens_details": {"reasoning_tokens": 500}}})");
  ASSERT_TRUE(apart);
  EXPECT_EQ(apart->tokens_out, 540);
  EXPECT_EQ(apart->tokens_reasoning, 500);
  // None reported: none counted apart.
  auto plain = read_provider_answer(Provider::OpenAi, R"({"choices": [{"message": {"content":
      "x"}}], "usage": {"prompt_tokens": 9, "completion_tokens": 4}})");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->tokens_out, 4);
  EXPECT_FALSE(plain->tokens_reasoning);
}

TEST(LlmAnswer, RefusesAnAnswerOfTheOtherShape) {
  EXPECT_FALSE(read_provider_answer(Provider::OpenAi, R"({"content": []})"));
  EXPECT_FALSE(read_provider_answer(Provider::Anthropic, R"({"choices": []})"));
  EXPECT_FALSE(read_provider_answer(Provider::OpenAi, "<html>bad gateway</html>"));
}

TEST(LlmAnswer, ARefusalIsAnError) {
  auto answer = read_provider_answer(
      Provider::OpenAi,
      R"({"choices": [{"message": {"content": null, "refusal": "no"}, "finish_reason": "stop"}]})");
  ASSERT_TRUE(answer);
  auto verdict = verdict_of(*answer, 300);
  ASSERT_FALSE(verdict);
  EXPECT_EQ(verdict.error(), "the model refused: no");
}

TEST(LlmJsonRecovery, TakesAWholeObject) {
  auto object = recover_json_object("  {\"intent\": \"High\"}\n");
  ASSERT_TRUE(object);
  EXPECT_EQ((*object)["intent"], "High");
}

TEST(LlmJsonRecovery, TakesTheInsideOfAFence) {
  auto object = recover_json_object(
      "Sure! Here is the verdict:\n```json\n{\"intent\": \"Medium\", \"reason\": \"a } b\"}\n```\n"
      "Hope this helps.");
  ASSERT_TRUE(object);
  EXPECT_EQ((*object)["intent"], "Medium");
  EXPECT_EQ((*object)["reason"], "a } b");
}

TEST(LlmJsonRecovery, FindsTheObjectInChattyText) {
  auto object = recover_json_object(
      "I think {this} is a lead worth it. {\"note\": 1} The verdict: {\"intent\": \"Low\", "
      "\"nested\": {\"a\": \"{\"}} -- done.");
  ASSERT_TRUE(object);
  EXPECT_EQ((*object)["intent"], "Low");
}

TEST(LlmJsonRecovery, FindsNothingInGarbage) {
  EXPECT_FALSE(recover_json_object("I cannot help with that."));
  EXPECT_FALSE(recover_json_object("{\"intent\": \"High\""));  // never closed
  EXPECT_FALSE(recover_json_object("[1, 2, 3]"));
  EXPECT_FALSE(recover_json_object(""));
}

TEST(LlmVerdict, ReadsEveryFieldAndNormalisesTheIntent) {
  auto verdict = read_verdict(json::parse(
      R"({"intent": "high", "score": 0.75, "recommendation": "drop_lead", "reason": " Why. "})"));
  ASSERT_TRUE(verdict) << verdict.error();
  EXPECT_EQ(verdict->intent, "High");
  EXPECT_EQ(verdict->score, 0.75);
  EXPECT_EQ(verdict->recommendation, plugin::Recommendation::DropLead);
  EXPECT_EQ(verdict->reason, "Why.");
}

TEST(LlmVerdict, ScoreMayBeAbsentOrNull) {
  for (const char* text :
       {R"({"intent": "Low", "recommendation": "drop_lead", "reason": "r"})",
        R"({"intent": "Low", "score": null, "recommendation": "drop_lead", "reason": "r"})"}) {
    auto verdict = read_verdict(json::parse(text));
    ASSERT_TRUE(verdict) << verdict.error();
    EXPECT_FALSE(verdict->score);
  }
}

TEST(LlmVerdict, RefusesWhatTheContractDoesNotAllow) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"score": 0.5, "recommendation": "drop_lead", "reason": "r"})",
       "the verdict has no intent text"},
      {R"({"intent": "Maybe", "recommendation": "drop_lead", "reason": "r"})",
       "the verdict's intent must be High, Medium or Low, got 'Maybe'"},
      {R"({"intent": "Low", "score": 1.5, "recommendation": "drop_lead", "reason": "r"})",
       "the verdict's score 1.5 is not in 0..1"},
      {R"({"intent": "Low", "score": "0.5", "recommendation": "drop_lead", "reason": "r"})",
       "the verdict's score is not a number"},
      {R"({"intent": "Low", "recommendation": "call_them", "reason": "r"})",
       "the verdict's recommendation must be transfer_to_sales, continue_qualification or "
       "drop_lead, got 'call_them'"},
      {R"({"intent": "Low", "recommendation": "drop_lead", "reason": "  "})",
       "the verdict has no reason"},
  };
  for (const auto& [text, message] : cases) {
    auto verdict = read_verdict(json::parse(text));
    ASSERT_FALSE(verdict) << text;
    EXPECT_EQ(verdict.error(), message);
  }
}

TEST(LlmVerdict, GarbageTextIsAnErrorThatQuotesIt) {
  ProviderAnswer answer;
  answer.text = "Sorry, I can't.";
  auto verdict = verdict_of(answer, 300);
  ASSERT_FALSE(verdict);
  EXPECT_EQ(verdict.error(), "the model's answer holds no JSON object: 'Sorry, I can't.'");
}

TEST(LlmVerdictScore, TheModelsScoreIsTheScore) {
  Verdict verdict{"Medium", 0.42, plugin::Recommendation::ContinueQualification, "r"};
  const auto result = to_result(verdict, {});
  EXPECT_EQ(result.score, 0.42);
  EXPECT_EQ(result.intent, "Medium");
  ASSERT_EQ(result.contributions.size(), 1u);
  EXPECT_EQ(result.contributions[0].rule, "llm intent Medium (score 0.42 given by the model)");
  EXPECT_EQ(result.contributions[0].points, 0.42);
}

TEST(LlmVerdictScore, WithoutAScoreTheIntentsPointsOutOf50) {
  IntentPoints points{45, 25, 5};
  for (const auto& [intent, want] : {std::pair{"High", 0.9}, {"Medium", 0.5}, {"Low", 0.1}}) {
    Verdict verdict{intent, std::nullopt, plugin::Recommendation::DropLead, "r"};
    const auto result = to_result(verdict, points);
    EXPECT_DOUBLE_EQ(result.score, want);
    ASSERT_EQ(result.contributions.size(), 1u);
    EXPECT_EQ(result.contributions[0].points, result.score);  // they add up exactly
  }
  Verdict high{"High", std::nullopt, plugin::Recommendation::TransferToSales, "r"};
  EXPECT_EQ(to_result(high, {}).contributions[0].rule,
            "llm intent High (no score given: 50 of 50 points)");
  EXPECT_EQ(to_result(high, {}).score, 1.0);
}

}  // namespace
}  // namespace leadscore::llm
