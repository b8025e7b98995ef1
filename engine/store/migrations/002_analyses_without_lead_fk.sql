-- Analyses are an append-only log written on every analysis. Their foreign key to leads cost
-- a row-locking lookup of the lead per insert (about 12% of analyze throughput, measured with
-- bench/http_bench.sh). Each analysis is inserted by the statement that reads or updates its
-- lead, and Session::delete_lead removes a lead's analyses in the same statement as the lead.
ALTER TABLE analyses DROP CONSTRAINT IF EXISTS analyses_lead_id_fkey;
