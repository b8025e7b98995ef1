-- 008: background scoring jobs. A job selects its leads once, when it is created (job_leads),
-- and each of them is scored at most once by it: runners of any number of servers claim
-- pending leads with row locks (FOR UPDATE SKIP LOCKED), hold them under a lease, and mark
-- them done or failed. A claim whose lease ran out belongs to a runner that went away; it is
-- claimed again, unless the job's analysis of that lead was already stored (job_queries.cpp).
CREATE TABLE jobs (
  id           bigserial PRIMARY KEY,
  status       text NOT NULL DEFAULT 'queued'
               CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled',
                                 'interrupted')),
  scorer       text,            -- NULL: the primary scorer
  filter       jsonb NOT NULL,  -- as given: {stage?, source?, min_score?, ..., unscored?}
  total        bigint NOT NULL DEFAULT 0 CHECK (total >= 0),
  done         bigint NOT NULL DEFAULT 0 CHECK (done >= 0),
  failed       bigint NOT NULL DEFAULT 0 CHECK (failed >= 0),
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz,
  -- The last time a runner claimed leads of the job or found none left: a job `running` with
  -- an old heartbeat has no server working on it (interrupted at the next server's start).
  heartbeat_at timestamptz,
  error        text
);
-- Runners look for the jobs to work on.
CREATE INDEX jobs_active ON jobs (id) WHERE status IN ('queued', 'running');

CREATE TABLE job_leads (
  job_id      bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  lead_id     bigint NOT NULL,  -- no foreign key: a deleted lead fails in its job, as not found
  state       text NOT NULL DEFAULT 'pending'
              CHECK (state IN ('pending', 'claimed', 'done', 'failed')),
  claimed_by  text,             -- the runner's server
  lease_until timestamptz,      -- a claim is another runner's to take after this
  error       text,             -- why the lead failed
  PRIMARY KEY (job_id, lead_id)
);
-- What is left of a job, in lead order: claims look only here.
CREATE INDEX job_leads_open ON job_leads (job_id, lead_id) WHERE state IN ('pending', 'claimed');
