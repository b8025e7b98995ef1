// What the LLM scorer keeps beyond one instance: the breaker and the answer cache of each
// upstream, and the day's token count of each budget. The engine re-creates the scorer
// instances on every reload (POST /admin/reload, SIGHUP): it builds the new ones while the old
// still serve and keeps the module loaded, so state held here, rather than in an instance,
// carries over to the new instance of the same upstream. A down upstream stays refused by its
// open breaker and a spent budget stays spent, whatever the analyst reloads.
//
// Identities (a changed identity starts fresh):
// - the upstream (breaker, cache): provider, base_url and model. The breaker's limits and the
//   cache's ttl are each instance's own; the cache's keys are the request bodies, and cached
//   answers are verdicts, scored again with each instance's intent_points.
// - the budget (day's tokens): provider, base_url and api_key_env (the account that is
//   billed: every scorer spending through one key counts against one day's tokens, each
//   refusing once the count reaches its own tokens_per_day), and budget.state_file.
//
// In memory this lasts as long as the module is loaded: not over a restart, nor over a reload
// that loads a rebuilt llm.so beside the old one (a new module: fresh state). budget.state_file
// keeps the day's count in a file as well: it is read when the first instance of the budget is
// made and updated after every call that spent tokens (read, add, write to a temporary file,
// rename, under an advisory lock on "<file>.lock"), so a restart, a rebuilt module, or another
// process with the same file continue the same day's count. A missing file starts at 0; an
// unreadable or corrupt one starts at 0 too, with a line on stderr that says why.
//
// Threading: every function and member is safe from any number of threads.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "plugins/llm/llm_exchange.h"
#include "plugins/llm/llm_params.h"
#include "plugins/llm/upstream_guard.h"

namespace leadscore::llm {

// An answer kept in the cache: the verdict (scored by each instance with its own points), the
// upstream's answer for the audit.
struct CachedAnswer {
  Verdict verdict;
  std::string raw;
};

struct UpstreamState {
  CircuitBreaker breaker;
  AnswerCache<CachedAnswer> cache;
};

// A day's token count, kept in memory and, when the budget names one, in its state file.
class BudgetState {
 public:
  explicit BudgetState(std::filesystem::path state_file);  // empty: memory only
  BudgetState(const BudgetState&) = delete;
  BudgetState& operator=(const BudgetState&) = delete;

  bool spent(WallTime now, std::int64_t limit);
  // Adds the tokens to the day's count (and to the file's).
  void add(std::int64_t tokens, WallTime now);
  std::int64_t used(WallTime now);
  const std::filesystem::path& state_file() const { return state_file_; }

 private:
  TokenBudget budget_;
  const std::filesystem::path state_file_;
  std::mutex file_mutex_;
  std::string last_problem_;  // under file_mutex_: a problem is reported once, not per call
};

// The state of the upstream / the budget these params name, made on first use and kept while
// the module is loaded.
std::shared_ptr<UpstreamState> upstream_state(const LlmParams& params);
std::shared_ptr<BudgetState> budget_state(const LlmParams& params);

// The budget file's contents: {"day": "2026-12-03", "tokens_used": 1234}. read: nullopt when
// the file does not exist; an error text when it cannot be read or is not that shape.
struct BudgetDay {
  std::int64_t day = 0;  // UTC days since 1970-01-01
  std::int64_t tokens_used = 0;
};
std::expected<std::optional<BudgetDay>, std::string> read_budget_file(
    const std::filesystem::path& file);
std::expected<void, std::string> write_budget_file(const std::filesystem::path& file,
                                                   const BudgetDay& day);

}  // namespace leadscore::llm
