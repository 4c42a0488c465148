-- Citizens sign in by phone; staff are created by operators; devices carry FCM registration tokens.
CREATE TABLE citizens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone        text NOT NULL UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    language     text NOT NULL DEFAULT 'ko' CHECK (language IN ('ko', 'en')),
    district     text REFERENCES districts (code),
    display_name text CHECK (char_length(display_name) <= 100),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX citizens_district_idx ON citizens (district);

CREATE TABLE devices (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    citizen_id   bigint NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
    platform     text NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
    fcm_token    text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX devices_citizen_idx ON devices (citizen_id);

CREATE TABLE staff (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL CHECK (email = lower(email)),
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    role          text NOT NULL CHECK (role IN ('social_worker', 'operator')),
    password_hash text,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX staff_email_key ON staff (email);

-- A social worker serves one or more districts; operators serve the whole city and have no rows here.
CREATE TABLE staff_districts (
    staff_id bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    district text NOT NULL REFERENCES districts (code),
    PRIMARY KEY (staff_id, district)
);

-- Staff with their districts, as the API and the console read them.
CREATE VIEW staff_accounts AS
SELECT s.id, s.email, s.name, s.role, s.active, s.created_at,
       s.password_hash IS NOT NULL AS has_password,
       coalesce(array_agg(d.district ORDER BY d.district) FILTER (WHERE d.district IS NOT NULL), '{}') AS districts
FROM staff s
LEFT JOIN staff_districts d ON d.staff_id = s.id
GROUP BY s.id;
