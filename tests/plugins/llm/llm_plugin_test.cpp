// The LLM scorer as a plugin module (llm.so) through the engine's loader, against the fake LLM
// server on loopback (tests/support/fake_llm_server.h): both APIs, what is sent (only
// allow-listed fields, the key as a header, the schema, the token limit and temperature of
// chat and reasoning models), recovered and refused answers, retries with backoff,
// Retry-After (seconds and HTTP dates) and retry-after-ms, the deadline, the circuit breaker
// and its state in every audit, the cache, the token budget (reasoning tokens counted), the
// bound on calls in flight, the audit of every run, and the key kept out of every error and
// audit.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/plugins/llm/llm_plugin_fixture.h"

namespace leadscore::llm {
namespace {

using namespace plugin_test;  // NOLINT(google-build-using-namespace): the fixture's names

TEST_F(LlmPlugin, IsASlowPluginNamedLlm) {
  EXPECT_EQ(std::string(module()->table().name), "llm");
  EXPECT_EQ(module()->table().flags & LS_PLUGIN_SLOW, LS_PLUGIN_SLOW);
}

TEST_F(LlmPlugin, ScoresAGoodOpenAiAnswerWithItsAudit) {
  ls_instance* llm = make(params());
  ASSERT_NE(llm, nullptr);
  server_.push(FakeLlmBehaviour::good("High", 0.8, "transfer_to_sales", "Fits the fleet case."));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_OK) << r.error;
  EXPECT_EQ(r.score, 0.8);
  EXPECT_EQ(r.recommendation, "transfer_to_sales");
  EXPECT_EQ(r.intent, "High");
  EXPECT_EQ(r.reason, "Fits the fleet case.");
  ASSERT_EQ(r.contributions.size(), 1u);
  EXPECT_EQ(r.contributions[0].second, r.score);
  ASSERT_TRUE(r.audit.is_object()) << r.audit_text;
  EXPECT_EQ(r.audit["prompt_version"], "t-1");
  EXPECT_EQ(r.audit["model"], "test-model");
  EXPECT_EQ(r.audit["provider"], "openai");
  EXPECT_EQ(r.audit["tokens_in"], 100);
  EXPECT_EQ(r.audit["tokens_out"], 20);
  EXPECT_EQ(r.audit["tries"], 1);
  EXPECT_EQ(r.audit["cached"], false);
  EXPECT_EQ(r.audit["breaker"], "closed");
  EXPECT_GE(r.audit["latency_ms"].get<int>(), 0);
  EXPECT_NE(r.audit["raw"].get<std::string>().find("chatcmpl-fake"), std::string::npos);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/v1/chat/completions");
}

TEST_F(LlmPlugin, AsksOpenAiForTheSchemaWithTheKeyAsABearerHeader) {
  ls_instance* llm = make(params());
  ASSERT_EQ(run(llm).rc, LS_OK);
  const auto request = server_.requests().at(0);
  EXPECT_EQ(request.header("authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(request.header("x-api-key"), "");
  EXPECT_EQ(request.body.find(kKey), std::string::npos);
  const json body = request.json();
  EXPECT_EQ(body["model"], "test-model");
  EXPECT_EQ(body["temperature"], 0);
  EXPECT_EQ(body["max_tokens"], 300);
  EXPECT_FALSE(body.contains("max_completion_tokens"));
  EXPECT_EQ(body["response_format"]["type"], "json_schema");
  EXPECT_EQ(body["response_format"]["json_schema"]["strict"], true);
  EXPECT_TRUE(body["response_format"]["json_schema"]["schema"].is_object());
}

TEST_F(LlmPlugin, AReasoningModelGetsMaxCompletionTokensAndNoTemperature) {
  for (const char* model : {"o1", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5.1"}) {
    server_.clear_requests();
    ls_instance* llm = make(params({{"model", model}, {"max_tokens", 2000}}));
    ASSERT_EQ(run(llm).rc, LS_OK) << model;
    const json body = server_.requests().at(0).json();
    EXPECT_EQ(body["model"], model);
    EXPECT_EQ(body["max_completion_tokens"], 2000) << model;
    EXPECT_FALSE(body.contains("max_tokens")) << model;
    EXPECT_FALSE(body.contains("temperature")) << model;
    EXPECT_EQ(body["response_format"]["type"], "json_schema") << model;
  }
}

TEST_F(LlmPlugin, AChatModelGetsMaxTokensAtTemperatureZero) {
  for (const char* model : {"gpt-4o-mini", "gpt-4.1", "qwen2.5:7b", "local-model"}) {
    server_.clear_requests();
    ASSERT_EQ(run(make(params({{"model", model}}))).rc, LS_OK) << model;
    const json body = server_.requests().at(0).json();
    EXPECT_EQ(body["max_tokens"], 300) << model;
    EXPECT_EQ(body["temperature"], 0) << model;
    EXPECT_FALSE(body.contains("max_completion_tokens")) << model;
  }
}

TEST_F(LlmPlugin, TheTokenLimitFieldAndTemperatureSetInTheParamsWin) {
  ls_instance* reasoning =
      make(params({{"model", "o3"}, {"token_limit_field", "max_tokens"}, {"temperature", 1}}));
  ls_instance* chat = make(params({{"model", "my-proxy-name"},
                                   {"token_limit_field", "max_completion_tokens"},
                                   {"temperature", "none"}}));
  ls_instance* warm = make(params({{"temperature", 0.7}}));
  ASSERT_EQ(run(reasoning).rc, LS_OK);
  ASSERT_EQ(run(chat).rc, LS_OK);
  ASSERT_EQ(run(warm).rc, LS_OK);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].json()["max_tokens"], 300);
  EXPECT_FALSE(requests[0].json().contains("max_completion_tokens"));
  EXPECT_EQ(requests[0].json()["temperature"], 1);
  EXPECT_EQ(requests[1].json()["max_completion_tokens"], 300);
  EXPECT_FALSE(requests[1].json().contains("max_tokens"));
  EXPECT_FALSE(requests[1].json().contains("temperature"));
  EXPECT_EQ(requests[2].json()["temperature"], 0.7);
  EXPECT_EQ(requests[2].json()["max_tokens"], 300);
}

TEST_F(LlmPlugin, AnthropicTakesMaxTokensWhateverTheModelIsCalled) {
  ls_instance* llm =
      make(params({{"provider", "anthropic"}, {"base_url", server_.base_url()}, {"model", "o3"}}));
  ASSERT_EQ(run(llm).rc, LS_OK);
  const json body = server_.requests().at(0).json();
  EXPECT_EQ(body["max_tokens"], 300);
  EXPECT_EQ(body["temperature"], 0);
  const std::string error = create_error(params({{"provider", "anthropic"},
                                                 {"base_url", server_.base_url()},
                                                 {"token_limit_field", "max_completion_tokens"}}));
  EXPECT_TRUE(
      error.ends_with(": params.token_limit_field: the anthropic API takes max_tokens only"))
      << error;
}

TEST_F(LlmPlugin, AWrongTokenLimitFieldOrTemperatureIsAPositionedCreateError) {
  auto made = PluginScorer::create(
      module(), "llm",
      "{\n\"provider\": \"openai\",\n\"model\": \"o3\",\n\"prompt\": \"prompt.txt\",\n"
      "\"token_limit_field\":\n\"max_output_tokens\",\n\"temperature\":\n3\n}",
      dir_.path().string());
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error(),
            "6:1: params.token_limit_field must be max_tokens or max_completion_tokens, got "
            "'max_output_tokens'\n"
            "8:1: params.temperature must be between 0 and 2, got 3");
}

TEST_F(LlmPlugin, ReasoningTokensAreAuditedAndCountTowardTheBudget) {
  // OpenAI counts reasoning tokens in completion_tokens: 100 in + 220 out (200 of them
  // reasoning) = 320 billed, past a budget of 300 after one run.
  ls_instance* llm = make(params({{"model", "o4-mini"}, {"budget", {{"tokens_per_day", 300}}}}));
  FakeLlmBehaviour reasoning = FakeLlmBehaviour::good();
  reasoning.tokens_out = 220;
  reasoning.tokens_reasoning = 200;
  server_.push(reasoning);
  const ScoreRun first = run(llm);
  ASSERT_EQ(first.rc, LS_OK) << first.error;
  EXPECT_EQ(first.audit["tokens_in"], 100);
  EXPECT_EQ(first.audit["tokens_out"], 220);
  EXPECT_EQ(first.audit["tokens_reasoning"], 200);
  const ScoreRun refused = run(llm);
  ASSERT_EQ(refused.rc, LS_ERROR);
  EXPECT_NE(refused.error.find("the token budget of 300 tokens per day is spent"),
            std::string::npos)
      << refused.error;
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(LlmPlugin, ReasoningTokensReportedApartFromTheCompletionAreAddedToIt) {
  // 100 in + 20 out + 200 reasoning that completion_tokens (20) cannot have held: 320 billed.
  ls_instance* llm = make(params({{"model", "o4-mini"}, {"budget", {{"tokens_per_day", 300}}}}));
  FakeLlmBehaviour reasoning = FakeLlmBehaviour::good();
  reasoning.tokens_reasoning = 200;
  server_.push(reasoning);
  const ScoreRun first = run(llm);
  ASSERT_EQ(first.rc, LS_OK) << first.error;
  EXPECT_EQ(first.audit["tokens_out"], 220);
  EXPECT_EQ(run(llm).rc, LS_ERROR);
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(LlmPlugin, AReasoningModelCutOffWhileReasoningSaysSo) {
  ls_instance* llm = make(params({{"model", "o3-mini"}}));
  FakeLlmBehaviour cut = FakeLlmBehaviour::cut_off_text("");
  cut.tokens_out = 300;
  cut.tokens_reasoning = 300;
  server_.push(cut);
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_EQ(r.error,
            "llm: the answer was cut off at max_tokens (300), 300 of them spent on reasoning: "
            "raise max_tokens or shorten the prompt");
  EXPECT_EQ(r.audit["tokens_reasoning"], 300);
}

TEST_F(LlmPlugin, AChatModelsAuditHasNoReasoningTokens) {
  const ScoreRun r = run(make(params()));
  ASSERT_EQ(r.rc, LS_OK) << r.error;
  EXPECT_FALSE(r.audit.contains("tokens_reasoning")) << r.audit_text;
}

TEST_F(LlmPlugin, SpeaksTheAnthropicMessagesApi) {
  ls_instance* llm = make(
      params({{"provider", "anthropic"}, {"base_url", server_.base_url()}, {"max_tokens", 50}}));
  ASSERT_NE(llm, nullptr);
  server_.push(FakeLlmBehaviour::good("Medium", -1, "continue_qualification", "Unclear fit."));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_OK) << r.error;
  EXPECT_EQ(r.score, 30.0 / 50);  // no score given: Medium's points
  EXPECT_EQ(r.intent, "Medium");
  EXPECT_EQ(r.contributions.at(0).first, "llm intent Medium (no score given: 30 of 50 points)");
  EXPECT_EQ(r.audit["provider"], "anthropic");
  EXPECT_EQ(r.audit["tokens_in"], 100);
  const auto request = server_.requests().at(0);
  EXPECT_EQ(request.path, "/v1/messages");
  EXPECT_EQ(request.header("x-api-key"), kKey);
  EXPECT_EQ(request.header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(request.header("authorization"), "");
  const json body = request.json();
  EXPECT_EQ(body["max_tokens"], 50);
  EXPECT_EQ(body["tool_choice"]["type"], "tool");
  EXPECT_EQ(body["tools"][0]["name"], body["tool_choice"]["name"]);
  EXPECT_TRUE(body["tools"][0]["input_schema"].is_object());
}

TEST_F(LlmPlugin, AnthropicTextAnswersAreRecoveredToo) {
  ls_instance* llm = make(params({{"provider", "anthropic"}, {"base_url", server_.base_url()}}));
  server_.push(FakeLlmBehaviour::answer_text(
      "Sure:\n```json\n{\"intent\": \"Low\", \"score\": 0.1, \"recommendation\": \"drop_lead\", "
      "\"reason\": \"No fit.\"}\n```"));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_OK) << r.error;
  EXPECT_EQ(r.score, 0.1);
  EXPECT_EQ(r.recommendation, "drop_lead");
}

TEST_F(LlmPlugin, SendsOnlyTheAllowListedFieldsAndTheOffersPublicParts) {
  ls_instance* llm = make(params({{"features", {"source", "role", "industry", "activity_count"}}}));
  ASSERT_EQ(run(llm).rc, LS_OK);
  const std::string prompt = server_.requests().at(0).json()["messages"][0]["content"];
  for (const char* sent : {"partner", "Head of Sales Ops", "logistics", "\"activity_count\": 4",
                           "RouteWise", "cuts empty miles", "fleet operators"})
    EXPECT_NE(prompt.find(sent), std::string::npos) << sent << " in\n" << prompt;
  for (const char* kept : {"Ada", "ada@private.example", "family", "555", "Acme", "acme.io",
                           "qualified", "internal-only", "77"})
    EXPECT_EQ(prompt.find(kept), std::string::npos) << kept << " in\n" << prompt;
}

TEST_F(LlmPlugin, WithoutAnOfferThePromptSaysSo) {
  ls_instance* llm = make(params());
  ASSERT_EQ(run(llm, a_lead(), nullptr).rc, LS_OK);
  const std::string prompt = server_.requests().at(0).json()["messages"][0]["content"];
  EXPECT_NE(prompt.find("Offer: (no active offer)"), std::string::npos) << prompt;
}

TEST_F(LlmPlugin, AFieldTheLeadsDoNotHaveFailsTheRun) {
  ls_instance* llm = make(params({{"features", {"source", "favourite_colour"}}}));
  const ScoreRun r = run(llm);
  EXPECT_EQ(r.rc, LS_ERROR);
  EXPECT_EQ(r.error, "llm: params.features names 'favourite_colour', which leads do not have");
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(LlmPlugin, ALocalServerWithoutAKeyGetsNoKeyHeader) {
  ls_instance* llm = make(params({{"api_key_env", nullptr}}));
  ASSERT_EQ(run(llm).rc, LS_OK);
  const auto request = server_.requests().at(0);
  EXPECT_EQ(request.header("authorization"), "");
  EXPECT_EQ(request.header("x-api-key"), "");
}

TEST_F(LlmPlugin, TheKeyNeverAppearsInAnErrorOrTheAudit) {
  for (const char* provider : {"openai", "anthropic"}) {
    ls_instance* llm =
        make(params({{"provider", provider},
                     {"base_url", server_.base_url() + (provider[0] == 'o' ? "/v1" : "")}}));
    server_.push(FakeLlmBehaviour::echo_key());
    const ScoreRun r = run(llm);
    ASSERT_EQ(r.rc, LS_ERROR);
    EXPECT_NE(r.error.find("answered 401"), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find(kKey), std::string::npos) << r.error;
    EXPECT_EQ(r.audit_text.find(kKey), std::string::npos) << r.audit_text;
    EXPECT_NE(r.audit_text.find("[api key]"), std::string::npos) << r.audit_text;
    EXPECT_EQ(r.audit["tries"], 1);  // a 401 is not retried
    char version[256];
    std::snprintf(version, sizeof version, "%s", module()->table().instance_version(llm));
    EXPECT_EQ(std::string(version).find(kKey), std::string::npos);
  }
}

TEST_F(LlmPlugin, AMissingKeyVariableIsAPositionedCreateError) {
  ::unsetenv("LEADSCORE_TEST_LLM_NO_KEY");
  auto made = PluginScorer::create(
      module(), "llm",
      "{\n\"provider\":\n\"openai\",\n\"model\":\n\"m\",\n\"prompt\":\n\"prompt.txt\",\n"
      "\"api_key_env\":\n\"LEADSCORE_TEST_LLM_NO_KEY\"\n}",
      dir_.path().string());
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error(),
            "9:1: params.api_key_env: the environment variable LEADSCORE_TEST_LLM_NO_KEY is not "
            "set or empty");
}

TEST_F(LlmPlugin, ParamErrorsArePositionedInTheJsonText) {
  auto made = PluginScorer::create(
      module(), "llm",
      "{\n\"provider\":\n\"bard\",\n\"modle\":\n\"m\",\n\"prompt\":\n\"prompt.txt\",\n"
      "\"features\":\n[\n\"id\"\n],\n\"max_retries\":\n99\n}",
      dir_.path().string());
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error(),
            "1:1: missing key 'model' in params\n"
            "3:1: params.provider must be openai or anthropic, got 'bard'\n"
            "4:1: unknown key 'modle' in params (did you mean 'model'?)\n"
            "10:1: params.features[0]: 'id' is never sent to a scorer (no ids, dates or scores)\n"
            "13:1: params.max_retries must be between 0 and 10, got 99");
}

TEST_F(LlmPlugin, APromptWithoutAVersionOrWithAFieldNotAllowedIsRefused) {
  dir_.write("bad.txt", "Lead:\n{{email}}\n");
  const std::string error = create_error(params({{"prompt", "bad.txt"}}));
  EXPECT_NE(error.find("bad.txt:1: the first line must be `version: X`"), std::string::npos)
      << error;
  EXPECT_NE(error.find(": params.prompt: bad.txt:2: {{email}} is not {{lead}}, {{offer}} or a "
                       "field of params.features"),
            std::string::npos)
      << error;
  EXPECT_NE(create_error(params({{"prompt", "missing.txt"}})).find("cannot read"),
            std::string::npos);
}

TEST_F(LlmPlugin, InstanceVersionNamesThePluginPromptAndModel) {
  ls_instance* a = make(params());
  const std::string version = module()->table().instance_version(a);
  EXPECT_TRUE(version.starts_with("1.0+prompt:t-1+model:test-model+")) << version;
  dir_.write("prompt2.txt", "version: t-2\n{{lead}}\n");
  ls_instance* b = make(params({{"prompt", "prompt2.txt"}}));
  EXPECT_TRUE(std::string(module()->table().instance_version(b)).starts_with("1.0+prompt:t-2+"));
  ls_instance* c = make(params({{"intent_points", {{"High", 40}}}}));
  EXPECT_NE(std::string(module()->table().instance_version(c)), version);
  // What is sent besides the prompt is part of it too.
  ls_instance* d = make(params({{"temperature", 0.5}}));
  ls_instance* e = make(params({{"token_limit_field", "max_completion_tokens"}}));
  ls_instance* f = make(params({{"temperature", 0}, {"token_limit_field", "max_tokens"}}));
  EXPECT_NE(std::string(module()->table().instance_version(d)), version);
  EXPECT_NE(std::string(module()->table().instance_version(e)), version);
  EXPECT_EQ(std::string(module()->table().instance_version(f)), version);
}

TEST_F(LlmPlugin, RecoversFencedAndChattyAnswers) {
  ls_instance* llm = make(params());
  server_.push(FakeLlmBehaviour::answer_text(
      "```json\n{\"intent\": \"High\", \"score\": 0.9, \"recommendation\": "
      "\"transfer_to_sales\", \"reason\": \"Strong.\"}\n```"));
  server_.push(FakeLlmBehaviour::answer_text(
      "Let me think. The lead is a fit. {\"intent\": \"Medium\", \"score\": null, "
      "\"recommendation\": \"continue_qualification\", \"reason\": \"Maybe.\"} Thanks!"));
  const ScoreRun fenced = run(llm);
  const ScoreRun chatty = run(llm);
  ASSERT_EQ(fenced.rc, LS_OK) << fenced.error;
  ASSERT_EQ(chatty.rc, LS_OK) << chatty.error;
  EXPECT_EQ(fenced.score, 0.9);
  EXPECT_EQ(chatty.score, 0.6);
  EXPECT_EQ(chatty.intent, "Medium");
}

TEST_F(LlmPlugin, GarbageFailsTheRunAtOnceWithItsAudit) {
  ls_instance* llm = make(params());
  server_.push(FakeLlmBehaviour::answer_text("I am a teapot."));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_EQ(r.error, "llm: the model's answer holds no JSON object: 'I am a teapot.'");
  EXPECT_EQ(r.audit["tries"], 1);
  EXPECT_EQ(r.audit["tokens_in"], 100);
  EXPECT_NE(r.audit["raw"].get<std::string>().find("I am a teapot."), std::string::npos);
  EXPECT_EQ(r.audit["error"], "the model's answer holds no JSON object: 'I am a teapot.'");
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(LlmPlugin, TheAuditStaysValidJsonWithinItsSizeWhateverTheUpstreamSends) {
  ls_instance* llm = make(params({{"max_retries", 0}}));
  std::string body(8192, '\x01');
  body += "\xff\xfe not UTF-8";
  server_.push(FakeLlmBehaviour::error_status(500, "", body));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  ASSERT_TRUE(r.audit.is_object()) << r.audit_text;
  EXPECT_LE(r.audit_text.size(), 16u * 1024);
  EXPECT_LE(r.audit["raw"].get<std::string>().size(), 4096u);
  EXPECT_EQ(r.audit["http_status"], 500);
  // The message is stored and shown: valid UTF-8, no control characters.
  EXPECT_TRUE(r.error.ends_with("answered 500: " + std::string(200, ' '))) << r.error;
  EXPECT_FALSE(json::parse(json(r.error).dump(), nullptr, false).is_discarded());
}

TEST_F(LlmPlugin, ErrorMessagesAreValidUtf8WhateverTheUpstreamSends) {
  ls_instance* llm = make(params({{"max_retries", 0}}));
  server_.push(FakeLlmBehaviour::error_status(400, "", "bad \xff\xc3( byte \x01 and \xc3\xa9"));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_EQ(r.error, "llm: " + host() +
                         " answered 400: bad ?"
                         "?( byte   and \xc3\xa9");
}

TEST_F(LlmPlugin, AnInvalidVerdictFailsTheRun) {
  ls_instance* llm = make(params());
  server_.push(FakeLlmBehaviour::good("High", 1.7));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_EQ(r.error, "llm: the verdict's score 1.7 is not in 0..1");
}

TEST_F(LlmPlugin, ACutOffAnswerHasItsOwnError) {
  for (const char* provider : {"openai", "anthropic"}) {
    ls_instance* llm =
        make(params({{"provider", provider},
                     {"base_url", server_.base_url() + (provider[0] == 'o' ? "/v1" : "")}}));
    server_.push(FakeLlmBehaviour::cut_off_text("{\"intent\": \"Hi"));
    const ScoreRun r = run(llm);
    ASSERT_EQ(r.rc, LS_ERROR);
    EXPECT_EQ(r.error,
              "llm: the answer was cut off at max_tokens (300): raise max_tokens or shorten the "
              "prompt");
  }
}

TEST_F(LlmPlugin, RetriesServerErrorsWithBackoffAndSucceeds) {
  ls_instance* llm = make(params());
  server_.push(FakeLlmBehaviour::error_status(500));
  server_.push(FakeLlmBehaviour::error_status(503));
  server_.push(FakeLlmBehaviour::good());
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_OK) << r.error;
  EXPECT_EQ(r.audit["tries"], 3);
  EXPECT_EQ(server_.request_count(), 3u);
  // Backoff 20 ms then 40 ms, each with half of it jittered: at least 10 + 20 ms.
  EXPECT_GE(r.elapsed.count(), 30);
  EXPECT_LT(r.elapsed.count(), 1000);
}

TEST_F(LlmPlugin, RetriesTimeoutsConflictsAndRateLimitsButNotClientErrors) {
  ls_instance* llm = make(params());
  for (int status : {408, 409, 429}) {
    server_.push(FakeLlmBehaviour::error_status(status));
    server_.push(FakeLlmBehaviour::good());
    const ScoreRun r = run(llm);
    EXPECT_EQ(r.rc, LS_OK) << status << ": " << r.error;
    EXPECT_EQ(r.audit["tries"], 2) << status;
  }
  for (int status : {400, 403, 404, 422}) {
    server_.clear_requests();
    server_.push(FakeLlmBehaviour::error_status(status));
    const ScoreRun r = run(llm);
    EXPECT_EQ(r.rc, LS_ERROR) << status;
    EXPECT_EQ(r.error, "llm: " + host() + " answered " + std::to_string(status) + ": fake error");
    EXPECT_EQ(server_.request_count(), 1u) << status;
  }
}

TEST_F(LlmPlugin, GivesUpAfterMaxRetries) {
  ls_instance* llm = make(params({{"max_retries", 1}}));
  server_.set_default(FakeLlmBehaviour::error_status(500));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_EQ(r.error, "llm: gave up after 2 tries: " + host() + " answered 500: fake error");
  EXPECT_EQ(r.audit["tries"], 2);
  EXPECT_EQ(r.audit["http_status"], 500);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(LlmPlugin, HonoursRetryAfter) {
  ls_instance* llm = make(params());
  server_.push(FakeLlmBehaviour::error_status(429, "1"));
  server_.push(FakeLlmBehaviour::good());
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_OK) << r.error;
  EXPECT_GE(r.elapsed.count(), 1000);  // not the 20 ms backoff
  EXPECT_LT(r.elapsed.count(), 3000);
  EXPECT_EQ(r.audit["tries"], 2);
}

TEST_F(LlmPlugin, ARetryAfterOverSixtySecondsFailsAtOnce) {
  ls_instance* llm = make(params());
  server_.push(FakeLlmBehaviour::error_status(429, "120"));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_EQ(r.error, "llm: " + host() +
                         " answered 429: fake error (it asks to retry after 120 s, more than 60 "
                         "s: not waiting)");
  EXPECT_LT(r.elapsed.count(), 1000);
  EXPECT_EQ(server_.request_count(), 1u);
}

// `at` as an HTTP date in the IMF-fixdate form.
std::string imf_fixdate(std::chrono::system_clock::time_point at) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(at);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return text;
}

