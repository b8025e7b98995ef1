// The analysis pipeline against a store in memory: the store is the pipeline's own interface
// (analysis_store.h), so these tests say what the pipeline asks of any store, in what order.
// PostgreSQL behind it is covered by the store's and the API's tests.
#include "engine/analysis/analyzer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/engine/analysis/fake_scorer.h"

namespace leadscore::analysis {
namespace {

using domain::ErrorCode;
using domain::Lead;
using domain::LeadStage;
using testing::FakeScorer;
using Mode = FakeScorer::Mode;

// Leads and analysis rows in memory, with a log of every call in order. `changes_before_write`
// makes the next record(OnLead) calls find the lead changed by someone else meanwhile (its
// input revision moved), as a concurrent edit would.
class MemoryStore final : public AnalysisStore {
 public:
  class MemorySession;

  std::unique_ptr<Session> session() override;

  void add(Lead lead) {
    lead.input_revision = 1;
    leads[lead.id] = std::move(lead);
  }
  // The rows of the analyses appended or recorded, in order (shadow runs may come from
  // another thread).
  std::vector<domain::Analysis> rows() const {
    std::lock_guard lock(mutex);
    return rows_;
  }

  mutable std::mutex mutex;
  std::map<std::int64_t, Lead> leads;
  std::vector<std::string> calls;  // "get 1", "append a", "record b on_lead", "record b history"
  int changes_before_write = 0;
  std::optional<domain::Error> refuse_records;                       // every record fails so
  std::map<std::pair<std::string, std::int64_t>, std::string> arms;  // experiment, lead -> arm

 private:
  friend class MemorySession;
  std::vector<domain::Analysis> rows_;
};

class MemoryStore::MemorySession final : public AnalysisStore::Session {
 public:
  explicit MemorySession(MemoryStore& store) : store_(store) {}

  Result<Lead> get_lead(std::int64_t id) override {
    std::lock_guard lock(store_.mutex);
    store_.calls.push_back("get " + std::to_string(id));
    auto it = store_.leads.find(id);
    if (it == store_.leads.end())
      return std::unexpected(domain::Error::not_found("lead " + std::to_string(id) + " not found"));
    return it->second;
  }

  Result<void> append(const domain::Analysis& analysis) override {
    std::lock_guard lock(store_.mutex);
    store_.calls.push_back("append " + analysis.scorer);
    store_.rows_.push_back(analysis);
    return {};
  }

  Result<Lead> record(const Lead& seen, const domain::Analysis& analysis,
                      Storage storage) override {
    std::lock_guard lock(store_.mutex);
    const bool on_lead = storage == Storage::OnLead;
    store_.calls.push_back("record " + analysis.scorer + (on_lead ? " on_lead" : " history"));
    if (store_.refuse_records) return std::unexpected(*store_.refuse_records);
    auto it = store_.leads.find(seen.id);
    if (it == store_.leads.end()) return std::unexpected(domain::Error::not_found("no lead"));
    Lead& lead = it->second;
    if (on_lead) {
      if (domain::is_final(lead.stage))
        return std::unexpected(domain::Error{ErrorCode::LeadFinal, "lead is final", {}, {}});
      if (store_.changes_before_write > 0) {
        --store_.changes_before_write;
        ++lead.input_revision;
      }
      if (lead.input_revision != seen.input_revision)
        return std::unexpected(domain::Error{ErrorCode::Conflict, "lead changed", {}, {}});
      // An analysis giving its lead an arm: stored with it, unless the lead has another.
      if (analysis.assigning &&
          store_.arms.try_emplace({*analysis.experiment, seen.id}, *analysis.arm).first->second !=
              *analysis.arm)
        return std::unexpected(domain::Error{ErrorCode::Conflict, "lead has another arm", {}, {}});
      lead.ai_score = analysis.result->score;
      lead.ai_scorer = analysis.scorer;
      lead.ai_analyzed_at = "2026-12-03T10:00:00Z";
    }
    store_.rows_.push_back(analysis);
    return lead;
  }

  Result<std::vector<std::optional<std::string>>> assign_arms(
      const std::string& experiment, const std::string& /*split*/,
      std::span<const domain::ArmAssignment> proposals) override {
    std::lock_guard lock(store_.mutex);
    store_.calls.push_back("assign " + experiment);
    std::vector<std::optional<std::string>> arms;
    for (const auto& proposal : proposals) {
      if (!store_.leads.contains(proposal.lead_id)) {
        arms.emplace_back();
        continue;
      }
      arms.push_back(
          store_.arms.try_emplace({experiment, proposal.lead_id}, proposal.arm).first->second);
    }
    return arms;
  }

  void release() override {
    std::lock_guard lock(store_.mutex);
    store_.calls.push_back("release");
  }

