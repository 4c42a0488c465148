-- Voice check-ins: a phone call is a delivery channel of the outbox ('voice'), a sign of life may come by call,
-- and a plan may say to call the person (voice) or to text first and then call (sms+voice).

ALTER TABLE outbox DROP CONSTRAINT outbox_channel_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_channel_check CHECK (channel IN ('sms', 'push', 'voice'));

ALTER TABLE checkins DROP CONSTRAINT checkins_channel_check;
ALTER TABLE checkins ADD CONSTRAINT checkins_channel_check
    CHECK (channel IN ('app', 'sms', 'chat', 'sensor', 'staff', 'voice'));

ALTER TABLE care_recipients DROP CONSTRAINT care_recipients_contact_by_check;
ALTER TABLE care_recipients ADD CONSTRAINT care_recipients_contact_by_check
    CHECK (contact_by IN ('app', 'sms', 'both', 'voice', 'sms+voice'));

-- One row per call Twilio placed for an outbox delivery, made by its first webhook: where the call stands
-- (Twilio's last CallStatus, who answered), how many menus went unanswered, and what came of it.
CREATE TABLE voice_calls (
    call_sid     text PRIMARY KEY CHECK (call_sid ~ '^CA[0-9a-f]{32}$'),
    outbox_id    bigint NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    phone        text NOT NULL,
    purpose      text NOT NULL CHECK (purpose IN ('checkin', 'message')),
    status       text NOT NULL,
    answered_by  text,
    rounds       smallint NOT NULL DEFAULT 0,
    -- checkin, help: what the person answered; heard: a message call a person took; the rest: not answered.
    result       text CHECK (result IN ('checkin', 'help', 'heard', 'no_answer', 'busy', 'machine', 'failed',
                                        'canceled', 'hung_up')),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    ended_at     timestamptz
);

CREATE INDEX voice_calls_outbox_idx ON voice_calls (outbox_id);

-- Every webhook of a call, once: a status callback by its SequenceNumber, a gather by its round. Twilio retries a
-- webhook it got no answer to, so a replay finds its row here and acts no more.
CREATE TABLE voice_call_events (
    call_sid  text NOT NULL REFERENCES voice_calls (call_sid) ON DELETE CASCADE,
    kind      text NOT NULL CHECK (kind IN ('status', 'gather')),
    seq       integer NOT NULL CHECK (seq >= 0),
    status    text NOT NULL,
    detail    text CHECK (char_length(detail) <= 500),
    at        timestamptz NOT NULL,
    PRIMARY KEY (call_sid, kind, seq)
);
