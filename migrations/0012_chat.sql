-- Texts waiting for the chatbot: an inbound SMS no keyword claimed, forwarded to Rasa after the webhook's
-- transaction commits (never inside it: the bot's actions call the API, which locks what that transaction holds).
-- pending → forwarding (claimed, with claimed_at as a lease) → answered (the reply is in the outbox) or
-- apologised (the bot was down; the apology is in the outbox). Replies are deduplicated by message_sid.
CREATE TABLE chat_inbound (
    message_sid  text PRIMARY KEY REFERENCES sms_inbound (message_sid) ON DELETE CASCADE,
    phone        text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    body         text NOT NULL,
    language     text NOT NULL CHECK (language IN ('ko', 'en')),
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'forwarding', 'answered', 'apologised')),
    attempts     smallint NOT NULL DEFAULT 0,
    claimed_at   timestamptz,
    done_at      timestamptz,
    received_at  timestamptz NOT NULL
);

CREATE INDEX chat_inbound_open_idx ON chat_inbound (received_at) WHERE state IN ('pending', 'forwarding');

-- Reports the chatbot files for someone, alongside the app's and Open311's.
ALTER TABLE hazard_reports DROP CONSTRAINT hazard_reports_source_check;
ALTER TABLE hazard_reports ADD CONSTRAINT hazard_reports_source_check CHECK (source IN ('app', 'open311', 'chat'));