 private:
  MemoryStore& store_;
};

std::unique_ptr<AnalysisStore::Session> MemoryStore::session() {
  return std::make_unique<MemorySession>(*this);
}

// A bounded pool of threads, as the server's slow-scorer pool is: `threads` run, `queue` wait,
// more are refused. Notes the thread that ran the last task.
class SlowPool {
 public:
  SlowPool(int threads, std::size_t queue) : limit_(static_cast<std::size_t>(threads) + queue) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
  }
  ~SlowPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
  }
  bool post(std::move_only_function<void()>&& task) {
    std::lock_guard lock(mutex_);
    if (queue_.size() + running_ >= limit_) return false;
    queue_.push_back(std::move(task));
    ready_.notify_one();
    return true;
  }
  std::thread::id last_thread() {
    std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto task = std::move(queue_.front());
      queue_.pop_front();
      last_ = std::this_thread::get_id();
      ++running_;
      lock.unlock();
      task();
      lock.lock();
      --running_;
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::move_only_function<void()>> queue_;
  std::size_t limit_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::thread::id last_;
  std::vector<std::thread> threads_;
};

Lead lead_in(LeadStage stage, std::int64_t id = 1) {
  Lead lead;
  lead.id = id;
  lead.source = "partner";
  lead.stage = stage;
  lead.activity_count = 3;
  return lead;
}

// An Analyzer over a MemoryStore, with the parts observable: failed runs, warnings, pauses, and
// the shadow tasks handed off (run only when the test says so).
class AnalyzerTest : public ::testing::Test {
 protected:
  // Scorers: `primary` and the others, each with its mode and fallback.
  void use_scorers(std::vector<scoring::ScorerEntry> entries, std::string primary = "primary",
                   std::vector<std::string> shadows = {}) {
    scorers_ = std::make_shared<const ScorerSet>(std::move(entries), std::move(primary),
                                                 std::move(shadows));
  }

  Analyzer& analyzer() {
    if (!analyzer_) {
      AnalyzerParts parts;
      parts.scorers = [this] { return scorers_; };
      parts.scorer_failed = [this](const std::string& scorer, const std::string& error) {
        failed_runs.push_back(scorer + ": " + error);
      };
      parts.offer = [this] { return offer; };
      parts.leads = &cache;
      parts.run_off_path = [this](std::move_only_function<void()>&& task) {
        if (!pool_accepts) return false;
        off_path.push_back(std::move(task));
        return true;
      };
      parts.warn = [this](const std::string& message) { warnings.push_back(message); };
      parts.pause = [this](int attempt) { pauses.push_back(attempt); };
      if (slow_pool) {
        parts.run_slow = [this](std::move_only_function<void()>&& task) {
          return slow_pool->post(std::move(task));
        };
        parts.slow_run_limit = slow_run_limit;
        parts.stopping = &stopping;
      }
      analyzer_.emplace(store, std::move(parts));
    }
    return *analyzer_;
  }

  std::expected<AnalysisOutcome, AnalysisFailure> analyze(
      std::optional<std::string> scorer = std::nullopt) {
    return analyzer().analyze({1, std::move(scorer), "manager", std::nullopt, std::nullopt});
  }

  const ScorerSet& current_scorers() const { return *scorers_; }
  void set_scorers(std::shared_ptr<const ScorerSet> set) { scorers_ = std::move(set); }

  void run_off_path_tasks() {
    for (auto& task : off_path) task();
    off_path.clear();
  }

  MemoryStore store;
  LeadCache cache;
  std::shared_ptr<const domain::OfferView> offer;
  bool pool_accepts = true;
  std::unique_ptr<SlowPool> slow_pool;  // none: slow scorers run on the analyzing thread
  std::chrono::milliseconds slow_run_limit{5000};
  std::atomic<bool> stopping{false};
  std::vector<std::move_only_function<void()>> off_path;
  std::vector<std::string> failed_runs, warnings;
  std::vector<int> pauses;

