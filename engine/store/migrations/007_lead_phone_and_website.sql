-- 007: a lead's phone number and website, optional text like its email. They are inputs of the
-- scorers: input_revision (006) moves when either changes, with no change to its trigger.
ALTER TABLE leads ADD COLUMN phone text, ADD COLUMN website text;