TEST_F(LlmPlugin, HonoursRetryAfterAsAnHttpDate) {
  ls_instance* llm = make(params({{"deadline_ms", 8000}}));
  // Three seconds from now, to the second: a wait of more than 2 s and at most 3 s.
  server_.push(FakeLlmBehaviour::error_status(
      503, imf_fixdate(std::chrono::system_clock::now() + std::chrono::seconds(3))));
  server_.push(FakeLlmBehaviour::good());
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_OK) << r.error;
  EXPECT_GE(r.elapsed.count(), 1900);  // not the 20 ms backoff
  EXPECT_LT(r.elapsed.count(), 5000);
  EXPECT_EQ(r.audit["tries"], 2);
}

TEST_F(LlmPlugin, ARetryAfterDateMoreThanSixtySecondsAwayFailsAtOnce) {
  ls_instance* llm = make(params());
  server_.push(FakeLlmBehaviour::error_status(
      429, imf_fixdate(std::chrono::system_clock::now() + std::chrono::seconds(90))));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  // 89 to 90 s: the date is to the second.
  EXPECT_TRUE(
      r.error.starts_with("llm: " + host() + " answered 429: fake error (it asks to retry after "))
      << r.error;
  EXPECT_TRUE(r.error.ends_with(", more than 60 s: not waiting)")) << r.error;
  EXPECT_LT(r.elapsed.count(), 1000);
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(LlmPlugin, ARetryAfterDateAlreadyPastRetriesAtOnceInEachForm) {
  // A backoff would wait at least a second: a date in the past asks for no wait at all.
  ls_instance* llm = make(params({{"backoff", {{"initial_ms", 2000}, {"max_ms", 2000}}}}));
  for (const char* date : {"Wed, 21 Oct 2015 07:28:00 GMT", "Wednesday, 21-Oct-15 07:28:00 GMT",
                           "Wed Oct 21 07:28:00 2015"}) {
    server_.push(FakeLlmBehaviour::error_status(503, date));
    server_.push(FakeLlmBehaviour::good());
    const ScoreRun r = run(llm);
    ASSERT_EQ(r.rc, LS_OK) << date << ": " << r.error;
    EXPECT_EQ(r.audit["tries"], 2) << date;
    EXPECT_LT(r.elapsed.count(), 500) << date;
  }
}

TEST_F(LlmPlugin, RetryAfterMsGoesBeforeRetryAfter) {
  ls_instance* llm = make(params());
  FakeLlmBehaviour limited = FakeLlmBehaviour::error_status(429, "30");  // 30 s: not taken
  limited.retry_after_ms = "300";
  server_.push(limited);
  server_.push(FakeLlmBehaviour::good());
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_OK) << r.error;
  EXPECT_GE(r.elapsed.count(), 300);
  EXPECT_LT(r.elapsed.count(), 2000);
  EXPECT_EQ(r.audit["tries"], 2);
}

