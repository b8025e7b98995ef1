// The PostgreSQL store of leads, sales, stage events, analyses, offers, API keys, scoring
// jobs and the webhook outbox (libpq).
//
// Threading: a Database is safe to use from any thread; it owns a fixed pool of connections.
// A Session is one connection leased from the pool, for one thread at a time: take one with
// Database::session(), use it, let it go (before the Database goes). Every statement is
// parametrised and prepared once per connection. Each stage change and each handoff is one
// transaction holding the lead's row lock, so concurrent requests can never create two sales
// or skip a check. No method throws: failures are Errors (Unavailable when the database
// cannot be reached; Internal, with the PostgreSQL message for the log, when a statement fails
// unexpectedly).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/domain/analysis.h"
#include "engine/domain/error.h"
#include "engine/domain/experiment.h"
#include "engine/domain/handoff.h"
#include "engine/domain/job.h"
#include "engine/domain/lead.h"
#include "engine/domain/lead_input.h"
#include "engine/domain/offer.h"
#include "engine/domain/webhook_event.h"

namespace leadscore::store {

using domain::Error;
template <typename T>
using Result = std::expected<T, Error>;

// GET /leads filters; unset members do not filter.
struct LeadFilter {
  std::optional<domain::LeadStage> stage;
  std::optional<std::string> source;
  std::optional<double> min_score;  // inclusive
  std::optional<double> max_score;  // inclusive
  std::optional<domain::Recommendation> recommendation;
};

// The order of GET /leads: oldest first (ascending id, the default) or newest first.
enum class LeadOrder { Oldest, Newest };

// GET /sales filters; unset members do not filter.
struct SaleFilter {
  std::optional<std::int64_t> lead_id;
  std::optional<domain::SaleStage> stage;
};

// Keyset paging by id (ascending, or descending for LeadOrder::Newest): `after_id` is the last
// id of the previous page.
struct PageRequest {
  std::optional<std::int64_t> after_id;
  int limit = 50;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<std::int64_t> next_after_id;  // set when more items may follow
};

struct StageEvent {
  std::optional<domain::LeadStage> from;  // nullopt for the creation event
  domain::LeadStage to = domain::LeadStage::New;
  std::string actor;
  std::optional<std::string> request_id;  // the request that made the change, when known
  std::string at;                         // RFC 3339, UTC
};

struct LeadHistory {
  std::vector<StageEvent> stage_events;    // oldest first
  std::vector<domain::Analysis> analyses;  // oldest first
};

// The outcome of a stage change; `sale` is set when the change was the handoff.
struct StageChange {
  domain::Lead lead;
  std::optional<domain::Sale> sale;
};

enum class Role { Viewer, Manager, Analyst, Admin };
std::string_view to_string(Role role);
std::optional<Role> parse_role(std::string_view text);

struct ApiKey {
  std::string name;
  Role role = Role::Viewer;
  std::string key_hash;  // hex SHA-256 of the key
  std::string created_at;
};

// One analysis to record on its lead, as Session::record_analysis(*seen, *analysis, true).
struct AnalysisToRecord {
  const domain::Lead* seen = nullptr;
  const domain::Analysis* analysis = nullptr;
};

// A row a set write appends (Session::record_analysis_set): a failed run, or a shadow run that
// belongs with the analysis stored on the same lead.
struct AnalysisToAppend {
  const domain::Analysis* analysis = nullptr;
  bool only_if_stored = false;  // appended only when the lead's analysis of the set was stored
};

// What a set write did with one analysis meant for its lead.
enum class SetOutcome {
  Stored,   // on the lead, and appended to its history
  Final,    // the lead is transferred or lost: nothing written
  Changed,  // the lead's inputs changed since it was read: nothing written
  Missing,  // no such lead
};

// The active offer as of one revision of the offers. Every committed offer write moves the
// revision forward, and offer writes commit one at a time: of two states, the one with the
// larger revision is the later.
struct ActiveOffer {
  std::int64_t revision = 0;
  std::optional<domain::Offer> offer;  // nullopt when no offer is active
};

// The outcome of an offer write: the offer as stored, and the active offer once it committed.
struct OfferChange {
  domain::Offer offer;
  ActiveOffer active;
};

// What one outcome of a job's lead is: done (no error) or failed (the error).
struct JobLeadOutcome {
  std::int64_t lead_id = 0;
  std::optional<std::string> error;
};

// A batch of a job's leads claimed by a runner: the batch, and its leads left to score
// (ascending; none when every one of them was found scored already).
struct JobClaim {
  std::int64_t batch = 0;
  std::vector<std::int64_t> lead_ids;
};

// Which configured webhooks subscribe to each event type (by name, in config order). A change
// writes its event to the outbox, in its own transaction, with one delivery per webhook
// subscribed to the event's type; with none subscribed, nothing is written.
struct WebhookSubscriptions {
  std::array<std::vector<std::string>, domain::kEventTypeCount> webhooks;  // by EventType

