-- 004: offers, the products leads are qualified for (as the hybrid rule layer describes one: name, value props, ideal
-- use cases). At most one is active, and every scorer sees the active one. The limits are the
-- domain's (engine/domain/offer.h, in bytes); the CHECKs here count characters, a backstop
-- only.

-- Whether `list` is a JSON array of at most `max_items` strings of 1..max_chars characters.
CREATE FUNCTION leadscore_text_list_ok(list jsonb, max_items int, max_chars int) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT jsonb_typeof(list) = 'array' AND jsonb_array_length(list) <= max_items
      AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(list) AS e(item)
                      WHERE jsonb_typeof(item) <> 'string'
                         OR char_length(item #>> '{}') NOT BETWEEN 1 AND max_chars)
  $$;

CREATE TABLE offers (
  id              bigserial PRIMARY KEY,
  name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  description     text CHECK (char_length(description) <= 4000),
  value_props     jsonb NOT NULL DEFAULT '[]'
                  CHECK (leadscore_text_list_ok(value_props, 50, 200)),
  ideal_use_cases jsonb NOT NULL DEFAULT '[]'
                  CHECK (leadscore_text_list_ok(ideal_use_cases, 50, 200)),
  active          boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
-- At most one active offer: the store deactivates the previous one in the transaction that
-- activates another; this index makes a second active offer impossible whatever happens.
CREATE UNIQUE INDEX offers_one_active ON offers ((true)) WHERE active;

-- The revision of the offers: every offer write starts by moving it forward, which also takes
-- the row's lock, so that offer writes run one at a time (in commit order: a concurrent
-- activation sees the one committed before it, and deactivates it) and a later revision is
-- always a later state. A server keeps the active offer in memory with its revision, and
-- replaces it only by a state of a later revision.
CREATE TABLE offers_revision (
  one_row  boolean PRIMARY KEY DEFAULT true CHECK (one_row),
  revision bigint NOT NULL
);
INSERT INTO offers_revision (revision) VALUES (0);
