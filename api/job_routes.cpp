// Job routes: create a background scoring job over the leads a filter selects, read one, list
// them, cancel one, resume an interrupted one. The work itself is the job runner's
// (engine/analysis/job_runner.h), on every server of the database.
#include "api/handler_support.h"
#include "api/json_mapping.h"

namespace leadscore::api::routes {
namespace {

// The job filter of a POST /jobs/score body's `filter` object: checked as GET /leads checks
// its query (the members as text), plus `unscored`.
std::expected<domain::JobFilter, Error> job_filter(const Services& s, const json& body) {
  auto it = body.find("filter");
  if (it == body.end())
    return std::unexpected(Error::validation(
        "filter", "filter is required ({} selects every lead that is not transferred or lost)"));
  auto leads = lead_filter_object(s, *it, "filter", {"unscored"});
  if (!leads) return std::unexpected(leads.error());
  domain::JobFilter filter{leads->stage,     leads->source,         leads->min_score,
                           leads->max_score, leads->recommendation, std::nullopt};
  if (auto u = it->find("unscored"); u != it->end()) {
    if (!u->is_boolean())
      return std::unexpected(
          Error::validation("filter.unscored", "unscored must be true or false"));
    filter.unscored = u->get<bool>();
  }
  return filter;
}

// The body's `scorer`, one of the live scorers; nullopt: the primary.
std::expected<std::optional<std::string>, Error> job_scorer(const Services& s, const json& body) {
  auto it = body.find("scorer");
  if (it == body.end()) return std::nullopt;
  if (!it->is_string())
    return std::unexpected(Error::validation("scorer", "scorer must be a string"));
  const auto name = it->get<std::string>();
  if (s.scorers->current()->find(name) == nullptr)
    return std::unexpected(Error::validation("scorer", "unknown scorer " + quoted_name(name)));
  return name;
}

void wake_runner(const Services& s) {
  if (s.jobs != nullptr) s.jobs->wake();
}

}  // namespace

Reply create_job(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(r, {})) return fail(*e, r);
  auto body = object_body(r, {"filter", "scorer"});
  if (!body) return fail(body.error(), r);
  auto filter = job_filter(s, *body);
  if (!filter) return fail(filter.error(), r);
  auto scorer = job_scorer(s, *body);
  if (!scorer) return fail(scorer.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto job = session->create_job(*filter, *scorer, r.identity.name, s.config->jobs.batch_size);
  if (!job) return fail(job.error(), r);
  wake_runner(s);
  return json_reply(
      202, {{"id", job->id}, {"status", domain::to_string(job->status)}, {"total", job->total}});
}

Reply get_job(const Services& s, const ApiRequest& r) {
  return get_by_id(s, r,
                   [](store::Session& session, std::int64_t id) { return session.get_job(id); });
}

Reply list_jobs(const Services& s, const ApiRequest& r) {
  return list_by_page(s, r, [](store::Session& session, const store::PageRequest& page) {
    return session.list_jobs(page);
  });
}

Reply cancel_job(const Services& s, const ApiRequest& r) {
  return with_path_id(s, r, [&](store::Session& session, std::int64_t id) {
    auto job = session.cancel_job(id);
    if (!job) return fail(job.error(), r);
    return json_reply(200, to_json(*job));
  });
}

Reply resume_job(const Services& s, const ApiRequest& r) {
  if (auto body = object_body(r, {}, /*empty_is_object=*/true); !body) return fail(body.error(), r);
  return with_path_id(s, r, [&](store::Session& session, std::int64_t id) {
    auto job = session.resume_job(id);
    if (!job) return fail(job.error(), r);
    wake_runner(s);
    return json_reply(202, to_json(*job));
  });
}

}  // namespace leadscore::api::routes
