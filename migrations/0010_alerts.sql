-- Weather and disaster warnings from KMA and CAP feeds, as one model; the safety checks they start for the
-- people in care; and cases that say which warning opened them.

CREATE TABLE alerts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        text NOT NULL CHECK (source IN ('kma', 'feed', 'post')),
    sender        text NOT NULL CHECK (char_length(sender) BETWEEN 1 AND 300),
    identifier    text NOT NULL CHECK (char_length(identifier) BETWEEN 1 AND 300),
    sent          timestamptz NOT NULL,
    status        text NOT NULL CHECK (status IN ('Actual', 'Exercise', 'System', 'Test', 'Draft')),
    msg_type      text NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel')),
    scope         text NOT NULL CHECK (scope IN ('Public', 'Restricted', 'Private')),
    event         text NOT NULL,
    hazard        text NOT NULL,
    urgency       text NOT NULL,
    severity      text NOT NULL,
    certainty     text NOT NULL,
    onset         timestamptz,
    expires       timestamptz,
    -- Headline, description and instruction per language ("ko", "en"): what people read.
    texts         jsonb NOT NULL,
    -- Each CAP area with the districts it was found to cover and how (geocode, kma_area, polygon, circle).
    areas         jsonb NOT NULL,
    districts     text[] NOT NULL,
    incidents     text[] NOT NULL DEFAULT '{}',
    -- The whole message as parsed, so GET /v1/alerts/{id}.cap gives back everything that came in.
    cap           jsonb NOT NULL,
    -- The Update or Cancel that took this alert's place: it is no longer in force from then on.
    replaced_by   bigint REFERENCES alerts (id),
    replaced_at   timestamptz,
    received_at   timestamptz NOT NULL,
    UNIQUE (sender, identifier)
);

CREATE INDEX alerts_districts_idx ON alerts USING gin (districts);
CREATE INDEX alerts_in_force_idx ON alerts (sent DESC) WHERE replaced_by IS NULL AND msg_type <> 'Cancel';
CREATE INDEX alerts_incidents_idx ON alerts USING gin (incidents);

-- Where people in care live, when it is known: their nearest shelter is found from here, else from their
-- district office.
ALTER TABLE care_recipients
    ADD COLUMN home_lat double precision CHECK (home_lat BETWEEN -90 AND 90),
    ADD COLUMN home_lon double precision CHECK (home_lon BETWEEN -180 AND 180),
    ADD CONSTRAINT care_recipients_home_check CHECK ((home_lat IS NULL) = (home_lon IS NULL));

-- "Are you safe?" for each person in care in a severe warning's districts. Its ladder runs beside the check-in
-- plan's: 1 asked, 2 asked again, 3 first guardian told, 4 case opened, 5 urgent (every guardian).
CREATE TABLE safety_checks (
    alert_id      bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    recipient_id  bigint NOT NULL REFERENCES care_recipients (id) ON DELETE CASCADE,
    asked_at      timestamptz NOT NULL,
    step          smallint NOT NULL DEFAULT 1 CHECK (step BETWEEN 1 AND 5),
    due_at        timestamptz,
    safe_at       timestamptz,
    safe_via      text CHECK (safe_via IN ('app', 'sms', 'chat', 'sensor', 'staff')),
    PRIMARY KEY (alert_id, recipient_id),
    CHECK ((safe_at IS NULL) = (safe_via IS NULL))
);

CREATE INDEX safety_checks_due_idx ON safety_checks (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX safety_checks_unanswered_idx ON safety_checks (recipient_id) WHERE safe_at IS NULL;

ALTER TABLE cases DROP CONSTRAINT cases_reason_check;
ALTER TABLE cases
    ADD CONSTRAINT cases_reason_check CHECK (reason IN ('missed_checkin', 'help_request', 'safety_check')),
    ADD COLUMN alert_id bigint REFERENCES alerts (id);

-- One case per person per warning.
CREATE UNIQUE INDEX cases_safety_check_key ON cases (recipient_id, alert_id) WHERE reason = 'safety_check';

-- Alerts as the API reads them: everything but the stored CAP, which only the .cap rendering needs.
CREATE VIEW alert_rows AS
SELECT id, source, sender, identifier, sent, status, msg_type, scope, event, hazard, urgency, severity, certainty,
       onset, expires, texts, areas, districts, incidents, replaced_by, replaced_at, received_at
FROM alerts;

-- "I'm safe" from a citizen's app, for any alert; people in care also answer their safety check with it.
CREATE TABLE alert_responses (
    alert_id    bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    citizen_id  bigint NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
    safe_at     timestamptz NOT NULL,
    PRIMARY KEY (alert_id, citizen_id)
);
