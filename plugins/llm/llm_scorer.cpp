#include "plugins/llm/llm_scorer.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "plugins/llm/llm_exchange.h"
#include "plugins/support/fnv1a.h"

namespace leadscore::llm {

struct LlmScorer::ThreadState {
  HttpPost http;
  std::mt19937_64 random{std::random_device{}()};
  std::string offer_source;                   // the offer_json last seen on this thread
  std::optional<std::string> offer_rendered;  // and what {{offer}} shows for it
};

namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using std::chrono::duration_cast;

constexpr std::size_t kMaxAuditBytes = 15 * 1024;  // the ABI allows 16 KiB

std::string host_of(const std::string& url) {
  std::string_view rest = url;
  rest.remove_prefix(rest.find("://") + 3);
  return std::string(rest.substr(0, rest.find('/')));
}

std::string cut_utf8(std::string_view text, std::size_t bytes) {
  if (text.size() <= bytes) return std::string(text);
  std::size_t end = bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

// A message for people and for the store: valid UTF-8 (a bad byte becomes '?'), control
// characters as spaces, whatever bytes the upstream sent.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out += c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c);
      ++i;
      continue;
    }
    const std::size_t length = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    bool valid = length != 0 && c <= 0xF4 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k)
      valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (valid && length >= 3) {  // no overlong forms, surrogates or code points past U+10FFFF
      const auto d = static_cast<unsigned char>(text[i + 1]);
      valid = !(c == 0xE0 && d < 0xA0) && !(c == 0xED && d >= 0xA0) && !(c == 0xF0 && d < 0x90) &&
              !(c == 0xF4 && d >= 0x90);
    }
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

// "120 s", "1500 ms": a wait as the upstream asked for it.
std::string wait_text(milliseconds wait) {
  return wait.count() % 1000 == 0 ? std::to_string(wait.count() / 1000) + " s"
                                  : std::to_string(wait.count()) + " ms";
}

// The wait the answer asks for before the next try: retry-after-ms when it reads (the finer),
// else Retry-After, seconds or an HTTP date against `now`.
std::optional<milliseconds> asked_wait(const HttpReply& reply, WallTime now) {
  if (reply.retry_after_ms)
    if (auto wait = parse_retry_after_ms(*reply.retry_after_ms)) return wait;
  if (reply.retry_after) return parse_retry_after(*reply.retry_after, now);
  return std::nullopt;
}

bool retryable_status(long status) {
  return status == 408 || status == 409 || status == 429 || (status >= 500 && status <= 599);
}

// What an error answer says, for the message: its error.message when it has one (both APIs put
// it there), else the start of its body.
std::string error_excerpt(const std::string& body) {
  const json parsed = json::parse(body, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object()) {
    const auto error = parsed.find("error");
    if (error != parsed.end() && error->is_object() && error->contains("message") &&
        (*error)["message"].is_string())
      return cut_utf8((*error)["message"].get<std::string>(), 200);
  }
  std::string excerpt = cut_utf8(body, 200);
  for (char& c : excerpt)
    if (c == '\n' || c == '\r') c = ' ';
  return excerpt;
}

std::string offer_text(const char* offer_json) {
  const json offer = json::parse(offer_json, nullptr, false);
  if (offer.is_discarded() || !offer.is_object()) return std::string("(no active offer)");
  ordered_json shown = ordered_json::object();
  for (const char* key : {"name", "value_props", "ideal_use_cases"})
    if (offer.contains(key)) shown[key] = offer[key];
  return shown.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace

LlmScorer::LlmScorer(LlmConfig config)
    : config_(std::move(config)),
      breaker_policy_{
          config_.params.breaker_failures,
          milliseconds(static_cast<std::int64_t>(config_.params.breaker_cooldown_s * 1000))},
      cache_ttl_(static_cast<std::int64_t>(config_.params.cache_ttl_s * 1000)),
      upstream_(upstream_state(config_.params)),
      budget_(budget_state(config_.params)),
      gate_(config_.params.max_concurrency) {
  const LlmParams& p = config_.params;
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(plugin::fnv1a(config_.canonical)));
  version_ = std::string(kPluginVersion) + "+prompt:" + config_.prompt.version() +
             "+model:" + p.model + "+" + std::string(hash, 8);
  url_ = endpoint_url(p);
  host_ = host_of(url_);
  headers_.push_back("Content-Type: application/json");
  headers_.push_back("Accept: application/json");
  if (p.provider == Provider::Anthropic) {
    headers_.push_back("anthropic-version: 2023-06-01");
    if (!config_.api_key.empty()) headers_.push_back("x-api-key: " + config_.api_key);
  } else if (!config_.api_key.empty()) {
    headers_.push_back("Authorization: Bearer " + config_.api_key);
  }
}

LlmScorer::~LlmScorer() = default;