  std::vector<std::string>& of(domain::EventType type) {
    return webhooks[static_cast<std::size_t>(type)];
  }
  const std::vector<std::string>& of(domain::EventType type) const {
    return webhooks[static_cast<std::size_t>(type)];
  }
};

// One attempt to deliver a webhook event: the HTTP status answered, or the error when there
// was no answer (connection refused, timeout, ...).
struct WebhookAttempt {
  std::string at;  // RFC 3339, UTC
  std::optional<int> status_code;
  std::optional<std::string> error;
  double latency_ms = 0;
  std::string server;  // the dispatcher that made it
};

// One event to one webhook, with every attempt made so far.
struct WebhookDelivery {
  std::int64_t id = 0;
  std::int64_t event_id = 0;
  domain::EventType event_type = domain::EventType::LeadTransferred;
  std::string webhook;
  std::int64_t lead_id = 0;
  domain::DeliveryStatus status = domain::DeliveryStatus::Pending;
  int attempt_count = 0;
  std::string created_at;       // RFC 3339, UTC: the event's
  std::string next_attempt_at;  // RFC 3339, UTC: meaningful while pending or failed
  std::optional<std::string> delivered_at;
  std::optional<std::string> last_error;
  std::vector<WebhookAttempt> attempts;  // oldest first
};

// GET /webhooks/deliveries filters; unset members do not filter.
struct WebhookDeliveryFilter {
  std::optional<domain::DeliveryStatus> status;
  std::optional<std::string> webhook;
  std::optional<domain::EventType> event_type;
};

// A delivery a dispatcher claimed: what it sends.
struct ClaimedDelivery {
  std::int64_t id = 0;
  std::int64_t event_id = 0;
  domain::EventType event_type = domain::EventType::LeadTransferred;
  std::string webhook;
  std::string event_created_at;  // RFC 3339, UTC
  std::string data;              // the event's data, a JSON object
  int attempts = 0;              // made before this one
  // How long it has waited, by the database's clock: since its event was created, or since an
  // operator last asked to send it again (the give-up age counts this).
  std::chrono::milliseconds age{0};
};

// What one attempt came to, and what becomes of the delivery.
struct DeliveryAttemptOutcome {
  std::optional<int> status_code;
  std::optional<std::string> error;
  double latency_ms = 0;
  // Delivered, Dead, or Failed: attempted again after `retry_in`.
  domain::DeliveryStatus next = domain::DeliveryStatus::Failed;
  std::chrono::milliseconds retry_in{0};
};

// The leads assigned to each arm of one experiment, and what became of them: transferred (a
// sale exists), and of those paid or lost; analysed: with a primary analysis of the arm that
// gave a result.
struct ExperimentArmCounts {
  std::string arm;
  std::int64_t assigned = 0;
  std::int64_t assigned_in_split = 0;  // of them, assigned under the split asked about
  std::int64_t analysed = 0;
  std::int64_t transferred = 0;
  std::int64_t paid = 0;
  std::int64_t lost = 0;
};

// The newest run of one scorer on one lead of an experiment that gave a result, with the lead's
// outcome: its sale's stage ("paid", "lost", another stage; nullopt when it has no sale).
struct ExperimentScore {
  std::int64_t lead_id = 0;
  std::string scorer;
  double score = 0;
  domain::Recommendation recommendation = domain::Recommendation::ContinueQualification;
  std::optional<domain::SaleStage> sale_stage;
};

// What the report of an experiment is made of (experiment_queries.cpp).
struct ExperimentReportData {
  std::vector<ExperimentArmCounts> arms;  // by arm name; only arms with leads
  std::vector<ExperimentScore> scores;    // by lead id, then scorer
};

// The report of scorers against closed sales (scorer_report_queries.cpp): one scorer version's
// latest analysis of one lead in the window, and the lead's sale stage then (none: never
// handed off).
struct ReportedRun {
  std::int64_t lead_id = 0;
  std::optional<double> score;  // nullopt when that run failed
  std::optional<domain::Recommendation> recommendation;
  std::optional<domain::SaleStage> sale;
};

// The runs of one scorer version (analyses.scorer, analyses.scorer_version) in the window.
struct ScorerVersionRuns {
  std::string scorer;
  std::string version;
  std::size_t analyses = 0;  // rows in the window, every run of every lead
  std::string first_at;      // RFC 3339, UTC: its first and last analysis in the window
  std::string last_at;
  std::vector<ReportedRun> leads;  // one per lead, by lead id
};

// The window of a report: analyses with since <= created_at < until (RFC 3339 or a date, as
// PostgreSQL reads a timestamptz); unset: until now, since 30 days before until.
struct ReportWindow {
  std::optional<std::string> since;
  std::optional<std::string> until;
};

// The window as the database resolved it, and every scorer version that ran in it, by name and
// version.
struct ScorerRunsInWindow {
  std::string since;  // RFC 3339, UTC
  std::string until;
  std::vector<ScorerVersionRuns> versions;
};

class Session;

class Database {
 public:
  // Connects `pool_size` connections to `url` (a libpq conninfo or postgresql:// URL).
  // With a `statement_deadline`, a statement not answered within it fails at once as
  // Unavailable, its connection abandoned (reconnected on its next lease by session()): for
  // connections of a thread that must never wait long on the database, whatever the server or
  // the network does.
  static Result<std::unique_ptr<Database>> connect(
      const std::string& url, int pool_size, std::chrono::milliseconds statement_deadline = {});
  ~Database();

