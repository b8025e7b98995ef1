-- 013: live champion/challenger experiments (config `experiments`).
--
-- Every analysis row records the experiment its lead was in and the lead's arm, when its
-- primary scorer was the arm's (the failed runs and shadow runs of that analysis too); NULL
-- otherwise, and for every row written before.
ALTER TABLE analyses ADD COLUMN experiment text, ADD COLUMN arm text;
-- The experiment's report reads the newest run of each scorer on each lead of an experiment.
-- Partial: analyses outside any experiment pay nothing for it.
CREATE INDEX analyses_experiment ON analyses (experiment, lead_id, scorer, id)
  WHERE experiment IS NOT NULL;

-- A lead's arm in an experiment, stored on its first analysis in the experiment and never
-- changed: a later change of the split (weights, arms) never moves a lead already assigned.
-- bucket is the lead's bucket (0..9999) of the experiment's hash; split the weights in force
-- when it was assigned ("control:50,challenger:50"), so that the sample-ratio check compares
-- the leads of one split with that split. Kept when the experiment stops or leaves the config;
-- gone with its lead.
CREATE TABLE experiment_assignments (
  experiment  text NOT NULL,
  lead_id     bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  arm         text NOT NULL,
  bucket      int NOT NULL CHECK (bucket >= 0 AND bucket < 10000),
  split       text NOT NULL,
  assigned_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment, lead_id)
);

-- 010's batched write, now with each analysis's experiment and arm (a_experiment, a_arm, or
-- absent). A batch of an earlier form (without them, as a server not yet upgraded sends it) is
-- written as before.
--
-- batch: [{a_n, a_lead, a_revision, a_score, a_recommendation, a_reason, a_scorer,
--          a_scorer_version, a_role, a_actor, a_features, a_result, a_contributions,
--          a_latency_ms, a_audit?, a_request_id?, a_experiment?, a_arm?}]
-- One row per analysis whose lead exists: 'stored' with the lead as written, or 'final' /
-- 'changed' (nothing written) with the lead as it is.
CREATE OR REPLACE FUNCTION leadscore_record_analyses(batch jsonb)
  RETURNS TABLE (a_n int, outcome text, lead leads)
  LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  item record;
  found_lead leads;
BEGIN
  FOR item IN
    SELECT * FROM jsonb_to_recordset(batch) AS i(a_n int, a_lead bigint, a_revision bigint,
      a_seen timestamptz, a_score float8, a_recommendation text, a_reason text, a_scorer text,
      a_scorer_version text, a_role text, a_actor text, a_features jsonb, a_result jsonb,
      a_contributions jsonb, a_latency_ms float8, a_audit jsonb, a_request_id text,
      a_experiment text, a_arm text)
    -- In the order of the leads' ids, as every batch does: two batches being written at once
    -- lock the leads they share in the same order, and cannot deadlock.
    ORDER BY a_lead, a_n
  LOOP
    UPDATE leads SET ai_score = item.a_score, ai_recommendation = item.a_recommendation,
        ai_reason = item.a_reason, ai_scorer = item.a_scorer,
        ai_scorer_version = item.a_scorer_version,
        ai_analyzed_at = greatest(clock_timestamp(), ai_analyzed_at + interval '1 microsecond'),
        updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
      WHERE id = item.a_lead AND stage NOT IN ('transferred', 'lost')
        AND CASE WHEN item.a_revision IS NOT NULL THEN input_revision = item.a_revision
                 ELSE updated_at = item.a_seen END
      RETURNING * INTO found_lead;
    IF FOUND THEN
      INSERT INTO analyses (lead_id, scorer, scorer_version, role, actor, features, result,
                            contributions, latency_ms, error, audit, request_id, experiment, arm,
                            created_at)
        VALUES (item.a_lead, item.a_scorer, item.a_scorer_version, item.a_role, item.a_actor,
                item.a_features, item.a_result, item.a_contributions, item.a_latency_ms, NULL,
                CASE WHEN jsonb_typeof(item.a_audit) = 'null' THEN NULL ELSE item.a_audit END,
                item.a_request_id, item.a_experiment, item.a_arm, found_lead.ai_analyzed_at);
      a_n := item.a_n;
      outcome := 'stored';
      lead := found_lead;
      RETURN NEXT;
    ELSE
      SELECT * INTO found_lead FROM leads WHERE id = item.a_lead;
      IF FOUND THEN
        a_n := item.a_n;
        outcome := CASE WHEN found_lead.stage IN ('transferred', 'lost') THEN 'final'
                        ELSE 'changed' END;
        lead := found_lead;
        RETURN NEXT;
      END IF;
    END IF;
  END LOOP;
END $$;
