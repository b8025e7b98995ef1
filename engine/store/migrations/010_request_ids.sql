-- 010: the request that caused an analysis or a stage change: its X-Request-Id (the id in the
-- server's request log line and in the answer's header), or "job:<id>" for a background job's
-- analyses. Nullable: rows written before, and by the offline commands, have none.
ALTER TABLE analyses ADD COLUMN request_id text;
ALTER TABLE stage_events ADD COLUMN request_id text;

-- 009's batched write, now with each analysis's request id (a_request_id, or absent). A batch
-- of an earlier form (without it, as a server not yet upgraded sends it) is written as before.
--
-- batch: [{a_n, a_lead, a_revision, a_score, a_recommendation, a_reason, a_scorer,
--          a_scorer_version, a_role, a_actor, a_features, a_result, a_contributions,
--          a_latency_ms, a_audit?, a_request_id?}]
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
      a_contributions jsonb, a_latency_ms float8, a_audit jsonb, a_request_id text)
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
                            contributions, latency_ms, error, audit, request_id, created_at)
        VALUES (item.a_lead, item.a_scorer, item.a_scorer_version, item.a_role, item.a_actor,
                item.a_features, item.a_result, item.a_contributions, item.a_latency_ms, NULL,
                CASE WHEN jsonb_typeof(item.a_audit) = 'null' THEN NULL ELSE item.a_audit END,
                item.a_request_id, found_lead.ai_analyzed_at);
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
