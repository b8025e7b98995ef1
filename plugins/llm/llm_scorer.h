// The LLM scorer: renders the prompt template with the lead's allow-listed fields and the
// active offer, asks an OpenAI-compatible chat-completions endpoint or the Anthropic messages
// API for a verdict, and turns the checked verdict into a score. Every run, answered or failed,
// comes with its audit (a JSON object text: prompt version, model, provider, tokens, tries,
// latency, whether the cache answered, the breaker's state, the first 4 KiB of the upstream's
// last answer).
//
// Bounded time and cost: one owner of retries (this class; libcurl retries nothing) with
// exponential backoff and jitter, retry-after-ms or Retry-After (seconds or an HTTP date)
// honoured up to 60 s, one deadline over all tries and waits, a circuit breaker, a bound on
// calls in flight, an optional answer cache and an optional daily token budget
// (upstream_guard.h). The breaker, the cache and the budget outlive the instance: they are the
// upstream's and the account's, shared by every instance of the same identity, so a reload
// continues them (upstream_state.h). The API key is sent as a header and never appears in an
// error, an audit or a result: any text the upstream sends back has it masked.
//
// Threading: score() is safe from any number of threads at once; each thread keeps its own
// connection.
#pragma once

#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/llm/http_post.h"
#include "plugins/llm/llm_params.h"
#include "plugins/llm/upstream_guard.h"
#include "plugins/llm/upstream_state.h"
#include "plugins/support/lead_features.h"
#include "plugins/support/per_thread.h"
#include "plugins/support/score_answer.h"

namespace leadscore::llm {

// One run: the result or why it failed, and the audit either way.
struct LlmRun {
  std::expected<plugin::ScoreResult, std::string> result;
  std::string audit_json;
};

class LlmScorer final {
 public:
  static constexpr std::string_view kPluginVersion = "1.0";
  static constexpr std::size_t kMaxRawBytes = 4096;
  static constexpr std::int64_t kMaxRetryAfterSeconds = 60;

  // Reads the params, the prompt template and the key (see llm_params.h).
  static std::expected<std::unique_ptr<LlmScorer>, std::string> create(
      std::string_view params_json, const std::filesystem::path& config_dir);
  ~LlmScorer();
  LlmScorer(const LlmScorer&) = delete;
  LlmScorer& operator=(const LlmScorer&) = delete;

  // "1.0+prompt:<version>+model:<model>+<hash of the params and template>".
  const std::string& version() const { return version_; }
  const LlmParams& params() const { return config_.params; }

  // Scores one lead; offer_json is the active offer (ls_features.offer_json) or nullptr.
  LlmRun score(const plugin::Features& lead, const char* offer_json) const;

  // The prompt this lead would be sent (no call): for tests and for people.
  std::expected<std::string, std::string> prompt_for(const plugin::Features& lead,
                                                     const char* offer_json) const;

 private:
  struct ThreadState;

  explicit LlmScorer(LlmConfig config);
  std::expected<std::string, std::string> render(const plugin::Features& lead,
                                                 const char* offer_json, ThreadState& state) const;
  // `text` with every occurrence of the API key masked.
  std::string masked(std::string text) const;

  CurlGlobal curl_;
  LlmConfig config_;
  std::string version_;
  std::string url_;
  std::string host_;
  std::vector<std::string> headers_;
  BreakerPolicy breaker_policy_;
  milliseconds cache_ttl_;
  std::shared_ptr<UpstreamState> upstream_;  // the breaker and the cache
  std::shared_ptr<BudgetState> budget_;
  mutable ConcurrencyGate gate_;
  mutable plugin::PerThread<ThreadState> threads_;
};

}  // namespace leadscore::llm
