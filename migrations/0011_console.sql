-- The social workers' console: sign-in sessions, the failures that lock an account out, calls made on a
-- case, and a person's date of birth (the console shows their age).

-- Only a SHA-256 of the session cookie's token is kept, so a copy of this table signs no one in.
CREATE TABLE console_sessions (
    token_hash    bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    staff_id      bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    -- Sent back in a hidden field by every form of the session; not a credential on its own.
    csrf_token    text NOT NULL CHECK (char_length(csrf_token) >= 32),
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    user_agent    text CHECK (char_length(user_agent) <= 300)
);

CREATE INDEX console_sessions_staff_idx ON console_sessions (staff_id);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);

-- Wrong passwords by the email they were typed for (known or not): enough of them lock the account out.
CREATE TABLE console_sign_in_failures (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email  text NOT NULL CHECK (char_length(email) <= 254),
    at     timestamptz NOT NULL
);

CREATE INDEX console_sign_in_failures_email_idx ON console_sign_in_failures (email, at);

-- A phone call made while working a case: whom, at which number, and how it went.
CREATE TABLE case_calls (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    author      text NOT NULL,
    callee      text NOT NULL CHECK (callee IN ('person', 'guardian', 'emergency', 'other')),
    phone       text CHECK (char_length(phone) <= 32),
    result      text NOT NULL CHECK (result IN ('reached', 'no_answer', 'busy', 'wrong_number', 'voicemail')),
    body        text CHECK (char_length(body) <= 4000),
    at          timestamptz NOT NULL
);

CREATE INDEX case_calls_case_idx ON case_calls (case_id, at);

ALTER TABLE care_recipients ADD COLUMN birth_date date CHECK (birth_date >= '1900-01-01');