std::expected<std::unique_ptr<LlmScorer>, std::string> LlmScorer::create(
    std::string_view params_json, const std::filesystem::path& config_dir) {
  auto config = read_llm_config(params_json, config_dir);
  if (!config) return std::unexpected(config.error());
  return std::unique_ptr<LlmScorer>(new LlmScorer(std::move(*config)));
}

std::string LlmScorer::masked(std::string text) const {
  const std::string& key = config_.api_key;
  if (key.empty()) return text;
  for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at))
    text.replace(at, key.size(), "[api key]");
  return text;
}

std::expected<std::string, std::string> LlmScorer::render(const plugin::Features& lead,
                                                          const char* offer_json,
                                                          ThreadState& state) const {
  std::vector<PromptField> fields;
  fields.reserve(config_.params.features.size());
  for (const std::string& name : config_.params.features) {
    PromptField field{name, std::nullopt, false};
    if (name == "source") {
      field.text = lead.source;
    } else if (name == "stage") {
      field.text = std::string(plugin::to_string(lead.stage));
    } else if (name == "activity_count") {
      field.text = std::to_string(lead.activity_count);
      field.is_number = true;
    } else if (name == "business_domain") {
      field.text = lead.business_domain;
    } else if (const auto* value = lead.field(name); value != nullptr) {
      field.text = *value;
    } else {
      return std::unexpected("params.features names '" + name + "', which leads do not have");
    }
    fields.push_back(std::move(field));
  }
  if (offer_json == nullptr) {
    state.offer_source.clear();
    state.offer_rendered.reset();
  } else if (!state.offer_rendered || state.offer_source != offer_json) {
    state.offer_source = offer_json;
    state.offer_rendered = offer_text(offer_json);
  }
  return config_.prompt.render(fields, state.offer_rendered);
}

std::expected<std::string, std::string> LlmScorer::prompt_for(const plugin::Features& lead,
                                                              const char* offer_json) const {
  return render(lead, offer_json, threads_.for_this_thread());
}

