-- 003: the batched write of primary analyses (Session::record_analyses) as a function. Each
-- analysis of the batch is the guarded update of its lead, found by primary key, and the
-- insert of its analysis row, exactly as the single-analysis statement does. Written as one
-- statement instead, the batch was joined to leads with a plan that depended on the planner's
-- guess of the batch's size: under load it hashed a sequential scan of the whole table.
--
-- batch: [{a_n, a_lead, a_seen, a_score, a_recommendation, a_reason, a_scorer,
--          a_scorer_version, a_role, a_actor, a_features, a_result, a_contributions,
--          a_latency_ms}]
-- One row per analysis whose lead exists: 'stored' with the lead as written, or 'final' /
-- 'changed' (nothing written) with the lead as it is.
CREATE FUNCTION leadscore_record_analyses(batch jsonb)
  RETURNS TABLE (a_n int, outcome text, lead leads)
  LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  item record;
  found_lead leads;
BEGIN
  FOR item IN
    SELECT * FROM jsonb_to_recordset(batch) AS i(a_n int, a_lead bigint, a_seen timestamptz,
      a_score float8, a_recommendation text, a_reason text, a_scorer text, a_scorer_version text,
      a_role text, a_actor text, a_features jsonb, a_result jsonb, a_contributions jsonb,
      a_latency_ms float8)
    -- In the order of the leads' ids, as every batch does: two batches being written at once
    -- lock the leads they share in the same order, and cannot deadlock.
    ORDER BY a_lead
  LOOP
    -- updated_at moves strictly forward, as every change in the store makes it do.
    UPDATE leads SET ai_score = item.a_score, ai_recommendation = item.a_recommendation,
        ai_reason = item.a_reason, ai_scorer = item.a_scorer,
        ai_scorer_version = item.a_scorer_version, ai_analyzed_at = now(),
        updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
      WHERE id = item.a_lead AND updated_at = item.a_seen AND stage NOT IN ('transferred', 'lost')
      RETURNING * INTO found_lead;
    IF FOUND THEN
      INSERT INTO analyses (lead_id, scorer, scorer_version, role, actor, features, result,
                            contributions, latency_ms, error, created_at)
        VALUES (item.a_lead, item.a_scorer, item.a_scorer_version, item.a_role, item.a_actor,
                item.a_features, item.a_result, item.a_contributions, item.a_latency_ms, NULL,
                now());
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
