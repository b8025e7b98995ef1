-- 006: input_revision (005) moves on a change of any column of a lead except those a score or
-- the clock writes. 005 listed the input columns one by one, so a profile field added later
-- would have changed a lead without moving its revision, and an analysis read before the
-- change would have been stored on the changed lead. Every column of `leads` is now an input
-- of the scorers unless it is named here; a new lead field needs only its column.
DROP TRIGGER leads_input_revision ON leads;

CREATE FUNCTION leadscore_lead_inputs(lead leads) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT to_jsonb(lead) - ARRAY['id', 'ai_score', 'ai_recommendation', 'ai_reason',
                                      'ai_scorer', 'ai_scorer_version', 'ai_analyzed_at',
                                      'created_at', 'updated_at', 'input_revision'] $$;

CREATE TRIGGER leads_input_revision BEFORE UPDATE ON leads FOR EACH ROW
  WHEN (leadscore_lead_inputs(OLD) IS DISTINCT FROM leadscore_lead_inputs(NEW))
  EXECUTE FUNCTION leadscore_next_input_revision();