TEST_F(LlmPlugin, ARetryAfterMsOverSixtySecondsFailsAtOnce) {
  ls_instance* llm = make(params());
  FakeLlmBehaviour limited = FakeLlmBehaviour::error_status(429);
  limited.retry_after_ms = "90500";
  server_.push(limited);
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_EQ(r.error, "llm: " + host() +
                         " answered 429: fake error (it asks to retry after 90500 ms, more than 60 "
                         "s: not waiting)");
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(LlmPlugin, AnUnreadableRetryAfterFallsBackToTheBackoff) {
  ls_instance* llm = make(params());
  FakeLlmBehaviour limited = FakeLlmBehaviour::error_status(429, "soon");
  limited.retry_after_ms = "later";
  server_.push(limited);
  server_.push(FakeLlmBehaviour::good());
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_OK) << r.error;
  EXPECT_EQ(r.audit["tries"], 2);
  EXPECT_LT(r.elapsed.count(), 500);  // the 20 ms backoff
}

TEST_F(LlmPlugin, ARetryAfterPastTheDeadlineFailsAtOnce) {
  ls_instance* llm = make(params({{"deadline_ms", 500}}));
  server_.push(FakeLlmBehaviour::error_status(503, "2"));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_NE(r.error.find("would pass the deadline of 500 ms"), std::string::npos) << r.error;
  EXPECT_LT(r.elapsed.count(), 1500);  // not the 2 s asked for
}