LlmRun LlmScorer::score(const plugin::Features& lead, const char* offer_json) const {
  const LlmParams& p = config_.params;
  const auto start = std::chrono::steady_clock::now();
  const milliseconds deadline(p.deadline_ms);
  ThreadState& state = threads_.for_this_thread();

  std::int64_t tokens_in = 0, tokens_out = 0;
  std::optional<std::int64_t> tokens_reasoning;
  int tries = 0;
  long http_status = 0;
  bool cached = false;
  std::string raw;
  std::expected<plugin::ScoreResult, std::string> result = std::unexpected(std::string());

  const auto finish = [&]() {
    ordered_json audit = {{"prompt_version", config_.prompt.version()},
                          {"model", p.model},
                          {"provider", to_string(p.provider)},
                          {"tokens_in", tokens_in},
                          {"tokens_out", tokens_out}};
    if (tokens_reasoning) audit["tokens_reasoning"] = *tokens_reasoning;
    const auto now = std::chrono::steady_clock::now();
    audit["tries"] = tries;
    audit["latency_ms"] = duration_cast<milliseconds>(now - start).count();
    audit["cached"] = cached;
    audit["breaker"] = to_string(upstream_->breaker.state(now, breaker_policy_));
    if (http_status != 0) audit["http_status"] = http_status;
    if (!result) result = std::unexpected(masked(printable(result.error())));
    if (!result) audit["error"] = result.error();
    std::string shown = masked(cut_utf8(raw, kMaxRawBytes));
    std::string text;
    for (;;) {
      audit["raw"] = shown;
      text = audit.dump(-1, ' ', false, json::error_handler_t::replace);
      if (text.size() <= kMaxAuditBytes || shown.empty()) break;
      shown = cut_utf8(shown, shown.size() / 2);
    }
    if (result) result->reason = masked(std::move(result->reason));
    return LlmRun{std::move(result), std::move(text)};
  };

  auto prompt = render(lead, offer_json, state);
  if (!prompt) {
    result = std::unexpected(prompt.error());
    return finish();
  }
  const std::string body = request_body(p, *prompt);
  const std::string cache_key = config_.prompt.version() + '\n' + body;
  if (cache_ttl_.count() > 0) {
    if (auto hit = upstream_->cache.find(cache_key, start, cache_ttl_)) {
      cached = true;
      raw = std::move(hit->raw);
      result = to_result(hit->verdict, p.intent_points);
      return finish();
    }
  }
  if (budget_->spent(std::chrono::system_clock::now(), p.tokens_per_day)) {
    result = std::unexpected("the token budget of " + std::to_string(p.tokens_per_day) +
                             " tokens per day is spent; runs fail until the UTC day changes");
    return finish();
  }
  auto slot = gate_.enter();
  if (!slot) {
    result = std::unexpected(
        std::to_string(p.max_concurrency) +
        " calls to the LLM are already in flight (max_concurrency): " + "this run was not sent");
    return finish();
  }
  CircuitBreaker& breaker = upstream_->breaker;
  const CircuitBreaker::Admission admitted = breaker.admit(start, breaker_policy_);
  if (admitted == CircuitBreaker::Admission::Refused) {
    const auto left = breaker.open_for(start);
    result = std::unexpected("the circuit breaker is open after " +
                             std::to_string(p.breaker_failures) + " failed runs in a row; " +
                             (left.count() > 0
                                  ? "the next try goes in " + std::to_string(left.count()) + " ms"
                                  : std::string("a probe run is in flight")));
    return finish();
  }

  std::string last_error;
  std::optional<Verdict> verdict_to_keep;
  for (;;) {
    const auto elapsed = duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    if (elapsed >= deadline) {
      result = std::unexpected("the deadline of " + std::to_string(p.deadline_ms) + " ms passed" +
                               (last_error.empty() ? "" : ": " + last_error));
      break;
    }
    HttpReply reply = state.http.post(url_, headers_, body, deadline - elapsed);
    ++tries;
    if (reply.failure == HttpReply::Failure::None) {  // keep the last answer there was
      raw = std::move(reply.body);
      http_status = reply.status;
    }
    std::optional<milliseconds> wait;
    bool retry = false;
    if (reply.failure == HttpReply::Failure::Timeout) {
      result = std::unexpected("no answer from " + host_ + " within the deadline of " +
                               std::to_string(p.deadline_ms) + " ms (" + std::to_string(tries) +
                               (tries == 1 ? " try)" : " tries)"));
      break;
    } else if (reply.failure == HttpReply::Failure::Connection) {
      last_error = "cannot reach " + host_ + ": " + reply.failure_text;
      retry = true;
    } else if (reply.failure == HttpReply::Failure::Other) {
      result = std::unexpected("the call to " + host_ + " failed: " + reply.failure_text);
      break;
    } else if (reply.status >= 200 && reply.status <= 299) {
      auto answer = read_provider_answer(p.provider, raw);
      if (!answer) {
        result = std::unexpected(answer.error());
        break;
      }
      tokens_in += answer->tokens_in;
      tokens_out += answer->tokens_out;
      if (answer->tokens_reasoning)
        tokens_reasoning = tokens_reasoning.value_or(0) + *answer->tokens_reasoning;
      auto verdict = verdict_of(*answer, p.max_tokens);
      if (verdict) {
        result = to_result(*verdict, p.intent_points);
        verdict_to_keep = std::move(*verdict);
      } else {
        result = std::unexpected(verdict.error());
      }
      break;
    } else if (retryable_status(reply.status)) {
      last_error = host_ + " answered " + std::to_string(reply.status) + ": " + error_excerpt(raw);
      retry = true;
      if (auto asked = asked_wait(reply, std::chrono::system_clock::now())) {
        if (*asked > std::chrono::seconds(kMaxRetryAfterSeconds)) {
          result = std::unexpected(last_error + " (it asks to retry after " + wait_text(*asked) +
                                   ", more than " + std::to_string(kMaxRetryAfterSeconds) +
                                   " s: not waiting)");
          break;
        }
        wait = *asked;
      }
    } else {
      result = std::unexpected(host_ + " answered " + std::to_string(reply.status) + ": " +
                               error_excerpt(raw));
      break;
    }
    if (!retry) break;
    if (tries > p.max_retries) {
      result = std::unexpected("gave up after " + std::to_string(tries) +
                               (tries == 1 ? " try: " : " tries: ") + last_error);
      break;
    }
    if (!wait) {
      const double unit = std::uniform_real_distribution<double>(0, 1)(state.random);
      wait = backoff_delay(tries - 1, milliseconds(p.backoff_initial_ms),
                           milliseconds(p.backoff_max_ms), unit);
    }
    const auto now = duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    if (now + *wait >= deadline) {
      result = std::unexpected(last_error + " (after " + std::to_string(tries) +
                               (tries == 1 ? " try" : " tries") + "; the next, in " +
                               std::to_string(wait->count()) + " ms, would pass the deadline of " +
                               std::to_string(p.deadline_ms) + " ms)");
      break;
    }
    std::this_thread::sleep_for(*wait);
  }
  const auto end = std::chrono::steady_clock::now();
  breaker.record(admitted, result.has_value(), end, breaker_policy_);
  budget_->add(tokens_in + tokens_out, std::chrono::system_clock::now());
  // The cache is the upstream's, read by instances with other keys: it keeps no key.
  if (result && verdict_to_keep && cache_ttl_.count() > 0)
    upstream_->cache.put(cache_key, {std::move(*verdict_to_keep), masked(raw)}, end);
  return finish();
}

}  // namespace leadscore::llm
