// What a scorer sees of a lead (Features) and what it answers (ScoreResult), and the record
// of one scorer run (Analysis). Pure values; safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/domain/experiment.h"
#include "engine/domain/lead.h"
#include "engine/domain/offer.h"

namespace leadscore::domain {

// The features passed to a scorer: never the id, dates or earlier scores, so that each
// analysis is independent of time and of the scores before it; and the active offer.
struct Features {
  std::string source;
  LeadStage stage = LeadStage::New;
  std::int64_t activity_count = 0;
  std::optional<std::string> business_domain;
  Profile profile;
  // The offer active when the lead was scored; nullptr when none was. Shared, never copied.
  std::shared_ptr<const OfferView> offer;
};

Features features_of(const Lead& lead, std::shared_ptr<const OfferView> offer = nullptr);

// One rule's part of a score. The contributions of a result add up to its score.
struct Contribution {
  std::string rule;
  double points = 0;
};

struct ScoreResult {
  double score = 0;
  Recommendation recommendation = Recommendation::ContinueQualification;
  std::string reason;
  std::vector<Contribution> contributions;
  // A scorer's own buying-intent label ("High", "Medium", "Low", ...), when it has one.
  std::optional<std::string> intent;
};

// One scorer run, kept append-only: the result, or the error when the run failed.
struct Analysis {
  std::int64_t id = 0;
  std::int64_t lead_id = 0;
  std::string scorer;
  std::string scorer_version;
  std::string role = "primary";  // primary | shadow | adhoc
  std::string actor;             // the API key name that asked for it
  // The request that caused it (X-Request-Id), or "job:<id>"; nullopt when neither is known.
  std::optional<std::string> request_id;
  Features features;
  std::optional<ScoreResult> result;
  std::optional<std::string> error;
  // The scorer's audit of the run (an LLM's prompt version, model, tokens, raw answer), a JSON
  // object text; kept for a failed run too. nullopt when the scorer kept none.
  std::optional<std::string> audit;
  double latency_ms = 0;
  std::string created_at;  // RFC 3339, UTC; set by the store
  // The live experiment the lead was in when it was analyzed, and the lead's arm: set on every
  // row of an analysis whose primary scorer its arm chose (its failed runs and shadow runs
  // too); nullopt otherwise.
  std::optional<std::string> experiment;
  std::optional<std::string> arm;
  // Set when `arm` is the split's proposal for a lead not known to be assigned yet: the write
  // that stores the analysis on its lead stores the assignment too (unless the lead has one),
  // and stores the analysis only if the lead's arm, new or old, is `arm` (else Conflict).
  std::optional<ArmProposal> assigning;
};

}  // namespace leadscore::domain