 private:
  std::shared_ptr<const ScorerSet> scorers_;
  std::optional<Analyzer> analyzer_;
};

std::vector<scoring::ScorerEntry> one_scorer(double score = 0.7) {
  std::vector<scoring::ScorerEntry> entries;
  entries.push_back(testing::fake_entry("primary", Mode::Answer, "", 0, score));
  return entries;
}

TEST_F(AnalyzerTest, APrimaryAnalysisIsStoredOnTheLeadAndTheLeadIsCached) {
  use_scorers(one_scorer(0.7));
  store.add(lead_in(LeadStage::Contacted));
  auto outcome = analyze();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().error.message;
  EXPECT_EQ(outcome->analysis.role, "primary");
  EXPECT_EQ(outcome->analysis.actor, "manager");
  EXPECT_EQ(outcome->analysis.scorer, "primary");
  EXPECT_EQ(outcome->analysis.scorer_version, "1");
  ASSERT_TRUE(outcome->analysis.result.has_value());
  EXPECT_EQ(outcome->analysis.result->score, 0.7);
  EXPECT_EQ(outcome->lead.ai_score, 0.7);
  EXPECT_FALSE(outcome->fallback_from.has_value());
  EXPECT_EQ(store.calls, (std::vector<std::string>{"get 1", "record primary on_lead"}));
  ASSERT_TRUE(cache.find(1).has_value());
  EXPECT_EQ(cache.find(1)->ai_score, 0.7);
}

TEST_F(AnalyzerTest, AScorerSeesTheLeadsFeaturesAndTheActiveOffer) {
  use_scorers(one_scorer());
  Lead lead = lead_in(LeadStage::Qualified);
  lead.business_domain = "fintech";
  lead.profile.company = "Acme";
  store.add(lead);
  offer = std::make_shared<const domain::OfferView>();
  auto outcome = analyze();
  ASSERT_TRUE(outcome.has_value());
  const domain::Features& f = outcome->analysis.features;
  EXPECT_EQ(f.source, "partner");
  EXPECT_EQ(f.stage, LeadStage::Qualified);
  EXPECT_EQ(f.activity_count, 3);
  EXPECT_EQ(f.business_domain, "fintech");
  EXPECT_EQ(f.profile.company, "Acme");
  EXPECT_EQ(f.offer, offer);
}

TEST_F(AnalyzerTest, ACachedLeadNeedsNoRead) {
  use_scorers(one_scorer());
  store.add(lead_in(LeadStage::New));
  cache.put(store.leads[1]);
  ASSERT_TRUE(analyze().has_value());
  EXPECT_EQ(store.calls, (std::vector<std::string>{"record primary on_lead"}));
}

TEST_F(AnalyzerTest, AConcurrentChangeMakesItReadAndScoreAgainUntilItIsStored) {
  use_scorers(one_scorer());
  store.add(lead_in(LeadStage::New));
  store.changes_before_write = 3;
  auto outcome = analyze();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().error.message;
  EXPECT_EQ(outcome->lead.input_revision, 4);
  EXPECT_EQ(store.calls,
            (std::vector<std::string>{"get 1", "record primary on_lead", "get 1",
                                      "record primary on_lead", "get 1", "record primary on_lead",
                                      "get 1", "record primary on_lead"}));
  EXPECT_EQ(pauses, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(store.rows().size(), 1u);  // only the analysis stored on the lead
}

TEST_F(AnalyzerTest, AStaleCachedLeadCostsOneConflictAndAFreshRead) {
  use_scorers(one_scorer());
  store.add(lead_in(LeadStage::New));
  Lead stale = store.leads[1];
  stale.input_revision = 0;  // read before the last change
  cache.put(stale);
  ASSERT_TRUE(analyze().has_value());
  EXPECT_EQ(store.calls, (std::vector<std::string>{"record primary on_lead", "get 1",
                                                   "record primary on_lead"}));
  EXPECT_EQ(cache.find(1)->input_revision, 1);
}

TEST_F(AnalyzerTest, ALeadThatKeepsChangingIsUnavailableForNowAfterEveryAttempt) {
  use_scorers(one_scorer());
  store.add(lead_in(LeadStage::New));
  store.changes_before_write = 1000;
  auto outcome = analyze();
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().error.code, ErrorCode::Unavailable);
  EXPECT_EQ(outcome.error().retry_after_seconds, 1);
  EXPECT_EQ(outcome.error().error.message,
            "lead 1 kept changing while it was analyzed (16 attempts); try again in a moment");
  EXPECT_EQ(pauses.size(), static_cast<std::size_t>(Analyzer::kAttempts));
  EXPECT_TRUE(store.rows().empty());
}

TEST_F(AnalyzerTest, EveryFailedFallbackRunIsRecordedBeforeTheAnswer) {
  std::vector<scoring::ScorerEntry> entries;
  entries.push_back(testing::fake_entry("primary", Mode::Fail, "second"));
  entries.push_back(testing::fake_entry("second", Mode::Malformed, "third"));
  entries.push_back(testing::fake_entry("third", Mode::Answer, "", 0, 0.25));
  use_scorers(std::move(entries));
  store.add(lead_in(LeadStage::New));
  auto outcome = analyze();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().error.message;
  EXPECT_EQ(outcome->analysis.scorer, "third");
  ASSERT_TRUE(outcome->fallback_from.has_value());
  EXPECT_EQ(outcome->fallback_from->scorer, "primary");
  EXPECT_EQ(outcome->fallback_from->error, "primary is down");
  EXPECT_EQ(store.calls, (std::vector<std::string>{"get 1", "append primary", "append second",
                                                   "record third on_lead"}));
  const auto rows = store.rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].error, "primary is down");
  EXPECT_FALSE(rows[0].result.has_value());
  EXPECT_EQ(rows[0].role, "primary");
  EXPECT_EQ(rows[1].error,
            "malformed result: the contributions add up to 0.25, not to the score 0.5");
  EXPECT_EQ(rows[2].scorer, "third");
  EXPECT_EQ(failed_runs, (std::vector<std::string>{
                             "primary: primary is down",
                             "second: malformed result: the contributions add up to 0.25, not "
                             "to the score 0.5"}));
}

