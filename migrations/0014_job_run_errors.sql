-- A job that runs outside the slot's transaction (a poll that waits on the network) commits its claim before it
-- works, so a failure cannot roll the claim back: the slot is recorded as finished with the error instead, and
-- the next slot runs. A run whose worker died keeps finished_at NULL.
ALTER TABLE job_runs ADD COLUMN error text;
