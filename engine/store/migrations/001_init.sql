-- Leads, sales, their stage events, every scorer run, and API keys.
-- Stage and recommendation names are the domain's (engine/domain/lead.cpp); the rules that
-- move between them live in engine/domain, the CHECKs here only keep out unknown names.

-- Every timestamp leaves the database as RFC 3339 UTC with microseconds,
-- e.g. 2026-11-22T00:10:00.123456Z: exact, so it can be compared after a round trip.
CREATE FUNCTION leadscore_rfc3339(t timestamptz) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

CREATE TABLE leads (
  id                bigserial PRIMARY KEY,
  source            text NOT NULL,
  stage             text NOT NULL DEFAULT 'new'
                    CHECK (stage IN ('new', 'contacted', 'qualified', 'transferred', 'lost')),
  business_domain   text,
  activity_count    bigint NOT NULL DEFAULT 0 CHECK (activity_count >= 0),
  name              text,
  email             text,
  role              text,
  company           text,
  industry          text,
  location          text,
  bio               text,
  ai_score          double precision CHECK (ai_score >= 0 AND ai_score <= 1),
  ai_recommendation text CHECK (ai_recommendation IN
                      ('transfer_to_sales', 'continue_qualification', 'drop_lead')),
  ai_reason         text,
  ai_scorer         text,
  ai_scorer_version text,
  ai_analyzed_at    timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  -- Strictly increases on every change (see the store), so it doubles as the row's version.
  updated_at        timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 90);  -- room on each page for HOT updates (analyses, activity)
-- Lists page by id (keyset) and filter; stage and source, the selective filters, get an index
-- in id order. The ai_* columns get none on purpose: every analysis rewrites them, and an index
-- on them would turn each of those updates from HOT into one touching every index.
CREATE INDEX leads_stage_id ON leads (stage, id);
CREATE INDEX leads_source_id ON leads (source, id);

-- At most one sale per lead: the handoff's guarantee, enforced here as well as by the row lock.
CREATE TABLE sales (
  id         bigserial PRIMARY KEY,
  lead_id    bigint NOT NULL UNIQUE REFERENCES leads (id),
  stage      text NOT NULL DEFAULT 'new'
             CHECK (stage IN ('new', 'kyc', 'agreement', 'paid', 'lost')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Lead stage changes (sale_id NULL; from_stage NULL for the creation) and sale stage changes
-- (sale_id set; stages are sale stages).
CREATE TABLE stage_events (
  id         bigserial PRIMARY KEY,
  lead_id    bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  sale_id    bigint REFERENCES sales (id),
  from_stage text,
  to_stage   text NOT NULL,
  actor      text NOT NULL,
  at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stage_events_lead_id ON stage_events (lead_id, id);
CREATE INDEX stage_events_sale_id ON stage_events (sale_id, id) WHERE sale_id IS NOT NULL;

-- Every scorer run, append-only: the features it saw, its result or its error.
CREATE TABLE analyses (
  id             bigserial PRIMARY KEY,
  lead_id        bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  scorer         text NOT NULL,
  scorer_version text NOT NULL,
  role           text NOT NULL,
  actor          text NOT NULL,
  features       jsonb NOT NULL,
  result         jsonb,           -- {score, recommendation, reason}; NULL when the run failed
  contributions  jsonb,           -- [{rule, points}]
  latency_ms     double precision NOT NULL,
  error          text,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analyses_lead_id ON analyses (lead_id, id);

CREATE TABLE api_keys (
  name       text PRIMARY KEY,
  role       text NOT NULL CHECK (role IN ('viewer', 'manager', 'analyst', 'admin')),
  key_hash   text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
