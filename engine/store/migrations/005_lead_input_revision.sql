-- 005: the revision of what a lead's score is computed from. updated_at moves on every write of
-- a lead, storing a score included, so with analyses guarded by "updated_at is as I read it",
-- each analysis stored made every other one of the same lead, read before it, a conflict.
-- input_revision moves only when an input of the scorers changes (the columns of
-- domain::features_of: source, stage, business_domain, activity_count, the profile fields),
-- never when a score is written; an analysis is stored on its lead while the lead's
-- input_revision is the one it scored. updated_at keeps its meaning: the time of the last
-- change of any kind.
ALTER TABLE leads ADD COLUMN input_revision bigint NOT NULL DEFAULT 1;

-- Moved by the database itself, whichever statement changes an input (a new one, an operator's
-- UPDATE, a server of before this migration): no statement can forget it. A write that sets an
-- input to the value it already has changes no score and moves nothing.
CREATE FUNCTION leadscore_next_input_revision() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  NEW.input_revision := OLD.input_revision + 1;
  RETURN NEW;
END $$;

CREATE TRIGGER leads_input_revision BEFORE UPDATE ON leads FOR EACH ROW
  WHEN ((OLD.source, OLD.stage, OLD.business_domain, OLD.activity_count, OLD.name, OLD.email,
         OLD.role, OLD.company, OLD.industry, OLD.location, OLD.bio)
        IS DISTINCT FROM
        (NEW.source, NEW.stage, NEW.business_domain, NEW.activity_count, NEW.name, NEW.email,
         NEW.role, NEW.company, NEW.industry, NEW.location, NEW.bio))
  EXECUTE FUNCTION leadscore_next_input_revision();

-- 003's batched write, now guarded by input_revision (a_revision: the revision the analysis
-- scored). Two analyses of one lead may share a batch: both are stored, in a_n order. The
-- analysis time is taken once the lead's row lock is held (clock_timestamp(), re-evaluated by
-- PostgreSQL after a wait for the lock) and kept strictly increasing per lead, so that the
-- analyses of a lead are stored in the order of their times and the lead holds the newest.
-- The analysis row's created_at is the lead's new ai_analyzed_at.
--
-- batch: [{a_n, a_lead, a_revision, a_score, a_recommendation, a_reason, a_scorer,
--          a_scorer_version, a_role, a_actor, a_features, a_result, a_contributions,
--          a_latency_ms}]
-- A batch of the form before this migration (a_seen, the updated_at as read, instead of
-- a_revision), as a server not yet upgraded sends it, is guarded by updated_at as it was.
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
      a_contributions jsonb, a_latency_ms float8)
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
                            contributions, latency_ms, error, created_at)
        VALUES (item.a_lead, item.a_scorer, item.a_scorer_version, item.a_role, item.a_actor,
                item.a_features, item.a_result, item.a_contributions, item.a_latency_ms, NULL,
                found_lead.ai_analyzed_at);
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