TEST_F(AnalyzerTest, WhenEveryScorerFailsTheRunsAreKeptAndNoScorerIsAvailable) {
  std::vector<scoring::ScorerEntry> entries;
  entries.push_back(testing::fake_entry("primary", Mode::Fail, "second"));
  entries.push_back(testing::fake_entry("second", Mode::Fail));
  use_scorers(std::move(entries));
  store.add(lead_in(LeadStage::New));
  auto outcome = analyze();
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().error.code, ErrorCode::ScorerUnavailable);
  EXPECT_EQ(outcome.error().error.message,
            "scorer primary failed: primary is down; scorer second failed: second is down");
  EXPECT_FALSE(outcome.error().retry_after_seconds.has_value());
  EXPECT_EQ(store.rows().size(), 2u);
  EXPECT_FALSE(store.leads[1].ai_score.has_value());
  EXPECT_FALSE(cache.find(1).has_value());
}

TEST_F(AnalyzerTest, AFinalLeadIsRefusedAndLeavesTheCache) {
  use_scorers(one_scorer());
  store.add(lead_in(LeadStage::Lost));
  cache.put(store.leads[1]);
  auto outcome = analyze();
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().error.code, ErrorCode::LeadFinal);
  EXPECT_EQ(outcome.error().error.message, "lead 1 is lost and cannot be analyzed");
  EXPECT_FALSE(cache.find(1).has_value());
  EXPECT_TRUE(store.rows().empty());
}

TEST_F(AnalyzerTest, ALeadThatBecameFinalSinceItWasCachedLeavesTheCache) {
  use_scorers(one_scorer());
  store.add(lead_in(LeadStage::Qualified));
  cache.put(store.leads[1]);
  store.leads[1].stage = LeadStage::Transferred;
  auto outcome = analyze();
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().error.code, ErrorCode::LeadFinal);
  EXPECT_FALSE(cache.find(1).has_value());
}

TEST_F(AnalyzerTest, AStoreFailureIsAnsweredAndTheLeadLeavesTheCache) {
  use_scorers(one_scorer());
  store.add(lead_in(LeadStage::New));
  cache.put(store.leads[1]);
  store.refuse_records = domain::Error{ErrorCode::Unavailable, "no connection", {}, {}};
  auto outcome = analyze();
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().error.code, ErrorCode::Unavailable);
  EXPECT_FALSE(outcome.error().retry_after_seconds.has_value());
  EXPECT_FALSE(cache.find(1).has_value());
}

TEST_F(AnalyzerTest, AMissingLeadIsNotFound) {
  use_scorers(one_scorer());
  auto outcome = analyze();
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().error.code, ErrorCode::NotFound);
}

std::vector<scoring::ScorerEntry> primary_other_and_shadow() {
  std::vector<scoring::ScorerEntry> entries;
  entries.push_back(testing::fake_entry("primary", Mode::Answer, "", 0, 0.7));
  entries.push_back(testing::fake_entry("other", Mode::Answer, "", 0, 0.2));
  entries.push_back(testing::fake_entry("shadow", Mode::Answer, "", 0, 0.4));
  return entries;
}

TEST_F(AnalyzerTest, ANamedScorerRunsAdHocRecordedButNotStoredOnTheLead) {
  use_scorers(primary_other_and_shadow(), "primary", {"shadow"});
  store.add(lead_in(LeadStage::New));
  cache.put(store.leads[1]);
  auto outcome = analyze("other");
  ASSERT_TRUE(outcome.has_value()) << outcome.error().error.message;
  EXPECT_EQ(outcome->analysis.role, "adhoc");
  EXPECT_EQ(outcome->analysis.scorer, "other");
  // Read from the store (the cache serves primary runs only), appended to the history only.
  EXPECT_EQ(store.calls, (std::vector<std::string>{"get 1", "record other history"}));
  EXPECT_FALSE(store.leads[1].ai_score.has_value());
  EXPECT_FALSE(cache.find(1)->ai_score.has_value());
  EXPECT_TRUE(off_path.empty());  // no shadow runs for an ad-hoc run
}

TEST_F(AnalyzerTest, NamingThePrimaryIsAPrimaryAnalysis) {
  use_scorers(primary_other_and_shadow(), "primary", {"shadow"});
  store.add(lead_in(LeadStage::New));
  auto outcome = analyze("primary");
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->analysis.role, "primary");
  EXPECT_EQ(store.leads[1].ai_score, 0.7);
  EXPECT_EQ(off_path.size(), 1u);
}

TEST_F(AnalyzerTest, AnUnknownScorerIsRefusedBeforeAnythingIsRead) {
  use_scorers(one_scorer());
  store.add(lead_in(LeadStage::New));
  auto outcome = analyze("nobody");
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().error.code, ErrorCode::Validation);
  EXPECT_EQ(outcome.error().error.field, "scorer");
  EXPECT_EQ(outcome.error().error.message, "unknown scorer nobody");
  EXPECT_TRUE(store.calls.empty());
}

