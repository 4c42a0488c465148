-- One-time sign-in codes. Only a keyed hash of the code is stored.
-- Rows exist for any phone that asked, registered or not, so nothing here tells the two apart.
CREATE TABLE otp_challenges (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone       text NOT NULL,
    code_hash   bytea NOT NULL,
    -- The language the code was asked for in: a citizen registered by this code starts in it.
    language    text NOT NULL DEFAULT 'ko' CHECK (language IN ('ko', 'en')),
    attempts    integer NOT NULL DEFAULT 0,
    expires_at  timestamptz NOT NULL,
    consumed_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX otp_challenges_phone_idx ON otp_challenges (phone, created_at DESC);
