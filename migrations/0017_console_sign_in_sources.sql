-- Console sign-in failures count per source (the client address as the app sees it, behind the proxies in
-- FORWARDED_ALLOW_IPS) and account, so wrong passwords slow down where they come from, never the account
-- itself. The addresses an account signed in from let its owner in with the right password whatever other
-- addresses do; and the owner is told, at their next sign-in, when someone tried (api/console/lockout.py).

-- Addresses are kept only as a keyed SHA-256, so a copy of these tables names no one's address; the key is
-- random for each database and never leaves it.
CREATE TABLE console_source_key (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    key      bytea NOT NULL CHECK (octet_length(key) = 32)
);

INSERT INTO console_source_key (key)
VALUES (decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));

CREATE FUNCTION console_source(address text) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256(key || convert_to(address, 'UTF8')) FROM console_source_key
$$;

-- Failures counted by email alone (0011) locked the account for everyone; they are a quarter of an hour old
-- at most and would be counted against no source, so they go.
DELETE FROM console_sign_in_failures;
ALTER TABLE console_sign_in_failures ADD COLUMN source bytea NOT NULL CHECK (octet_length(source) = 32);
DROP INDEX console_sign_in_failures_email_idx;
CREATE INDEX console_sign_in_failures_email_idx ON console_sign_in_failures (email, source, at);
CREATE INDEX console_sign_in_failures_source_idx ON console_sign_in_failures (source, at);
CREATE INDEX console_sign_in_failures_at_idx ON console_sign_in_failures (at);

-- Where each account signed in from, and when last.
CREATE TABLE console_known_sources (
    staff_id      bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    source        bytea NOT NULL CHECK (octet_length(source) = 32),
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    PRIMARY KEY (staff_id, source)
);

-- What the console tells a staff member about their own account until they have read it. Staff have no SMS
-- or push channel in the outbox (only an email, and no email channel exists), so it is a row, not a message.
CREATE TABLE console_security_notices (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id     bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    -- source_slowed: wrong passwords from one address reached the limit; unlocked: an operator lifted a wait.
    kind         text NOT NULL CHECK (kind IN ('source_slowed', 'unlocked')),
    source       bytea CHECK (octet_length(source) = 32),
    known_source boolean,
    failures     integer CHECK (failures > 0),
    actor        text CHECK (char_length(actor) <= 200),
    at           timestamptz NOT NULL,
    seen_at      timestamptz,
    CHECK (kind <> 'source_slowed' OR (source IS NOT NULL AND known_source IS NOT NULL AND failures IS NOT NULL)),
    CHECK (kind <> 'unlocked' OR actor IS NOT NULL)
);

CREATE INDEX console_security_notices_unseen_idx ON console_security_notices (staff_id, id) WHERE seen_at IS NULL;