TEST_F(AnalyzerTest, ShadowsRunOffThePathAfterThePrimaryIsStored) {
  use_scorers(primary_other_and_shadow(), "primary", {"shadow"});
  store.add(lead_in(LeadStage::New));
  auto outcome = analyze();
  ASSERT_TRUE(outcome.has_value());
  ASSERT_EQ(off_path.size(), 1u);
  EXPECT_EQ(store.rows().size(), 1u);  // the answer did not wait for the shadow
  run_off_path_tasks();
  const auto rows = store.rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].role, "shadow");
  EXPECT_EQ(rows[1].scorer, "shadow");
  EXPECT_EQ(rows[1].result->score, 0.4);
  EXPECT_EQ(rows[1].features.source, rows[0].features.source);
  EXPECT_EQ(store.leads[1].ai_score, 0.7);  // a shadow never decides
}

TEST_F(AnalyzerTest, AFailedShadowRunIsKeptAsFailedWithoutFallback) {
  std::vector<scoring::ScorerEntry> entries;
  entries.push_back(testing::fake_entry("primary", Mode::Answer));
  entries.push_back(testing::fake_entry("shadow", Mode::Fail, "primary"));
  use_scorers(std::move(entries), "primary", {"shadow"});
  store.add(lead_in(LeadStage::New));
  ASSERT_TRUE(analyze().has_value());
  run_off_path_tasks();
  const auto rows = store.rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].scorer, "shadow");
  EXPECT_EQ(rows[1].error, "shadow is down");
  EXPECT_FALSE(rows[1].result.has_value());
  EXPECT_EQ(failed_runs, (std::vector<std::string>{"shadow: shadow is down"}));
}

TEST_F(AnalyzerTest, ShadowsAreSkippedWhenThePoolRefusesThem) {
  use_scorers(primary_other_and_shadow(), "primary", {"shadow"});
  store.add(lead_in(LeadStage::New));
  pool_accepts = false;
  auto outcome = analyze();
  ASSERT_TRUE(outcome.has_value());  // the answer does not depend on its shadows
  EXPECT_TRUE(off_path.empty());
  EXPECT_EQ(warnings,
            (std::vector<std::string>{"shadow runs of lead 1 skipped: the shadow queue is full"}));
  EXPECT_EQ(store.rows().size(), 1u);
}

TEST_F(AnalyzerTest, AnAnalysisFinishesOnTheScorerSetItStartedWith) {
  use_scorers(primary_other_and_shadow(), "primary", {"shadow"});
  store.add(lead_in(LeadStage::New));
  ASSERT_TRUE(analyze().has_value());
  use_scorers(one_scorer());  // a reload, before the shadow task runs
  run_off_path_tasks();
  EXPECT_EQ(store.rows().back().scorer, "shadow");
}

// A slow primary (as an LLM scorer), its fallback, and a slow shadow.
std::vector<scoring::ScorerEntry> slow_scorers(std::chrono::milliseconds pause,
                                               Mode primary_mode = Mode::Answer) {
  std::vector<scoring::ScorerEntry> entries;
  entries.push_back(testing::fake_entry("llm", primary_mode, "heuristic", 0, 0.9));
  static_cast<FakeScorer&>(*entries.back().scorer)
      .slow_with(pause, R"({"model":"m1","tokens_in":12})");
  entries.push_back(testing::fake_entry("heuristic", Mode::Answer, "", 0, 0.3));
  entries.push_back(testing::fake_entry("slow_shadow", Mode::Answer, "", 0, 0.6));
  static_cast<FakeScorer&>(*entries.back().scorer).slow_with(pause, R"({"shadow":true})");
  return entries;
}

TEST_F(AnalyzerTest, ASlowRunGoesToTheSlowPoolWithoutAConnectionAndKeepsItsAudit) {
  slow_pool = std::make_unique<SlowPool>(1, 0);
  use_scorers(slow_scorers(std::chrono::milliseconds(10)), "llm");
  store.add(lead_in(LeadStage::New));
  auto outcome = analyze();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().error.message;
  EXPECT_EQ(outcome->analysis.scorer, "llm");
  EXPECT_EQ(outcome->analysis.audit, R"({"model":"m1","tokens_in":12})");
  EXPECT_NE(slow_pool->last_thread(), std::this_thread::get_id());
  // The connection is given back before the slow run, and taken again to record it.
  EXPECT_EQ(store.calls, (std::vector<std::string>{"get 1", "release", "record llm on_lead"}));
  EXPECT_EQ(store.rows().at(0).audit, R"({"model":"m1","tokens_in":12})");
}

TEST_F(AnalyzerTest, AFailedSlowRunIsKeptWithItsAuditAndTheFallbackAnswers) {
  slow_pool = std::make_unique<SlowPool>(1, 0);
  use_scorers(slow_scorers(std::chrono::milliseconds(1), Mode::Fail), "llm");
  store.add(lead_in(LeadStage::New));
  auto outcome = analyze();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().error.message;
  EXPECT_EQ(outcome->analysis.scorer, "heuristic");
  EXPECT_FALSE(outcome->analysis.audit.has_value());  // the heuristic keeps none
  const auto rows = store.rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].scorer, "llm");
  EXPECT_EQ(rows[0].error, "llm is down");
  EXPECT_EQ(rows[0].audit, R"({"model":"m1","tokens_in":12})");
}

