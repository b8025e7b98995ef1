-- 006: input_revision (005) moves on a change of any column of a lead except those a score or
-- the clock writes. 005 listed the input columns one by one, so a profile field added later
-- would have changed a lead without moving its revision, and an analysis read before the
-- change would have been stored on the changed lead. Every column of `leads` is now an input
-- of the scorers unless it is named here; a new lead field needs only its column.
--
-- The trigger copies the new row, puts back the old values of the columns that are not inputs,
-- and compares the copy with the old row: a whole-row comparison, about a microsecond per
-- updated row (a comparison through to_jsonb would cost some 14 microseconds, paid by every
-- stored score).
DROP TRIGGER leads_input_revision ON leads;

CREATE FUNCTION leadscore_move_input_revision() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  inputs leads := NEW;
BEGIN
  inputs.id := OLD.id;
  inputs.ai_score := OLD.ai_score;
  inputs.ai_recommendation := OLD.ai_recommendation;
  inputs.ai_reason := OLD.ai_reason;
  inputs.ai_scorer := OLD.ai_scorer;
  inputs.ai_scorer_version := OLD.ai_scorer_version;
  inputs.ai_analyzed_at := OLD.ai_analyzed_at;
  inputs.created_at := OLD.created_at;
  inputs.updated_at := OLD.updated_at;
  inputs.input_revision := OLD.input_revision;
  IF inputs IS DISTINCT FROM OLD THEN
    NEW.input_revision := OLD.input_revision + 1;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER leads_input_revision BEFORE UPDATE ON leads FOR EACH ROW
  EXECUTE FUNCTION leadscore_move_input_revision();

DROP FUNCTION leadscore_next_input_revision();
