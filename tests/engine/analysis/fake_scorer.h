// Scorers that answer, fail, throw, stall or break the result contract on purpose, for the
// tests of the scoring step and of the analysis pipeline.
#pragma once

#include <atomic>
#include <chrono>
#include <expected>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/scoring/registry.h"

namespace leadscore::testing {

class FakeScorer final : public scoring::Scorer {
 public:
  enum class Mode { Answer, Fail, Malformed, Slow, Throw };
  FakeScorer(std::string name, Mode mode, double score = 0.5)
      : name_(std::move(name)), mode_(mode), score_(score) {}
  // A slow scorer (Scorer::slow()) whose runs take `pause` and keep `audit` (when given), as an
  // LLM scorer does, whether they answer or fail.
  FakeScorer& slow_with(std::chrono::milliseconds pause, std::optional<std::string> audit) {
    slow_ = true;
    pause_ = pause;
    audit_ = std::move(audit);
    return *this;
  }
  bool slow() const override { return slow_; }
  scoring::ScorerAnswer run(const domain::Features& features) const override {
    if (pause_.count() > 0) std::this_thread::sleep_for(pause_);
    runs_.fetch_add(1);
    return {score(features), audit_};
  }
  int runs() const { return runs_.load(); }  // runs that finished
  const std::string& name() const override { return name_; }
  const std::string& version() const override { return version_; }
  std::expected<domain::ScoreResult, std::string> score(const domain::Features&) const override {
    if (mode_ == Mode::Fail) return std::unexpected(name_ + " is down");
    if (mode_ == Mode::Throw) throw std::runtime_error(name_ + " broke");
    if (mode_ == Mode::Slow) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    domain::ScoreResult r;
    r.score = score_;
    r.reason = "fake";
    // Malformed: contributions that do not add up to the score.
    r.contributions = {{"all", mode_ == Mode::Malformed ? score_ / 2 : score_}};
    return r;
  }

 private:
  std::string name_;
  std::string version_ = "1";
  Mode mode_;
  double score_;
  bool slow_ = false;
  std::chrono::milliseconds pause_{0};
  std::optional<std::string> audit_;
  mutable std::atomic<int> runs_{0};
};

// A configured fake scorer: its fallback ("" for none) and budget (0 for none).
inline scoring::ScorerEntry fake_entry(std::string name, FakeScorer::Mode mode,
                                       std::string fallback = "", int budget_ms = 0,
                                       double score = 0.5) {
  scoring::ScorerEntry e;
  e.scorer = std::make_unique<FakeScorer>(std::move(name), mode, score);
  e.plugin = "fake";
  e.fallback = std::move(fallback);
  e.budget_ms = budget_ms;
  return e;
}

}  // namespace leadscore::testing