TEST_F(AnalyzerTest, AFullSlowPoolFailsTheRunAtOnceAndTheFallbackAnswers) {
  slow_pool = std::make_unique<SlowPool>(1, 0);
  use_scorers(slow_scorers(std::chrono::milliseconds(300)), "llm");
  store.add(lead_in(LeadStage::New));
  store.add(lead_in(LeadStage::New, 2));
  std::thread busy([&] {
    analyzer().analyze({2, std::nullopt, "manager", std::nullopt, std::nullopt});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // lead 2's run holds the pool
  const auto start = std::chrono::steady_clock::now();
  auto outcome = analyze();
  const auto waited = std::chrono::steady_clock::now() - start;
  busy.join();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().error.message;
  EXPECT_EQ(outcome->analysis.scorer, "heuristic");
  ASSERT_TRUE(outcome->fallback_from.has_value());
  EXPECT_EQ(outcome->fallback_from->error,
            "the slow-scorer pool is full (server.slow_workers, server.slow_queue)");
  EXPECT_LT(waited, std::chrono::milliseconds(200));
}

TEST_F(AnalyzerTest, ASlowRunIsNotWaitedForPastTheRequestsDeadline) {
  slow_pool = std::make_unique<SlowPool>(1, 1);
  use_scorers(slow_scorers(std::chrono::milliseconds(400)), "llm");
  store.add(lead_in(LeadStage::New));
  const auto start = std::chrono::steady_clock::now();
  AnalysisRequest request{1, std::nullopt, "manager", start + std::chrono::milliseconds(50),
                          std::nullopt};
  auto outcome = analyzer().analyze(request);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(outcome.has_value()) << outcome.error().error.message;
  EXPECT_EQ(outcome->analysis.scorer, "heuristic");
  const std::string& why = outcome->fallback_from->error;
  EXPECT_TRUE(why.starts_with("no answer within ") &&
              why.ends_with(" ms: the slow run was given up on"))
      << why;
  EXPECT_LT(waited, std::chrono::milliseconds(300));
  EXPECT_FALSE(store.rows().at(0).audit.has_value());  // a run given up on has none yet
  // A run queued behind it whose deadline has passed never starts.
  store.add(lead_in(LeadStage::New, 2));
  const auto late = std::chrono::steady_clock::now();
  ASSERT_TRUE(analyzer().analyze(
      {2, std::nullopt, "manager", late + std::chrono::milliseconds(20), std::nullopt}));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const auto& llm = static_cast<const FakeScorer&>(*current_scorers().find("llm"));
  EXPECT_EQ(llm.runs(), 1);
  // The run given up on ended after all: it is kept with what it did and its audit.
  const auto rows = store.rows();
  ASSERT_EQ(rows.size(), 5u);  // lead 1: given up, heuristic; lead 2: the same; then the late run
  const domain::Analysis& ended = rows.back();
  EXPECT_EQ(ended.lead_id, 1);
  EXPECT_EQ(ended.scorer, "llm");
  EXPECT_EQ(ended.role, "primary");
  EXPECT_EQ(ended.actor, "manager");
  EXPECT_FALSE(ended.result.has_value());
  EXPECT_TRUE(ended.error->starts_with("answered after ")) << *ended.error;
  EXPECT_NE(ended.error->find("when it had been given up on at"), std::string::npos);
  EXPECT_EQ(ended.audit, R"({"model":"m1","tokens_in":12})");
  EXPECT_GE(ended.latency_ms, 400.0);
}

TEST_F(AnalyzerTest, AStopOfTheServerEndsTheWaitForASlowRun) {
  slow_pool = std::make_unique<SlowPool>(1, 0);
  use_scorers(slow_scorers(std::chrono::milliseconds(400)), "llm");
  store.add(lead_in(LeadStage::New));
  std::thread stop([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stopping = true;
  });
  const auto start = std::chrono::steady_clock::now();
  auto outcome = analyze();
  const auto waited = std::chrono::steady_clock::now() - start;
  stop.join();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().error.message;
  EXPECT_EQ(outcome->analysis.scorer, "heuristic");
  EXPECT_EQ(outcome->fallback_from->error, "the server is stopping: the slow run was given up on");
  EXPECT_LT(waited, std::chrono::milliseconds(300));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the run ends in the pool
}

TEST_F(AnalyzerTest, ASlowShadowRunsOnTheSlowPoolAndKeepsItsAudit) {
  slow_pool = std::make_unique<SlowPool>(1, 0);
  use_scorers(slow_scorers(std::chrono::milliseconds(1)), "heuristic", {"slow_shadow"});
  store.add(lead_in(LeadStage::New));
  ASSERT_TRUE(analyze().has_value());
  run_off_path_tasks();
  const auto rows = store.rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].scorer, "slow_shadow");
  EXPECT_EQ(rows[1].audit, R"({"shadow":true})");
  EXPECT_NE(slow_pool->last_thread(), std::this_thread::get_id());
}

