-- Care for people living alone: who is enrolled, their guardians, their check-in plan and its escalation
-- ladder, every sign of life, the cases social workers work, and an audit of staff access to personal data.

CREATE TABLE care_recipients (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    phone             text NOT NULL UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    language          text NOT NULL DEFAULT 'ko' CHECK (language IN ('ko', 'en')),
    district          text NOT NULL REFERENCES districts (code),
    address           text NOT NULL CHECK (char_length(address) BETWEEN 1 AND 300),
    contact_by        text NOT NULL DEFAULT 'sms' CHECK (contact_by IN ('app', 'sms', 'both')),
    -- Who agreed to what, and when: the person, or their legal representative.
    consent_by        text NOT NULL CHECK (char_length(consent_by) BETWEEN 1 AND 100),
    consent_at        timestamptz NOT NULL,
    consent_scope     text NOT NULL CHECK (char_length(consent_scope) BETWEEN 1 AND 500),
    -- Their care agreement says safety messages reach them even after an SMS opt-out.
    reach_despite_opt_out boolean NOT NULL DEFAULT true,
    enrolled_by       text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX care_recipients_district_idx ON care_recipients (district);

CREATE TABLE guardians (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_id  bigint NOT NULL REFERENCES care_recipients (id) ON DELETE CASCADE,
    position      smallint NOT NULL CHECK (position BETWEEN 1 AND 5),
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    phone         text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    relation      text NOT NULL CHECK (char_length(relation) BETWEEN 1 AND 50),
    language      text NOT NULL DEFAULT 'ko' CHECK (language IN ('ko', 'en')),
    UNIQUE (recipient_id, position)
);

-- The plan, in Asia/Seoul local time, and the ladder's state, which the sweep advances one step at a time:
-- step 0 waits for the slot at slot_at; 1 reminded; 2 reminded again; 3 guardian told; 4 case opened; 5 urgent.
CREATE TABLE checkin_plans (
    recipient_id         bigint PRIMARY KEY REFERENCES care_recipients (id) ON DELETE CASCADE,
    times                time[] NOT NULL CHECK (cardinality(times) BETWEEN 1 AND 12),
    days                 smallint[] NOT NULL DEFAULT '{1,2,3,4,5,6,7}' CHECK (days <@ '{1,2,3,4,5,6,7}' AND cardinality(days) >= 1),
    window_min           integer NOT NULL CHECK (window_min BETWEEN 10 AND 720),
    quiet_start          time,
    quiet_end            time,
    guardian_after_min   integer NOT NULL DEFAULT 30 CHECK (guardian_after_min BETWEEN 0 AND 1440),
    case_after_min       integer NOT NULL DEFAULT 30 CHECK (case_after_min BETWEEN 0 AND 1440),
    urgent_after_min     integer NOT NULL DEFAULT 120 CHECK (urgent_after_min BETWEEN 0 AND 2880),
    accept_signals       boolean NOT NULL DEFAULT true,
    paused_until         timestamptz,
    pause_reason         text,
    slot_at              timestamptz NOT NULL,
    step                 smallint NOT NULL DEFAULT 0 CHECK (step BETWEEN 0 AND 5),
    due_at               timestamptz,
    last_contact_at      timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

CREATE INDEX checkin_plans_due_idx ON checkin_plans (due_at) WHERE due_at IS NOT NULL;

-- The first slot strictly after ``after``: a plan time on a plan day, in Asia/Seoul (which has no DST).
CREATE FUNCTION care_next_slot(times time[], days smallint[], after timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT min((d::date + t) AT TIME ZONE 'Asia/Seoul')
    FROM generate_series((after AT TIME ZONE 'Asia/Seoul')::date, (after AT TIME ZONE 'Asia/Seoul')::date + 7,
                         interval '1 day') AS d,
         unnest(times) AS t
    WHERE extract(isodow FROM d)::smallint = ANY (days)
      AND (d::date + t) AT TIME ZONE 'Asia/Seoul' > after
$$;

-- Each ladder step taken, once per (recipient, slot, step): the sweep's record and its dedupe key.
CREATE TABLE care_steps (
    recipient_id  bigint NOT NULL REFERENCES care_recipients (id) ON DELETE CASCADE,
    slot_at       timestamptz NOT NULL,
    step          smallint NOT NULL CHECK (step BETWEEN 1 AND 5),
    taken_at      timestamptz NOT NULL,
    PRIMARY KEY (recipient_id, slot_at, step)
);

-- Every sign of life, and every call for help, from any channel.
CREATE TABLE checkins (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_id  bigint NOT NULL REFERENCES care_recipients (id) ON DELETE CASCADE,
    channel       text NOT NULL CHECK (channel IN ('app', 'sms', 'chat', 'sensor', 'staff')),
    kind          text NOT NULL CHECK (kind IN ('checkin', 'message', 'signal', 'help')),
    body          text CHECK (char_length(body) <= 1600),
    device_id     text,
    at            timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX checkins_recipient_idx ON checkins (recipient_id, at DESC);

CREATE TABLE cases (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_id     bigint NOT NULL REFERENCES care_recipients (id) ON DELETE CASCADE,
    district         text NOT NULL REFERENCES districts (code),
    reason           text NOT NULL CHECK (reason IN ('missed_checkin', 'help_request')),
    priority         text NOT NULL CHECK (priority IN ('urgent', 'high', 'normal')),
    state            text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
    slot_at          timestamptz,
    opened_at        timestamptz NOT NULL,
    sla_due_at       timestamptz NOT NULL,
    all_clear_at     timestamptz,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    resolved_at      timestamptz,
    resolved_by      text,
    outcome          text CHECK (outcome IN ('reached_by_phone', 'visited', 'hospitalised', 'false_alarm',
                                             'no_answer_escalated_119_112')),
    CHECK ((state = 'resolved') = (outcome IS NOT NULL))
);

-- One case per missed slot, and one open help case per person at a time.
CREATE UNIQUE INDEX cases_missed_slot_key ON cases (recipient_id, slot_at) WHERE reason = 'missed_checkin';
CREATE UNIQUE INDEX cases_open_help_key ON cases (recipient_id) WHERE reason = 'help_request' AND state <> 'resolved';
CREATE INDEX cases_queue_idx ON cases (district, opened_at) WHERE state <> 'resolved';
CREATE INDEX cases_recipient_idx ON cases (recipient_id);

CREATE TABLE case_notes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    author      text NOT NULL,
    body        text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 4000),
    created_at  timestamptz NOT NULL
);

CREATE INDEX case_notes_case_idx ON case_notes (case_id, created_at);

-- Who among staff read or changed whose personal data, and when.
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor         text NOT NULL,
    action        text NOT NULL,
    recipient_id  bigint,
    case_id       bigint,
    detail        jsonb NOT NULL DEFAULT '{}',
    at            timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_log_recipient_idx ON audit_log (recipient_id, at);
