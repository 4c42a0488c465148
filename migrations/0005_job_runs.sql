-- One row per scheduled job and time slot: a slot is run once, however many workers are running.
CREATE TABLE job_runs (
    job         text NOT NULL,
    slot        timestamptz NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    result      jsonb,
    PRIMARY KEY (job, slot)
);
