-- 011: the webhook outbox. An event (a handoff, a sale's stage change, a stored analysis) is
-- written in the transaction of the change that caused it, with one delivery per configured
-- webhook subscribed to its type: a change that commits has its events, one that fails has
-- none. Dispatchers of any number of servers then claim due deliveries (FOR UPDATE SKIP
-- LOCKED, then a lease in the row), POST them, and record every attempt
-- (engine/store/webhook_queries.cpp, engine/webhooks/).
CREATE TABLE webhook_events (
  id         bigserial PRIMARY KEY,
  type       text NOT NULL CHECK (type IN ('lead.transferred', 'sale.stage_changed', 'sale.paid',
                                           'sale.lost', 'analysis.completed')),
  lead_id    bigint NOT NULL,  -- no foreign key: the event outlives nothing it describes
  data       jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
  id              bigserial PRIMARY KEY,
  event_id        bigint NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
  webhook         text NOT NULL,    -- the configured webhook's name (its URL and secret: config)
  lead_id         bigint NOT NULL,  -- the event's: deliveries of a lead to a webhook go in order
  -- pending: not attempted yet; failed: attempted, another attempt is due at next_attempt_at;
  -- delivered: answered 2xx; dead: failed until its give-up age (POST .../retry revives it).
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'failed', 'delivered', 'dead')),
  attempts        int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- The give-up age counts from here: the event's creation, or the last retry asked for.
  since           timestamptz NOT NULL DEFAULT now(),
  created_at      timestamptz NOT NULL DEFAULT now(),
  delivered_at    timestamptz,
  last_error      text,
  claimed_by      text,         -- the dispatching server
  lease_until     timestamptz   -- a claim is another dispatcher's to take after this
);
-- What dispatchers look at: the deliveries not yet settled, by when they are due.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
  WHERE status IN ('pending', 'failed');
-- The order per lead and webhook: an earlier unsettled delivery holds the later ones back.
CREATE INDEX webhook_deliveries_open_by_lead ON webhook_deliveries (lead_id, webhook, id)
  WHERE status IN ('pending', 'failed');
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- Every attempt, whatever its outcome: the HTTP status, or the error when there was none.
CREATE TABLE webhook_attempts (
  id          bigserial PRIMARY KEY,
  delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  at          timestamptz NOT NULL DEFAULT now(),
  status_code int,
  error       text,
  latency_ms  float8 NOT NULL,
  server      text NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- Writes one event and a delivery of it to each webhook of `webhooks` (none: nothing is
-- written). Called inside the transaction of the change that caused the event.
CREATE FUNCTION leadscore_webhook_event(event_type text, event_lead bigint, event_data jsonb,
                                        webhooks text[])
  RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  event bigint;
BEGIN
  IF coalesce(cardinality(webhooks), 0) = 0 THEN
    RETURN NULL;
  END IF;
  INSERT INTO webhook_events (type, lead_id, data)
    VALUES (event_type, event_lead, event_data) RETURNING id INTO event;
  INSERT INTO webhook_deliveries (event_id, webhook, lead_id)
    SELECT event, w, event_lead FROM unnest(webhooks) WITH ORDINALITY AS u(w, n) ORDER BY n;
  RETURN event;
END $$;
