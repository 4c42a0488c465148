-- A send whose answer never came (a read timeout, a connection dropped after the request went out) may have
-- reached the provider: its outcome is unknown, not failed. unknown_since is when the first such attempt began; a
-- row that has one is retried at most once more, after a longer wait, and an SMS is first looked up at Twilio by
-- recipient and time. A row whose outcome stays unknown ends in the state 'unknown': it may have arrived, and it
-- is never sent a third time.
ALTER TABLE outbox ADD COLUMN unknown_since timestamptz;

ALTER TABLE outbox DROP CONSTRAINT outbox_state_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_state_check
    CHECK (state IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'unknown', 'cancelled', 'suppressed'));