TEST_F(LlmPlugin, TheDeadlineBoundsAHangingUpstream) {
  ls_instance* llm = make(params({{"deadline_ms", 300}}));
  server_.push(FakeLlmBehaviour::hang(5000));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_EQ(r.error, "llm: no answer from " + host() + " within the deadline of 300 ms (1 try)");
  EXPECT_GE(r.elapsed.count(), 290);
  EXPECT_LT(r.elapsed.count(), 1000);
  EXPECT_EQ(r.audit["tries"], 1);
}

TEST_F(LlmPlugin, TheDeadlineBoundsASlowTrickle) {
  ls_instance* llm = make(params({{"deadline_ms", 400}}));
  server_.push(FakeLlmBehaviour::trickle(3000));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_NE(r.error.find("within the deadline of 400 ms"), std::string::npos) << r.error;
  EXPECT_LT(r.elapsed.count(), 1000);
}

TEST_F(LlmPlugin, TheDeadlineCoversTriesAndBackoffTogether) {
  ls_instance* llm = make(params({{"deadline_ms", 400},
                                  {"max_retries", 10},
                                  {"backoff", {{"initial_ms", 100}, {"max_ms", 100}}}}));
  server_.set_default(FakeLlmBehaviour::error_status(500));
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  // Which bound ends it depends on timing (the next backoff would pass the deadline, or a try
  // runs into it); either way the run ends near the deadline, having waited between tries.
  EXPECT_NE(r.error.find("deadline of 400 ms"), std::string::npos) << r.error;
  EXPECT_LT(r.elapsed.count(), 1000);
  EXPECT_GE(server_.request_count(), 2u);
  EXPECT_LT(server_.request_count(), 10u);
}

