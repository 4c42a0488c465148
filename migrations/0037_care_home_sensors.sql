-- Home sensors of people in care (docs/care.md, "Home sensors"): the devices and their heartbeats, the
-- emergencies they report (fire, smoke, gas, a fall), and the inactivity watch that starts a ladder when a home
-- goes quiet. Cases say which rule opened them and whether 119 still has to be called.

ALTER TABLE cases DROP CONSTRAINT cases_reason_check;
ALTER TABLE cases
    ADD CONSTRAINT cases_reason_check CHECK (reason IN ('missed_checkin', 'help_request', 'safety_check',
                                                        'sensor_emergency', 'inactivity', 'sensor_fault')),
    -- Which rule opened the case (fire, gas, inactivity_limit, below_usual, no_heartbeat…) and what it saw.
    ADD COLUMN rule text,
    ADD COLUMN rule_detail jsonb,
    ADD COLUMN device_id text,
    -- A sensor emergency needs 119 called; a worker records that it was, once, from the console or the API.
    ADD COLUMN needs_119 boolean NOT NULL DEFAULT false,
    ADD COLUMN called_119_at timestamptz,
    ADD COLUMN called_119_by text,
    ADD CONSTRAINT cases_called_119_check CHECK ((called_119_at IS NULL) = (called_119_by IS NULL));

-- One open emergency case per person and kind (a second smoke alarm adds a note), one per inactivity episode,
-- one open fault case per device.
CREATE UNIQUE INDEX cases_open_emergency_key ON cases (recipient_id, rule)
    WHERE reason = 'sensor_emergency' AND state <> 'resolved';
CREATE UNIQUE INDEX cases_inactivity_key ON cases (recipient_id, slot_at) WHERE reason = 'inactivity';
CREATE UNIQUE INDEX cases_open_fault_key ON cases (recipient_id, device_id)
    WHERE reason = 'sensor_fault' AND state <> 'resolved';

-- A home device, registered the first time it speaks for a person. Silent for longer than heartbeat_min it is a
-- device problem (fault_at set, a sensor_fault case), not the person's silence.
CREATE TABLE home_sensors (
    device_id     text PRIMARY KEY CHECK (char_length(device_id) BETWEEN 1 AND 100),
    recipient_id  bigint NOT NULL REFERENCES care_recipients (id) ON DELETE CASCADE,
    heartbeat_min integer NOT NULL DEFAULT 360 CHECK (heartbeat_min BETWEEN 5 AND 10080),
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    fault_at      timestamptz
);
CREATE INDEX home_sensors_recipient_idx ON home_sensors (recipient_id);
CREATE INDEX home_sensors_silent_idx ON home_sensors (last_seen_at) WHERE fault_at IS NULL;

-- Each emergency a device reported, once per (device, kind, time): a resent event is a duplicate.
CREATE TABLE sensor_events (
    device_id     text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('fire', 'smoke', 'gas', 'fall')),
    at            timestamptz NOT NULL,
    recipient_id  bigint NOT NULL REFERENCES care_recipients (id) ON DELETE CASCADE,
    case_id       bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    received_at   timestamptz NOT NULL,
    PRIMARY KEY (device_id, kind, at)
);

-- How long a home may be quiet (no sign of life of any kind) before the inactivity ladder starts.
-- A resume restarts the clock too (inactivity_from): the days of a hospital stay are not silence.
ALTER TABLE checkin_plans
    ADD COLUMN inactivity_limit_min integer NOT NULL DEFAULT 1440 CHECK (inactivity_limit_min BETWEEN 60 AND 10080),
    ADD COLUMN inactivity_from timestamptz;

-- Signs of life per person and hour: the person's usual daily pattern, read by the inactivity sweep.
CREATE TABLE care_activity_hours (
    recipient_id  bigint NOT NULL REFERENCES care_recipients (id) ON DELETE CASCADE,
    hour          timestamptz NOT NULL,
    events        integer NOT NULL CHECK (events > 0),
    PRIMARY KEY (recipient_id, hour)
);

-- The inactivity ladder, one episode per person at a time: 1 asked, 2 asked again, 3 first guardian, 4 case
-- (with the rule), 5 urgent. An answer (any sign of life) ends it; the next episode replaces the row.
CREATE TABLE inactivity_watches (
    recipient_id  bigint PRIMARY KEY REFERENCES care_recipients (id) ON DELETE CASCADE,
    fired_at      timestamptz NOT NULL,
    rule          text NOT NULL CHECK (rule IN ('inactivity_limit', 'below_usual')),
    detail        jsonb NOT NULL,
    step          smallint NOT NULL DEFAULT 1 CHECK (step BETWEEN 1 AND 5),
    due_at        timestamptz,
    answered_at   timestamptz
);
CREATE INDEX inactivity_watches_due_idx ON inactivity_watches (due_at) WHERE due_at IS NOT NULL;
