-- 016: a lead's first analysis in an experiment stores the lead's arm in its own write.
--
-- 013's batched write, now taking with an analysis the arm it gives its lead (a_bucket and
-- a_split beside a_experiment and a_arm): the assignment is stored unless the lead has one,
-- and the analysis is stored only if the lead's arm, given now or found, is a_arm; otherwise
-- nothing is written and the outcome is 'changed', so that the server asks the lead's arm and
-- scores it again. A batch without them (an analysis whose arm was known, or a server not yet
-- upgraded) is written as before.
--
-- batch: [{a_n, a_lead, a_revision, a_score, a_recommendation, a_reason, a_scorer,
--          a_scorer_version, a_role, a_actor, a_features, a_result, a_contributions,
--          a_latency_ms, a_audit?, a_request_id?, a_experiment?, a_arm?, a_bucket?, a_split?}]
-- One row per analysis whose lead exists: 'stored' with the lead as written, or 'final' /
-- 'changed' (nothing written) with the lead as it is.
CREATE OR REPLACE FUNCTION leadscore_record_analyses(batch jsonb)
  RETURNS TABLE (a_n int, outcome text, lead leads)
  LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  item record;
  found_lead leads;
  arm_held boolean;
BEGIN
  FOR item IN
    SELECT * FROM jsonb_to_recordset(batch) AS i(a_n int, a_lead bigint, a_revision bigint,
      a_seen timestamptz, a_score float8, a_recommendation text, a_reason text, a_scorer text,
      a_scorer_version text, a_role text, a_actor text, a_features jsonb, a_result jsonb,
      a_contributions jsonb, a_latency_ms float8, a_audit jsonb, a_request_id text,
      a_experiment text, a_arm text, a_bucket int, a_split text)
    -- In the order of the leads' ids, as every batch does: two batches being written at once
    -- lock the leads they share in the same order, and cannot deadlock.
    ORDER BY a_lead, a_n
  LOOP
    arm_held := true;
    IF item.a_bucket IS NOT NULL THEN
      INSERT INTO experiment_assignments (experiment, lead_id, arm, bucket, split)
        SELECT item.a_experiment, l.id, item.a_arm, item.a_bucket, item.a_split FROM leads l
        WHERE l.id = item.a_lead AND l.stage NOT IN ('transferred', 'lost')
        ON CONFLICT (experiment, lead_id) DO NOTHING;
      -- Not inserted: the lead has an arm (read with a snapshot of its own, which sees one
      -- another server committed meanwhile), or it is final or gone.
      IF NOT FOUND THEN
        arm_held := EXISTS (SELECT 1 FROM experiment_assignments x
                            WHERE x.experiment = item.a_experiment AND x.lead_id = item.a_lead
                              AND x.arm = item.a_arm);
      END IF;
    END IF;
    IF arm_held THEN
      UPDATE leads SET ai_score = item.a_score, ai_recommendation = item.a_recommendation,
          ai_reason = item.a_reason, ai_scorer = item.a_scorer,
          ai_scorer_version = item.a_scorer_version,
          ai_analyzed_at = greatest(clock_timestamp(), ai_analyzed_at + interval '1 microsecond'),
          updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
        WHERE id = item.a_lead AND stage NOT IN ('transferred', 'lost')
          AND CASE WHEN item.a_revision IS NOT NULL THEN input_revision = item.a_revision
                   ELSE updated_at = item.a_seen END
        RETURNING * INTO found_lead;
    END IF;
    IF arm_held AND FOUND THEN
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
