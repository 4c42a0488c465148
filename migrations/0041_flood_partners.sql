-- Flood-risk households and their 동행파트너 (docs/flood.md): a registry kept with the household's consent, and,
-- for each heavy-rain or flood alert over a household, one check: the household asked "are you safe?", each
-- partner asked to go and confirm, their answers, and the escalations to the district's duty worker.

CREATE TABLE flood_households (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    address         text NOT NULL CHECK (char_length(address) BETWEEN 1 AND 500),
    housing         text NOT NULL CHECK (housing IN ('semi_basement', 'basement', 'ground_floor', 'low_lying', 'other')),
    -- The home: a point (its dong found from it), or only a dong.
    home_lat        double precision CHECK (home_lat BETWEEN -90 AND 90),
    home_lon        double precision CHECK (home_lon BETWEEN -180 AND 180),
    home            point GENERATED ALWAYS AS (CASE WHEN home_lat IS NOT NULL THEN point(home_lon, home_lat) END) STORED,
    dong            text NOT NULL CHECK (dong ~ '^11[0-9]{6}$'),
    district        text NOT NULL REFERENCES districts (code),
    -- E.164; none for a household without a phone of its own (its partners are asked all the same).
    phones          text[] NOT NULL DEFAULT '{}' CHECK (cardinality(phones) <= 3),
    language        text NOT NULL CHECK (language IN ('ko', 'en')),
    -- Someone in care: the same person, whose care record keeps their own ladders.
    recipient_id    bigint UNIQUE REFERENCES care_recipients (id) ON DELETE SET NULL,
    notes           text CHECK (char_length(notes) <= 500),
    consent         jsonb NOT NULL,
    withdrawn_at    timestamptz,
    withdrawn_why   text,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK ((home_lat IS NULL) = (home_lon IS NULL)),
    CHECK (substr(dong, 1, 5) = district),
    CHECK ((withdrawn_at IS NULL) = (withdrawn_why IS NULL))
);

-- A warning over a district reads its households; a shape reads the points; a dong-only home its dong.
CREATE INDEX flood_households_district_idx ON flood_households (district) WHERE withdrawn_at IS NULL;
CREATE INDEX flood_households_home_idx ON flood_households USING gist (home) WHERE withdrawn_at IS NULL;
CREATE INDEX flood_households_dong_idx ON flood_households (dong) WHERE withdrawn_at IS NULL AND home IS NULL;

CREATE TABLE flood_partners (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id  bigint NOT NULL REFERENCES flood_households (id) ON DELETE CASCADE,
    position      integer NOT NULL CHECK (position BETWEEN 1 AND 5),
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    role          text NOT NULL CHECK (role IN ('neighbour', 'tongjang', 'official')),
    phone         text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    language      text NOT NULL CHECK (language IN ('ko', 'en')),
    UNIQUE (household_id, phone)
);
CREATE INDEX flood_partners_phone_idx ON flood_partners (phone);

-- One check per household per storm: opened by the first alert over it, kept open (never asked twice) while
-- later alerts over it arrive, closed when the warning is lifted, when it has run out (open_until), or when
-- consent is withdrawn.
CREATE TABLE flood_checks (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id      bigint NOT NULL REFERENCES flood_households (id) ON DELETE CASCADE,
    alert_id          bigint NOT NULL REFERENCES alerts (id),
    latest_alert_id   bigint NOT NULL REFERENCES alerts (id),
    dong              text NOT NULL,
    district          text NOT NULL,
    asked_at          timestamptz NOT NULL,
    open_until        timestamptz NOT NULL,
    -- The household's own latest answer (safe, evacuated, need_help), by SMS, the app, or an operator.
    answer            text CHECK (answer IN ('safe', 'evacuated', 'need_help')),
    answered_at       timestamptz,
    answered_via      text,
    -- Silence: nobody has answered by silent_due_at; the duty worker was told at silent_told_at.
    silent_due_at     timestamptz NOT NULL,
    silent_told_at    timestamptz,
    -- Need help: asked for at help_due_at (at once); the duty worker told at help_told_at.
    help_due_at       timestamptz,
    help_told_at      timestamptz,
    resolved_at       timestamptz,
    resolved_by       text,
    closed_at         timestamptz,
    closed_why        text CHECK (closed_why IN ('lifted', 'expired', 'consent_withdrawn')),
    UNIQUE (household_id, alert_id),
    CHECK ((closed_at IS NULL) = (closed_why IS NULL))
);
CREATE UNIQUE INDEX flood_checks_one_open ON flood_checks (household_id) WHERE closed_at IS NULL;
CREATE INDEX flood_checks_open_dong_idx ON flood_checks (dong) WHERE closed_at IS NULL;
CREATE INDEX flood_checks_alerts_idx ON flood_checks (latest_alert_id) WHERE closed_at IS NULL;
CREATE INDEX flood_checks_silent_due_idx ON flood_checks (silent_due_at) WHERE closed_at IS NULL AND silent_told_at IS NULL;
CREATE INDEX flood_checks_help_due_idx ON flood_checks (help_due_at) WHERE help_told_at IS NULL AND help_due_at IS NOT NULL;

-- Each partner of a check, asked to go: their latest answer.
CREATE TABLE flood_partner_asks (
    check_id     bigint NOT NULL REFERENCES flood_checks (id) ON DELETE CASCADE,
    partner_id   bigint NOT NULL REFERENCES flood_partners (id) ON DELETE CASCADE,
    phone        text NOT NULL,
    answer       text CHECK (answer IN ('arrived', 'evacuated', 'need_help')),
    answered_at  timestamptz,
    answered_via text,
    PRIMARY KEY (check_id, partner_id)
);
CREATE INDEX flood_partner_asks_phone_idx ON flood_partner_asks (phone);

-- Every answer as it came, for the household's history and the operators' questions afterwards.
CREATE TABLE flood_answers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_id    bigint NOT NULL REFERENCES flood_checks (id) ON DELETE CASCADE,
    who         text NOT NULL CHECK (who IN ('household', 'partner', 'staff')),
    partner_id  bigint REFERENCES flood_partners (id) ON DELETE SET NULL,
    answer      text NOT NULL,
    via         text NOT NULL,
    body        text,
    at          timestamptz NOT NULL
);
CREATE INDEX flood_answers_check_idx ON flood_answers (check_id, at);

-- A reply is matched to its household by the phone it came from.
CREATE INDEX flood_households_phones_idx ON flood_households USING gin (phones) WHERE withdrawn_at IS NULL;