TEST_F(AnalyzerTest, WithoutASlowPoolASlowScorerRunsInPlace) {
  use_scorers(slow_scorers(std::chrono::milliseconds(1)), "llm");
  store.add(lead_in(LeadStage::New));
  auto outcome = analyze();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->analysis.scorer, "llm");
  EXPECT_EQ(store.calls, (std::vector<std::string>{"get 1", "record llm on_lead"}));
}

// A batch of leads 1..n in `stage`, as a job reads them from the store.
std::vector<Lead> batch_of(MemoryStore& store, int n, LeadStage stage = LeadStage::New) {
  std::vector<Lead> leads;
  for (int id = 1; id <= n; ++id) {
    store.add(lead_in(stage, id));
    leads.push_back(store.leads[id]);
  }
  return leads;
}

TEST_F(AnalyzerTest, ABatchIsScoredAndStoredInOneSetWithItsShadowRuns) {
  use_scorers(primary_other_and_shadow(), "primary", {"shadow"});
  const std::vector<Lead> leads = batch_of(store, 3);
  ASSERT_TRUE(analyzer().batches(std::nullopt));
  const auto outcomes =
      analyzer().analyze_batch(leads, {0, std::nullopt, "job 7 (manager)", std::nullopt, "job:7"});
  ASSERT_EQ(outcomes.size(), 3u);
  for (const auto& outcome : outcomes) EXPECT_TRUE(outcome.has_value());
  // One session for the whole batch, no reads: the leads came with it; shadows not handed off.
  EXPECT_EQ(store.calls,
            (std::vector<std::string>{"record primary on_lead", "record primary on_lead",
                                      "record primary on_lead", "append shadow", "append shadow",
                                      "append shadow"}));
  EXPECT_TRUE(off_path.empty());
  for (int id = 1; id <= 3; ++id) EXPECT_EQ(store.leads[id].ai_score, 0.7);
  const auto rows = store.rows();
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].role, "primary");
  EXPECT_EQ(rows[0].actor, "job 7 (manager)");
  EXPECT_EQ(rows[0].request_id, "job:7");
  EXPECT_EQ(rows[3].request_id, "job:7");
  EXPECT_EQ(rows[3].role, "shadow");
  EXPECT_EQ(rows[3].scorer, "shadow");
  EXPECT_EQ(rows[3].lead_id, 1);
  EXPECT_EQ(rows[3].result->score, 0.4);
}

TEST_F(AnalyzerTest, ABatchKeepsFailedRunsAndLetsTheFallbackAnswer) {
  std::vector<scoring::ScorerEntry> entries;
  entries.push_back(testing::fake_entry("primary", Mode::Fail, "second"));
  entries.push_back(testing::fake_entry("second", Mode::Answer, "", 0, 0.25));
  use_scorers(std::move(entries));
  const std::vector<Lead> leads = batch_of(store, 2);
  const auto outcomes =
      analyzer().analyze_batch(leads, {0, std::nullopt, "job 1 (m)", std::nullopt, "job:7"});
  ASSERT_TRUE(outcomes[0].has_value());
  ASSERT_TRUE(outcomes[1].has_value());
  EXPECT_EQ(store.leads[1].ai_scorer, "second");
  const auto rows = store.rows();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].scorer, "primary");
  ASSERT_TRUE(rows[0].error.has_value());
  EXPECT_EQ(rows[2].scorer, "second");
  EXPECT_EQ(failed_runs.size(), 2u);
}

TEST_F(AnalyzerTest, InABatchAFinalLeadFailsAloneAndAChangedOneIsAnalyzedAgain) {
  use_scorers(one_scorer(0.6));
  std::vector<Lead> leads = batch_of(store, 3);
  store.leads[2].stage = LeadStage::Lost;
  leads[1].stage = LeadStage::Lost;
  store.changes_before_write = 1;  // lead 1's write finds it changed
  const auto outcomes =
      analyzer().analyze_batch(leads, {0, std::nullopt, "job 1 (m)", std::nullopt, "job:7"});
  ASSERT_TRUE(outcomes[0].has_value()) << outcomes[0].error().error.message;
  ASSERT_FALSE(outcomes[1].has_value());
  EXPECT_EQ(outcomes[1].error().error.code, ErrorCode::LeadFinal);
  EXPECT_TRUE(outcomes[2].has_value());
  EXPECT_EQ(store.leads[1].ai_score, 0.6);
  EXPECT_EQ(store.leads[1].input_revision, 2);
  EXPECT_EQ(store.calls,
            (std::vector<std::string>{"record primary on_lead", "record primary on_lead", "get 1",
                                      "record primary on_lead"}));
}

TEST_F(AnalyzerTest, ABatchForAnUnknownScorerFailsEveryLead) {
  use_scorers(one_scorer());
  const std::vector<Lead> leads = batch_of(store, 2);
  EXPECT_FALSE(analyzer().batches("missing"));
  const auto outcomes = analyzer().analyze_batch(
      leads, {0, std::string("missing"), "job 1 (m)", std::nullopt, "job:7"});
  for (const auto& outcome : outcomes) {
    ASSERT_FALSE(outcome.has_value());
    EXPECT_EQ(outcome.error().error.code, ErrorCode::Validation);
  }
  EXPECT_TRUE(store.calls.empty());
}

