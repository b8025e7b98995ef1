-- 012: a write of a score onto a lead no longer runs the input-revision trigger (006). Every
-- such write (the analysis statements of analysis_queries.cpp and leadscore_record_analyses())
-- moves ai_analyzed_at strictly forward and changes no input of the scorers, and no other
-- write touches ai_analyzed_at: so an update that moves ai_analyzed_at cannot move the
-- revision, and the trigger's whole-row comparison in PL/pgSQL (10 to 50 microseconds of each
-- stored score, most of the cost of storing a job's batch) is skipped by the trigger's WHEN,
-- which PostgreSQL evaluates without calling the function. A write that changed an input and
-- stored a score at once would break this; the store makes none.
DROP TRIGGER leads_input_revision ON leads;

CREATE TRIGGER leads_input_revision BEFORE UPDATE ON leads FOR EACH ROW
  WHEN (NEW.ai_analyzed_at IS NOT DISTINCT FROM OLD.ai_analyzed_at)
  EXECUTE FUNCTION leadscore_move_input_revision();