  // Leases a connection, waiting up to `wait` for one to be free; Unavailable on timeout
  // or when the database cannot be reached. A broken connection is reconnected on lease.
  Result<Session> session(std::chrono::milliseconds wait = std::chrono::seconds(5));
  // Leases a connection that is free and idle now (connected, no statement in flight nor
  // abandoned at its deadline), without waiting, reconnecting or any system call; nullopt
  // otherwise. One that is not idle is left for session(), which reconnects it. A connection
  // the server has just closed may still be leased: its first statement fails as Unavailable.
  std::optional<Session> try_session();

  // Applies the numbered migrations (migrations/NNN_*.sql) not yet applied, in order, each
  // in its own transaction; returns the names applied. Safe to run concurrently.
  Result<std::vector<std::string>> migrate();

  int pool_size() const;
  // The webhooks each event type is written for, from now on (every connection of this
  // Database). Any thread; none until set.
  void set_webhook_subscriptions(WebhookSubscriptions subscriptions);
  std::shared_ptr<const WebhookSubscriptions> webhook_subscriptions() const;
  // Cancels every statement running now (they fail as Unavailable): a stopping server does
  // not wait for long ones. Any thread.
  void cancel_running();

  struct Impl;

 private:
  explicit Database(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Session {
 public:
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();  // returns the connection to the pool

  // Readiness: a round trip to the server.
  Result<void> ping();

  // Leads. `actor` is the API key name recorded on stage events, `request_id` the request that
  // made the change (X-Request-Id), recorded beside it when given.
  Result<domain::Lead> create_lead(const domain::NewLead& lead, const std::string& actor,
                                   const std::optional<std::string>& request_id = std::nullopt);
  // Creates every lead of `leads` (checked with domain::validate) with its creation event, in
  // one statement and one transaction: all or none. Their ids, ascending, in the input's order.
  Result<std::vector<std::int64_t>> create_leads(
      std::span<const domain::NewLead> leads, const std::string& actor,
      const std::optional<std::string>& request_id = std::nullopt);
  Result<domain::Lead> get_lead(std::int64_t id);
  // The leads of `ids` that exist, in id order, in one statement.
  Result<std::vector<domain::Lead>> get_leads(std::span<const std::int64_t> ids);
  // Ids are given in creation order, so Newest is descending id; a page's next_after_id
  // continues in the same order.
  Result<Page<domain::Lead>> list_leads(const LeadFilter& filter, const PageRequest& page,
                                        LeadOrder order = LeadOrder::Oldest);
  // NotFound, LeadFinal.
  Result<domain::Lead> update_lead(std::int64_t id, const domain::LeadPatch& patch);
  // NotFound, LeadFinal, Validation (count < 1).
  Result<domain::Lead> add_activity(std::int64_t id, std::int64_t count);
  // Sets activity_count to `count` (a messaging system's sync). NotFound, LeadFinal,
  // Validation (count < 0).
  Result<domain::Lead> set_activity(std::int64_t id, std::int64_t count);
  // NotFound, LeadFinal, InvalidTransition, HandoffRejected (all failed checks).
  // Reaching `transferred` creates the sale in the same transaction.
  Result<StageChange> change_lead_stage(
      std::int64_t id, domain::LeadStage to, const std::string& actor,
      const domain::HandoffPolicy& policy,
      const std::optional<std::string>& request_id = std::nullopt);
  // NotFound, Conflict when the lead has a sale.
  Result<void> delete_lead(std::int64_t id);
  Result<LeadHistory> lead_history(std::int64_t id);

  // Analyses. Appends the analysis row and, when `store_on_lead` and it has a result,
  // writes the result onto the lead (ai_* fields) in the same statement — but only if the
  // lead's inputs are unchanged since `seen` was read (same input_revision); otherwise
  // Conflict, so the caller re-reads and scores again. Other analyses of the lead, stored
  // meanwhile, are no conflict: they change no input, and each is kept (the lead holds the
  // newest). NotFound, LeadFinal, Conflict; on those nothing is written (the caller may keep
  // the run with append_analysis). Returns the lead as stored; its ai_analyzed_at is the
  // analysis row's created_at, later than that of every analysis stored on the lead before.
  // Without a result or without `store_on_lead`, only appends the row (NotFound if the lead
  // is missing).
  Result<domain::Lead> record_analysis(const domain::Lead& seen, const domain::Analysis& analysis,
                                       bool store_on_lead);
  // Records each analysis of `batch` as record_analysis(seen, analysis, true) would, in one
  // statement (one round trip, one commit): the outcomes, in the batch's order (analyses of
  // the same lead are stored in that order). An analysis that PostgreSQL refuses fails alone
  // (the batch is then written one by one); Unavailable fails them all.
  std::vector<Result<domain::Lead>> record_analyses(std::span<const AnalysisToRecord> batch);
  // Appends an analysis row only (shadow runs, failed runs).
  Result<void> append_analysis(const domain::Analysis& analysis);
  // The write of a whole batch of analyses of distinct leads (a job's claim) in one statement
  // and one commit, by set rather than row by row: each of `on_leads` as
  // record_analysis(seen, analysis, true) would — stored on its lead only while the lead's
  // input_revision is still seen's — and each of `appended` as a row of its lead's history
  // (none for a missing lead). The outcomes of `on_leads`, in order. Validation when two of
  // `on_leads` are of one lead or have no result, or a text is not UTF-8 (nothing written).
  Result<std::vector<SetOutcome>> record_analysis_set(std::span<const AnalysisToRecord> on_leads,
                                                      std::span<const AnalysisToAppend> appended);

  // Experiments (experiment_queries.cpp). Stores the arm of each lead of `proposals` that has
  // none in `experiment` yet (with `split`, the weights in force), in one statement, and answers
  // each lead's arm as stored, in order: its own first arm for a lead assigned before; nullopt
  // for a lead that does not exist. Its own transaction, whose commit does not wait for the
  // disk (the analysis stored after it does): never call it inside a transaction.
  Result<std::vector<std::optional<std::string>>> assign_experiment_arms(
      const std::string& experiment, const std::string& split,
      std::span<const domain::ArmAssignment> proposals);
  // The leads assigned to each arm of each experiment: {experiment, arm} -> count.
  Result<std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>>>
  experiment_assigned_counts();
  // Every figure of the report of `experiment`; `split`: the split now in force.
  Result<ExperimentReportData> experiment_report_data(const std::string& experiment,
                                                      const std::string& split);

  // Sales.
  Result<domain::Sale> get_sale(std::int64_t id);
  // The sale of lead `lead_id`, in one statement; NotFound saying whether the lead is missing
  // or has no sale.
  Result<domain::Sale> get_lead_sale(std::int64_t lead_id);
  Result<Page<domain::Sale>> list_sales(const SaleFilter& filter, const PageRequest& page);
  // NotFound, InvalidTransition (including from a final stage).
  Result<domain::Sale> change_sale_stage(
      std::int64_t id, domain::SaleStage to, const std::string& actor,
      const std::optional<std::string>& request_id = std::nullopt);

  // Offers. At most one is active: a write that makes one active deactivates the one before in
  // the same transaction. Offer writes run one at a time (each takes the revision's row lock
  // first), so concurrent activations leave exactly one active: the last to commit. Writes
  // check the input with domain::validate (Validation naming the field).
  Result<OfferChange> create_offer(const domain::OfferInput& offer);
  Result<domain::Offer> get_offer(std::int64_t id);
  Result<Page<domain::Offer>> list_offers(const PageRequest& page);
  // Replaces every field a caller sets (PUT); NotFound.
  Result<OfferChange> replace_offer(std::int64_t id, const domain::OfferInput& offer);
  // The active offer after the delete; NotFound.
  Result<ActiveOffer> delete_offer(std::int64_t id);
  // The active offer now, in one statement (one round trip).
  Result<ActiveOffer> active_offer();

  // API keys. Conflict on a duplicate name; NotFound on delete of an unknown one.
  Result<ApiKey> create_api_key(const std::string& name, Role role, const std::string& key_hash);
  Result<std::vector<ApiKey>> list_api_keys();
  // The key with this hash (authentication); NotFound when there is none.
  Result<ApiKey> find_api_key(const std::string& key_hash);
  Result<void> delete_api_key(const std::string& name);

  // The latest analysis of each lead by each scorer version in the window, with the lead's sale
  // stage (scorer_report_queries.cpp): one set-based statement over the index of migration 014.
  // `window`'s times must be ones PostgreSQL reads (analysis::parse_report_time checks them).
  Result<ScorerRunsInWindow> scorer_runs(const ReportWindow& window);
  // The sale stage of each lead of `lead_ids` that has a sale (the outcome a comparison
  // measures against), by lead id, in one statement.
  Result<std::vector<std::pair<std::int64_t, domain::SaleStage>>> sale_stages(
      std::span<const std::int64_t> lead_ids);

  // Scoring jobs (job_queries.cpp). A job selects its leads when it is created, split into
  // batches; runners of any number of servers claim a batch at a time (FOR UPDATE SKIP LOCKED)
  // under a lease named by the runner, and finish it with each lead done or failed, so each
  // lead is scored at most once per job.
  //
  // Creates a job over the leads `filter` selects now (never a lead in a final stage: it
  // cannot be scored), in batches of `batch_size` leads, `queued`, or `done` at once when it
  // selects none.
  Result<domain::Job> create_job(const domain::JobFilter& filter,
                                 const std::optional<std::string>& scorer,
                                 const std::string& created_by, int batch_size = 1000);
  Result<domain::Job> get_job(std::int64_t id);
  // In id order, paged like leads.
  Result<Page<domain::Job>> list_jobs(const PageRequest& page);
  // The jobs runners work on (queued or running), oldest first.
  Result<std::vector<domain::Job>> active_jobs();
  // Stops a queued, running or interrupted job: no batch of it is claimed any more (those
  // claimed already finish). NotFound; Conflict when it has ended.
  Result<domain::Job> cancel_job(std::int64_t id);
  // Runs an interrupted job again: its leads not yet done are claimed again (a lead whose
  // analysis by the job was stored counts as done). NotFound; Conflict unless interrupted.
  Result<domain::Job> resume_job(std::int64_t id);
  // Ends a job that cannot run (its scorer is gone) as `failed`, with `error`.
  Result<void> fail_job(std::int64_t id, const std::string& error);
  // Marks `interrupted` every running job that no runner has touched for `lease`: the servers
  // running it went away. Their ids.
  Result<std::vector<std::int64_t>> interrupt_stale_jobs(std::chrono::milliseconds lease);
  // Claims the first open batch of a queued or running job for `runner`, until now + `lease`
  // (the job becomes running): a pending batch, or a claimed one whose lease ran out — of
  // whose leads those with an analysis by the job stored count as done and are not returned.
  // None when the job is not active or nothing is left to claim.
  Result<std::optional<JobClaim>> claim_job_batch(std::int64_t job_id, const std::string& runner,
                                                  std::chrono::milliseconds lease);
  // Extends the leases of `runner`'s claims in the job to now + `lease`.
  Result<void> extend_job_leases(std::int64_t job_id, const std::string& runner,
                                 std::chrono::milliseconds lease);
  // Finishes `runner`'s claim of `batch`: `outcomes` are added to the job's counts (and the
  // failures kept with the batch), the leads of `unstarted` (a stopping server) go back as a new
  // batch; the job is done once every lead is. Nothing changes when the batch is no longer
  // `runner`'s claim (its lease ran out and another runner took it).
  Result<void> finish_job_batch(std::int64_t job_id, const std::string& runner, std::int64_t batch,
                                std::span<const JobLeadOutcome> outcomes,
                                std::span<const std::int64_t> unstarted = {});

  // The webhook outbox (webhook_queries.cpp). Events are written by the changes above, in
  // their transactions (Database::set_webhook_subscriptions). Dispatchers of any number of
  // servers claim due deliveries with row locks (FOR UPDATE SKIP LOCKED) under a lease named
  // by the dispatcher, so each is attempted by one at a time; a delivery is never claimed while
  // an earlier one of the same lead to the same webhook is unsettled (pending or failed), so a
  // webhook receives a lead's events in order.
  //
  // Claims up to `limit` due deliveries to the webhooks named in `webhooks` for `dispatcher`,
  // until now + `lease`: oldest due first.
  Result<std::vector<ClaimedDelivery>> claim_webhook_deliveries(
      std::span<const std::string> webhooks, const std::string& dispatcher, int limit,
      std::chrono::milliseconds lease);
  // Records an attempt of a delivery `dispatcher` claimed, and settles it as the outcome says
  // (releasing the claim). A delivery no longer claimed by `dispatcher` keeps its state; the
  // attempt is recorded all the same.
  Result<void> record_webhook_attempt(std::int64_t delivery_id, const std::string& dispatcher,
                                      const DeliveryAttemptOutcome& outcome);
  // Gives `dispatcher`'s claims back (a stopping server): due again at once.
  Result<void> release_webhook_deliveries(const std::string& dispatcher);
  // In id order, paged like leads, each with its attempts.
  Result<Page<WebhookDelivery>> list_webhook_deliveries(const WebhookDeliveryFilter& filter,
                                                        const PageRequest& page);
  Result<WebhookDelivery> get_webhook_delivery(std::int64_t id);
  // Sends a dead or failed delivery again: pending, due now, its give-up age counted from now.
  // NotFound; Conflict when it was delivered.
  Result<WebhookDelivery> retry_webhook_delivery(std::int64_t id);

  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace leadscore::store
