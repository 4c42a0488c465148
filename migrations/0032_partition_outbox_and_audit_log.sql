-- The outbox and the audit log grow by millions of rows a month and are kept for a fixed time, so they are
-- partitioned by month (UTC) of their time column: retention drops a whole month's partition, with no DELETE,
-- no VACUUM and no bloat. See docs/operations.md, "Partitions".
--
-- Each table is rebuilt with LIKE … INCLUDING ALL, so the check constraints of the day (widened by later
-- migrations, or by branches merged before this one) are carried over under their own names. Indexes are left
-- out of the LIKE and made again: a primary key or unique index of a partitioned table must hold the partition
-- key, so (id) becomes (id, created_at). The id stays unique by its identity sequence; only the migration ever
-- writes an id.

-- Months as partitions: <parent>_pYYYY_MM for [first of the month, first of the next) in UTC.

CREATE FUNCTION month_partitions_create(parent regclass, from_ts timestamptz, through timestamptz)
    RETURNS TABLE (partition text, outcome text)
    LANGUAGE plpgsql AS $$
DECLARE
    month timestamp := date_trunc('month', from_ts AT TIME ZONE 'UTC');
    name text;
BEGIN
    WHILE month <= through AT TIME ZONE 'UTC' LOOP
        name := format('%s_p%s', (SELECT relname FROM pg_class WHERE oid = parent), to_char(month, 'YYYY_MM'));
        IF NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                       WHERE i.inhparent = parent AND c.relname = name) THEN
            BEGIN
                EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                               name, parent, month AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
                partition := name;
                outcome := 'created';
                RETURN NEXT;
            EXCEPTION WHEN check_violation THEN
                -- The default partition holds rows of this month: they stay there (moving them would fire the
                -- foreign keys' ON DELETE), and retention deletes them there.
                partition := name;
                outcome := 'left to the default partition, which holds rows of this month';
                RETURN NEXT;
            END;
        END IF;
        month := month + interval '1 month';
    END LOOP;
END;
$$;

-- The partitions of parent (not its default) whose every row is older than before, with their bounds.
CREATE FUNCTION month_partitions_ended_by(parent regclass, before timestamptz)
    RETURNS TABLE (partition text, lower_bound timestamptz, upper_bound timestamptz)
    LANGUAGE sql STABLE AS $$
    SELECT b.partition, b.bounds[1]::timestamptz, b.bounds[2]::timestamptz
    FROM (
        SELECT c.relname::text AS partition,
               regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') AS bounds
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent
    ) b
    WHERE b.bounds IS NOT NULL AND b.bounds[2]::timestamptz <= before
    ORDER BY 2;
$$;

-- Detach and drop one partition of parent. The detach refuses while a foreign key still references its rows,
-- which is what keeps a referencing row from being dropped unnoticed.
CREATE FUNCTION month_partition_drop(parent regclass, partition text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    child regclass;
BEGIN
    SELECT i.inhrelid::regclass INTO child FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = parent AND c.relname = partition;
    IF child IS NULL THEN
        RAISE EXCEPTION '% is not a partition of %', partition, parent;
    END IF;
    EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent, child);
    EXECUTE format('DROP TABLE %s', child);
END;
$$;

-- The outbox.

ALTER TABLE voice_calls DROP CONSTRAINT voice_calls_outbox_id_fkey;
ALTER TABLE outbox RENAME TO outbox_unpartitioned;
ALTER SEQUENCE outbox_id_seq RENAME TO outbox_unpartitioned_id_seq;
CREATE TABLE outbox (LIKE outbox_unpartitioned INCLUDING ALL EXCLUDING INDEXES) PARTITION BY RANGE (created_at);
-- A safety net: a row of a month with no partition (one more than three months ahead, or before the first
-- partition) lands here rather than failing its insert; the maintenance job reports and purges it.
CREATE TABLE outbox_default PARTITION OF outbox DEFAULT;
SELECT month_partitions_create(
    'outbox',
    greatest(coalesce((SELECT min(created_at) FROM outbox_unpartitioned), now()), now() - interval '2 years'),
    now() + interval '3 months'
);
INSERT INTO outbox OVERRIDING SYSTEM VALUE SELECT * FROM outbox_unpartitioned;
SELECT setval(pg_get_serial_sequence('outbox', 'id'),
              coalesce((SELECT max(id) FROM outbox_unpartitioned), 1),
              (SELECT count(*) > 0 FROM outbox_unpartitioned));
DROP TABLE outbox_unpartitioned;

ALTER TABLE outbox ADD PRIMARY KEY (id, created_at);
ALTER TABLE outbox ADD FOREIGN KEY (notice_id) REFERENCES notices (id) ON DELETE CASCADE;
CREATE INDEX outbox_due_idx ON outbox (channel, priority, next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_leased_idx ON outbox (lease_until) WHERE state = 'sending';
CREATE INDEX outbox_notice_idx ON outbox (notice_id, citizen_id);
CREATE INDEX outbox_provider_id_idx ON outbox (provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX outbox_recipient_idx ON outbox (recipient, created_at);
CREATE INDEX outbox_created_idx ON outbox (created_at);
-- The primary key's index serves lookups by id alone: one probe per partition, half a dozen in steady state.
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- A call references its delivery by (id, created_at), so the foreign key still holds; the maintenance job deletes
-- a month's calls before it drops the month's deliveries (a detach fires no ON DELETE, and refuses while
-- referenced).
ALTER TABLE voice_calls ADD COLUMN outbox_created_at timestamptz;
UPDATE voice_calls c SET outbox_created_at = o.created_at FROM outbox o WHERE o.id = c.outbox_id;
DELETE FROM voice_calls WHERE outbox_created_at IS NULL;
ALTER TABLE voice_calls ALTER COLUMN outbox_created_at SET NOT NULL;
ALTER TABLE voice_calls ADD CONSTRAINT voice_calls_outbox_fkey FOREIGN KEY (outbox_id, outbox_created_at)
    REFERENCES outbox (id, created_at) ON DELETE CASCADE;
DROP INDEX voice_calls_outbox_idx;
CREATE INDEX voice_calls_outbox_idx ON voice_calls (outbox_id, outbox_created_at);

-- The audit log.

ALTER TABLE audit_log RENAME TO audit_log_unpartitioned;
ALTER SEQUENCE audit_log_id_seq RENAME TO audit_log_unpartitioned_id_seq;
CREATE TABLE audit_log (LIKE audit_log_unpartitioned INCLUDING ALL EXCLUDING INDEXES) PARTITION BY RANGE (at);
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
SELECT month_partitions_create(
    'audit_log',
    greatest(coalesce((SELECT min(at) FROM audit_log_unpartitioned), now()), now() - interval '2 years'),
    now() + interval '3 months'
);
INSERT INTO audit_log OVERRIDING SYSTEM VALUE SELECT * FROM audit_log_unpartitioned;
SELECT setval(pg_get_serial_sequence('audit_log', 'id'),
              coalesce((SELECT max(id) FROM audit_log_unpartitioned), 1),
              (SELECT count(*) > 0 FROM audit_log_unpartitioned));
DROP TABLE audit_log_unpartitioned;

ALTER TABLE audit_log ADD PRIMARY KEY (id, at);
CREATE INDEX audit_log_recipient_idx ON audit_log (recipient_id, at);