TEST_F(LlmPlugin, ASlowButTimelyAnswerIsTaken) {
  ls_instance* llm = make(params({{"deadline_ms", 1000}}));
  FakeLlmBehaviour slow = FakeLlmBehaviour::good();
  slow.delay_ms = 200;
  server_.push(slow);
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_OK) << r.error;
  EXPECT_GE(r.audit["latency_ms"].get<int>(), 190);
}

TEST_F(LlmPlugin, ARefusedConnectionIsRetriedThenFails) {
  ls_instance* llm = make(params());
  server_.stop();
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_TRUE(r.error.starts_with("llm: gave up after 3 tries: cannot reach " + host())) << r.error;
  EXPECT_EQ(r.audit["tries"], 3);
  EXPECT_LT(r.elapsed.count(), 1000);
}

TEST_F(LlmPlugin, AConnectionClosedWithoutAnswerIsRetried) {
  ls_instance* llm = make(params());
  server_.push(FakeLlmBehaviour::close_early());
  server_.push(FakeLlmBehaviour::good());
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_OK) << r.error;
  EXPECT_EQ(r.audit["tries"], 2);
}

TEST_F(LlmPlugin, TheAuditKeepsTheLastAnswerWhenLaterTriesGetNone) {
  ls_instance* llm = make(params());
  server_.push(FakeLlmBehaviour::error_status(502));
  server_.push(FakeLlmBehaviour::close_early());
  server_.push(FakeLlmBehaviour::close_early());
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_TRUE(r.error.starts_with("llm: gave up after 3 tries: cannot reach " + host())) << r.error;
  EXPECT_EQ(r.audit["http_status"], 502);
  EXPECT_NE(r.audit["raw"].get<std::string>().find("fake error"), std::string::npos);
}

