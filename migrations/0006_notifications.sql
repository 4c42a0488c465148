-- Everything safecity sends goes through the outbox: a notice (one logical message, deduplicated by key)
-- becomes one outbox row per delivery (a device, a topic, a phone number, one part of a long SMS).

CREATE TABLE notices (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedupe_key  text UNIQUE CHECK (char_length(dedupe_key) BETWEEN 1 AND 200),
    template    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX notices_created_idx ON notices (created_at);

CREATE TABLE outbox (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notice_id         bigint NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    channel           text NOT NULL CHECK (channel IN ('sms', 'push')),
    -- An E.164 number for SMS; a device token or a topic name for push.
    recipient         text NOT NULL,
    topic             boolean NOT NULL DEFAULT false,
    -- Not foreign keys: the outbox is also the delivery log, kept 90 days, and a device or an account that
    -- goes away must not make PostgreSQL scan millions of rows to null these out.
    citizen_id        bigint,
    device_id         bigint,
    template          text NOT NULL,
    language          text NOT NULL CHECK (language IN ('ko', 'en')),
    title             text,
    body              text NOT NULL CHECK (body <> ''),
    data              jsonb NOT NULL DEFAULT '{}',
    priority          smallint NOT NULL CHECK (priority IN (0, 1)),  -- 0 urgent, 1 routine
    critical          boolean NOT NULL DEFAULT false,
    -- Sent even to a number that opted out: critical care messages, as the person's care agreement says.
    overrides_opt_out boolean NOT NULL DEFAULT false,
    -- An SMS standing in for a critical push: it waits until next_attempt_at and is cancelled by an ack.
    fallback          boolean NOT NULL DEFAULT false,
    state             text NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'cancelled', 'suppressed')),
    attempts          integer NOT NULL DEFAULT 0,
    max_attempts      integer NOT NULL CHECK (max_attempts > 0),
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    lease_until       timestamptz,
    last_error        text,
    provider_id       text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    sent_at           timestamptz,
    delivered_at      timestamptz,
    acknowledged_at   timestamptz,
    CHECK (channel = 'push' OR NOT topic),
    CHECK (NOT fallback OR channel = 'sms')
);

-- The dispatcher's claim: due rows of one channel, urgent first.
CREATE INDEX outbox_due_idx ON outbox (channel, priority, next_attempt_at, id) WHERE state = 'pending';
-- Rows whose dispatcher died before recording a result.
CREATE INDEX outbox_leased_idx ON outbox (lease_until) WHERE state = 'sending';
CREATE INDEX outbox_notice_idx ON outbox (notice_id, citizen_id);
CREATE INDEX outbox_provider_id_idx ON outbox (provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX outbox_recipient_idx ON outbox (recipient, created_at);
CREATE INDEX outbox_created_idx ON outbox (created_at);

-- A new row wakes the dispatchers at commit; once per statement, so a million-row fan-out is one wake-up.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Numbers that texted STOP (or 수신거부…), or that the provider reports as opted out.
CREATE TABLE sms_opt_outs (
    phone        text PRIMARY KEY CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    keyword      text NOT NULL,
    source       text NOT NULL CHECK (source IN ('sms', 'provider')),
    opted_out_at timestamptz NOT NULL DEFAULT now()
);

-- Every inbound SMS, kept whatever happens to it; Twilio retries a webhook, so the SID is unique.
CREATE TABLE sms_inbound (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_sid  text NOT NULL UNIQUE,
    phone        text NOT NULL,
    body         text NOT NULL,
    handled_by   text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sms_inbound_phone_idx ON sms_inbound (phone, received_at);

-- A device's district topic, kept in step by the dispatcher; topic_pending marks the ones to (re)subscribe.
ALTER TABLE devices
    ADD COLUMN subscribed_topic text,
    ADD COLUMN topic_pending boolean NOT NULL DEFAULT true;

CREATE INDEX devices_topic_pending_idx ON devices (id) WHERE topic_pending;