TEST_F(AnalyzerTest, ABatchWithASlowScorerGoesLeadByLead) {
  use_scorers(slow_scorers(std::chrono::milliseconds(1)), "llm");
  const std::vector<Lead> leads = batch_of(store, 2);
  EXPECT_FALSE(analyzer().batches(std::nullopt));
  const auto outcomes =
      analyzer().analyze_batch(leads, {0, std::nullopt, "job 1 (m)", std::nullopt, "job:7"});
  EXPECT_TRUE(outcomes[0].has_value());
  EXPECT_TRUE(outcomes[1].has_value());
  EXPECT_EQ(store.calls, (std::vector<std::string>{"get 1", "record llm on_lead", "get 2",
                                                   "record llm on_lead"}));
}

// Two scorers, each the primary of an arm of experiment "trial", split evenly.
class ExperimentAnalyzerTest : public AnalyzerTest {
 protected:
  ExperimentAnalyzerTest() {
    std::vector<scoring::ScorerEntry> entries;
    entries.push_back(testing::fake_entry("primary", Mode::Answer, "", 0, 0.3));
    entries.push_back(testing::fake_entry("challenger", Mode::Answer, "", 0, 0.9));
    set_scorers(std::make_shared<const ScorerSet>(std::move(entries), "primary",
                                                  std::vector<std::string>{},
                                                  std::vector<domain::Experiment>{trial()}));
  }
  static domain::Experiment trial() {
    return {"trial", "s", {{"control", "primary", 1}, {"treatment", "challenger", 1}}, 30, true};
  }
  // The arm the split gives lead `id`, and the other one.
  static std::string hashed_arm(std::int64_t id) {
    const auto e = trial();
    return e.arms[*domain::arm_of_bucket(e, domain::experiment_bucket(e, id))].name;
  }
  static std::string other_arm(std::int64_t id) {
    return hashed_arm(id) == "control" ? "treatment" : "control";
  }
};

TEST_F(ExperimentAnalyzerTest, AFirstAnalysisGivesTheLeadItsArmWithItsOwnWrite) {
  store.add(lead_in(LeadStage::New));
  auto outcome = analyze();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().error.message;
  const std::string arm = hashed_arm(1);
  EXPECT_EQ(outcome->analysis.arm, arm);
  EXPECT_EQ(outcome->analysis.scorer, arm == "control" ? "primary" : "challenger");
  ASSERT_TRUE(outcome->analysis.assigning.has_value());
  EXPECT_EQ(outcome->analysis.assigning->bucket, domain::experiment_bucket(trial(), 1));
  EXPECT_EQ(outcome->analysis.assigning->split, "control:1,treatment:1");
  // No round trip of its own: the arm went with the analysis.
  EXPECT_EQ(store.calls,
            (std::vector<std::string>{"get 1", "record " + outcome->analysis.scorer + " on_lead"}));
  EXPECT_EQ((store.arms[{"trial", 1}]), arm);
  // The next analysis knows the arm: it gives none.
  auto again = analyze();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->analysis.arm, arm);
  EXPECT_FALSE(again->analysis.assigning.has_value());
}

TEST_F(ExperimentAnalyzerTest, ALeadWithAnotherArmIsScoredAgainWithTheArmItHas) {
  store.add(lead_in(LeadStage::New));
  const std::string arm = other_arm(1);
  store.arms[{"trial", 1}] = arm;  // given by another server, or under another split
  auto outcome = analyze();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().error.message;
  EXPECT_EQ(outcome->analysis.arm, arm);
  const std::string scorer = arm == "control" ? "primary" : "challenger";
  EXPECT_EQ(outcome->analysis.scorer, scorer);
  EXPECT_FALSE(outcome->analysis.assigning.has_value());
  const std::string refused = hashed_arm(1) == "control" ? "primary" : "challenger";
  EXPECT_EQ(store.calls,
            (std::vector<std::string>{"get 1", "record " + refused + " on_lead", "get 1",
                                      "assign trial", "record " + scorer + " on_lead"}));
  ASSERT_EQ(store.rows().size(), 1u);  // the refused analysis wrote nothing
  EXPECT_EQ(store.rows()[0].arm, arm);
}

TEST(RetryPause, NoneBeforeTheFirstTwoAttemptsThenARandomHalfToAllOfADoublingPause) {
  std::minstd_rand random(42);
  EXPECT_EQ(retry_pause(0, random).count(), 0);
  EXPECT_EQ(retry_pause(1, random).count(), 0);
  for (int attempt = 2; attempt < Analyzer::kAttempts; ++attempt) {
    const int full_us = 1000 << std::min(attempt - 2, 6);
    for (int draw = 0; draw < 50; ++draw) {
      const auto pause = retry_pause(attempt, random).count();
      EXPECT_GE(pause, full_us / 2) << attempt;
      EXPECT_LE(pause, full_us) << attempt;
    }
  }
}

}  // namespace
}  // namespace leadscore::analysis