TEST_F(LlmPlugin, TheBreakerOpensAfterFailedRunsAndLetsAProbeThroughAfterTheCooldown) {
  ls_instance* llm =
      make(params({{"max_retries", 0}, {"breaker", {{"failures", 2}, {"cooldown_s", 0.3}}}}));
  server_.push(FakeLlmBehaviour::error_status(500));
  server_.push(FakeLlmBehaviour::error_status(500));
  EXPECT_EQ(run(llm).rc, LS_ERROR);
  EXPECT_EQ(run(llm).rc, LS_ERROR);
  const ScoreRun refused = run(llm);
  ASSERT_EQ(refused.rc, LS_ERROR);
  EXPECT_TRUE(refused.error.starts_with(
      "llm: the circuit breaker is open after 2 failed runs in a row; the next try goes in "))
      << refused.error;
  EXPECT_EQ(refused.audit["tries"], 0);
  EXPECT_LT(refused.elapsed.count(), 200);
  EXPECT_EQ(server_.request_count(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(320));
  const ScoreRun probe = run(llm);
  ASSERT_EQ(probe.rc, LS_OK) << probe.error;
  EXPECT_EQ(run(llm).rc, LS_OK);
  EXPECT_EQ(server_.request_count(), 4u);
}

TEST_F(LlmPlugin, EveryRunsAuditSaysTheBreakersState) {
  ls_instance* llm = make(params({{"max_retries", 0},
                                  {"cache_ttl_s", 60},
                                  {"breaker", {{"failures", 2}, {"cooldown_s", 1}}}}));
  EXPECT_EQ(run(llm).audit["breaker"], "closed");
  EXPECT_EQ(run(llm).audit["breaker"], "closed");  // answered from the cache
  plugin::Features other = a_lead();
  other.activity_count = 9;
  server_.push(FakeLlmBehaviour::error_status(500));
  server_.push(FakeLlmBehaviour::error_status(500));
  EXPECT_EQ(run(llm, other).audit["breaker"], "closed");  // 1 failure of 2
  const ScoreRun opened = run(llm, other);
  ASSERT_EQ(opened.rc, LS_ERROR);
  EXPECT_EQ(opened.audit["breaker"], "open");
  const ScoreRun refused = run(llm, other);
  ASSERT_EQ(refused.rc, LS_ERROR);
  EXPECT_EQ(refused.audit["breaker"], "open");
  EXPECT_EQ(refused.audit["tries"], 0);
  EXPECT_EQ(run(llm).audit["breaker"], "open");  // a cached answer says so too
  std::this_thread::sleep_for(std::chrono::milliseconds(1020));
  // The cooldown has passed: half open. A slow probe goes; a run meanwhile is refused.
  FakeLlmBehaviour slow = FakeLlmBehaviour::good();
  slow.delay_ms = 300;
  server_.push(slow);
  const std::size_t before = server_.request_count();
  ScoreRun probe;
  std::thread in_flight([&] { probe = run(llm, other); });
  while (server_.request_count() == before)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  plugin::Features third = a_lead();
  third.activity_count = 10;
  const ScoreRun meanwhile = run(llm, third);
  in_flight.join();
  ASSERT_EQ(meanwhile.rc, LS_ERROR);
  EXPECT_EQ(meanwhile.audit["breaker"], "half_open");
  EXPECT_NE(meanwhile.error.find("a probe run is in flight"), std::string::npos) << meanwhile.error;
  ASSERT_EQ(probe.rc, LS_OK) << probe.error;
  EXPECT_EQ(probe.audit["breaker"], "closed");
}

TEST_F(LlmPlugin, AFailedProbeLeavesTheBreakerOpenInItsAudit) {
  ls_instance* llm =
      make(params({{"max_retries", 0}, {"breaker", {{"failures", 1}, {"cooldown_s", 0.2}}}}));
  server_.set_default(FakeLlmBehaviour::error_status(500));
  EXPECT_EQ(run(llm).audit["breaker"], "open");
  std::this_thread::sleep_for(std::chrono::milliseconds(220));
  const ScoreRun probe = run(llm);
  ASSERT_EQ(probe.rc, LS_ERROR);
  EXPECT_EQ(probe.audit["tries"], 1);
  EXPECT_EQ(probe.audit["breaker"], "open");
}

TEST_F(LlmPlugin, WithoutABreakerEveryAuditSaysClosed) {
  ls_instance* llm = make(params({{"max_retries", 0}, {"breaker", {{"failures", 0}}}}));
  server_.set_default(FakeLlmBehaviour::error_status(500));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(run(llm).audit["breaker"], "closed");
  EXPECT_EQ(server_.request_count(), 6u);
}

TEST_F(LlmPlugin, TheCacheAnswersAnIdenticalRequest) {
  ls_instance* llm = make(params({{"cache_ttl_s", 60}}));
  const ScoreRun first = run(llm);
  const ScoreRun second = run(llm);
  ASSERT_EQ(first.rc, LS_OK) << first.error;
  ASSERT_EQ(second.rc, LS_OK) << second.error;
  EXPECT_EQ(server_.request_count(), 1u);
  EXPECT_EQ(first.audit["cached"], false);
  EXPECT_EQ(second.audit["cached"], true);
  EXPECT_EQ(second.audit["tries"], 0);
  EXPECT_EQ(second.score, first.score);
  EXPECT_EQ(second.reason, first.reason);
  plugin::Features other = a_lead();
  other.activity_count = 5;
  EXPECT_EQ(run(llm, other).rc, LS_OK);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(LlmPlugin, WithoutACacheEveryRunCalls) {
  ls_instance* llm = make(params());
  run(llm);
  run(llm);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(LlmPlugin, ASpentTokenBudgetFailsRunsFast) {
  ls_instance* llm = make(params({{"budget", {{"tokens_per_day", 150}}}}));
  EXPECT_EQ(run(llm).rc, LS_OK);  // 120 tokens
  EXPECT_EQ(run(llm).rc, LS_OK);  // 240: spent
  const ScoreRun r = run(llm);
  ASSERT_EQ(r.rc, LS_ERROR);
  EXPECT_EQ(r.error,
            "llm: the token budget of 150 tokens per day is spent; runs fail until the UTC day "
            "changes");
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(LlmPlugin, CallsPastMaxConcurrencyFailAtOnce) {
  ls_instance* llm = make(params({{"max_concurrency", 1}}));
  FakeLlmBehaviour slow = FakeLlmBehaviour::good();
  slow.delay_ms = 500;
  server_.push(slow);
  ScoreRun first;
  std::thread in_flight([&] { first = run(llm); });
  while (server_.request_count() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const ScoreRun refused = run(llm);
  in_flight.join();
  ASSERT_EQ(refused.rc, LS_ERROR);
  EXPECT_EQ(refused.error,
            "llm: 1 calls to the LLM are already in flight (max_concurrency): this run was not "
            "sent");
  EXPECT_LT(refused.elapsed.count(), 300);
  EXPECT_EQ(first.rc, LS_OK) << first.error;
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(LlmPlugin, ScoresFromSeveralThreadsAtOnce) {
  ls_instance* llm = make(params());
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        plugin::Features lead = a_lead();
        lead.activity_count = t * 10 + i;
        const ScoreRun r = run(llm, lead);
        if (r.rc != LS_OK || r.score != 0.8) ++failures[t];
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
  EXPECT_EQ(server_.request_count(), 20u);
}

TEST_F(LlmPlugin, ResultsPassTheEnginesResultContract) {
  auto scorer = PluginScorer::create(module(), "llm", params().dump(), dir_.path().string());
  ASSERT_TRUE(scorer) << scorer.error();
  domain::Features lead;
  lead.source = "partner";
  lead.activity_count = 2;
  for (const auto& behaviour :
       {FakeLlmBehaviour::good("High", 0.3), FakeLlmBehaviour::good("Medium", -1),
        FakeLlmBehaviour::good("Low", 0, "drop_lead"), FakeLlmBehaviour::good("High", 1)}) {
    server_.push(behaviour);
    auto result = (*scorer)->score(lead);
    ASSERT_TRUE(result) << result.error();
  }
  EXPECT_TRUE((*scorer)->version().starts_with("1.0+prompt:t-1+model:test-model+"));
}

TEST_F(LlmPlugin, TheShippedPromptRendersTheLeadAndTheOffer) {
  const std::string config_dir = std::string(LEADSCORE_SOURCE_DIR) + "/config";
  char err[1024] = {};
  const std::string p = params({{"prompt", "prompts/lead_intent.txt"}}).dump();
  ls_instance* llm = module()->table().create(p.c_str(), config_dir.c_str(), err, sizeof err);
  ASSERT_NE(llm, nullptr) << err;
  instances_.emplace_back(llm, module());
  EXPECT_TRUE(std::string(module()->table().instance_version(llm))
                  .starts_with("1.0+prompt:lead_intent-1+"));
  ASSERT_EQ(run(llm).rc, LS_OK);
  const std::string prompt = server_.requests().at(0).json()["messages"][0]["content"];
  EXPECT_NE(prompt.find("\"role\": \"Head of Sales Ops\""), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("RouteWise"), std::string::npos) << prompt;
  EXPECT_EQ(prompt.find("{{"), std::string::npos) << prompt;
}

}  // namespace
}  // namespace leadscore::llm
