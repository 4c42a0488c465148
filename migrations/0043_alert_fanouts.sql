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

-- A delivery's notice, checked once per statement instead of once per row. The foreign key's check ran a lookup
-- and a row lock per delivery: a city-wide warning's 200,000 SMS rows, all of one notice, spent 3 of its 9
-- seconds there (EXPLAIN ANALYZE, docs/benchmarks.md). These triggers keep what it promised, set-based:
-- an insert whose notice does not exist fails, each notice referenced is locked FOR KEY SHARE (once, as the
-- key's check would, so that it cannot be deleted before the insert commits), deleting notices deletes their
-- deliveries, and a delivery's notice never changes.
ALTER TABLE outbox DROP CONSTRAINT outbox_notice_id_fkey;

CREATE FUNCTION outbox_notices_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint[];
    found  bigint;
BEGIN
    -- Each notice the statement's rows refer to, looked up and locked once. By = ANY of an array, so that any
    -- plan is bounded (an index probe per notice, or one hashed pass over notices): a join planned on a fresh
    -- database's statistics, notices believed empty, re-scanned the table per row and passed the timeout.
    SELECT array_agg(notice_id) INTO wanted FROM (SELECT DISTINCT notice_id FROM new_deliveries) d;
    SELECT count(*) INTO found FROM (SELECT 1 FROM notices WHERE id = ANY (wanted) FOR KEY SHARE) n;
    IF found < coalesce(cardinality(wanted), 0) THEN
        RAISE EXCEPTION 'insert on table "outbox" refers to % notice(s) that do not exist',
            cardinality(wanted) - found USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_notices_exist AFTER INSERT ON outbox REFERENCING NEW TABLE AS new_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notices_exist();

CREATE FUNCTION outbox_notice_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a delivery''s notice never changes (outbox %)', OLD.id USING ERRCODE = 'foreign_key_violation';
END;
$$;

CREATE TRIGGER outbox_notice_fixed BEFORE UPDATE OF notice_id ON outbox
    FOR EACH ROW WHEN (OLD.notice_id IS DISTINCT FROM NEW.notice_id) EXECUTE FUNCTION outbox_notice_fixed();

CREATE FUNCTION notices_delete_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM outbox o USING gone_notices g WHERE o.notice_id = g.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER notices_delete_deliveries AFTER DELETE ON notices REFERENCING OLD TABLE AS gone_notices
    FOR EACH STATEMENT EXECUTE FUNCTION notices_delete_deliveries();
