-- A warning is told in parts, each committed on its own (docs/alerts.md, "Fan-out"): the alert and its topic
-- pushes first, then the people in care (their messages and "are you safe?" checks), then the districts' SMS,
-- then the citizens told by their places. What is still to do is kept here, in the alert's own transaction, so a
-- part that fails (a statement timeout under load) is retried from this table by the worker, never lost and never
-- taking the parts already committed down with it. A row goes once its last part is done.
CREATE TABLE alert_fanouts (
    alert_id    bigint PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE,
    -- What the parts need of the alert: who it reaches, its words, each district's nearest shelter.
    plan        jsonb NOT NULL,
    replaced    bigint[] NOT NULL DEFAULT '{}',
    -- The ingest's own time: every part's messages and checks are dated from it, however late a retry runs.
    ingested_at timestamptz NOT NULL,
    parts       text[] NOT NULL CHECK (parts <@ ARRAY['care', 'district_sms', 'places']),
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text,
    failed_at   timestamptz
);
