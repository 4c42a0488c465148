-- The outbox's index on created_at alone goes: every delivery written paid an entry in it, a city-wide warning's
-- 250,000 at once, for one reader, the metrics' count of dead letters since a time (docs/benchmarks.md). The
-- outbox is partitioned by month of created_at, so a time range already reads only its months; that count now
-- reads a partial index of the dead letters alone, which a delivery enters only when it fails. The operators'
-- summary by state over a time range reads its months' partitions whole (docs/operations.md).
CREATE INDEX outbox_dead_idx ON outbox (created_at) WHERE state IN ('failed', 'unknown');
DROP INDEX outbox_created_idx;
