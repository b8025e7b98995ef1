-- 015: a job's leads are split into batches when it is created, and runners claim, lease and
-- finish a batch at a time: one row written per batch instead of two per lead (a claim and a
-- mark in job_leads). A batch's lease runs out like a lead's did: it is claimed again, and its
-- leads whose analysis by the job is stored count as done (job_queries.cpp). A runner that
-- stops with leads of a batch not started finishes the batch with the leads it did and puts
-- the rest back as a new batch.
CREATE TABLE job_batches (
  id          bigserial PRIMARY KEY,
  job_id      bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  lead_ids    bigint[] NOT NULL,  -- ascending; no foreign key: a deleted lead fails in its job
  state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'done')),
  claimed_by  text,               -- the runner's server
  lease_until timestamptz,        -- a claim is another runner's to take after this
  failures    jsonb               -- {lead id: why it failed}, once done
);
-- What is left of a job, in batch order: claims look only here.
CREATE INDEX job_batches_open ON job_batches (job_id, id) WHERE state <> 'done';

-- The leads of the jobs of an earlier version, kept as they were: pending leads become
-- pending batches; claimed ones a claim whose lease ran out (claimed again, their stored
-- analyses counted as done); done and failed ones a done batch that keeps the failures.
INSERT INTO job_batches (job_id, lead_ids, state, claimed_by, lease_until, failures)
SELECT job_id, array_agg(lead_id ORDER BY lead_id), state,
       CASE WHEN state = 'claimed' THEN 'upgrade' END,
       CASE WHEN state = 'claimed' THEN now() END,
       CASE WHEN state = 'done'
            THEN coalesce(jsonb_object_agg(lead_id::text, error) FILTER (WHERE error IS NOT NULL),
                          '{}'::jsonb) END
FROM (SELECT job_id, lead_id, error,
             CASE WHEN state IN ('done', 'failed') THEN 'done' ELSE state END AS state,
             (row_number() OVER (PARTITION BY job_id, state IN ('done', 'failed'), state
                                 ORDER BY lead_id) - 1) / 1000 AS part
      FROM job_leads) AS l
GROUP BY job_id, state, part;

DROP TABLE job_leads;
