-- Tokens revoked before they expire, by their jti (api/platform/auth/revocations.py). A row is needed only
-- while the token it names could still be honoured, so it is kept until then and purged after.
CREATE TABLE revoked_tokens (
    jti        text PRIMARY KEY,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now(),
    reason     text NOT NULL DEFAULT ''
);

CREATE INDEX revoked_tokens_expires_at_idx ON revoked_tokens (expires_at);

-- Sign-in codes sent in the last hour, city-wide and per number prefix, are counted from otp_challenges
-- (api/accounts/signin_budget.py); this index serves that count and the purge of old codes.
CREATE INDEX otp_challenges_created_at_idx ON otp_challenges (created_at);

-- One row per budget, prefix and hour in which codes were refused: what operators see on their page.
-- The global budget has the prefix ''.
CREATE TABLE signin_budget_alerts (
    budget     text NOT NULL CHECK (budget IN ('global', 'prefix')),
    prefix     text NOT NULL DEFAULT '',
    hour       timestamptz NOT NULL,
    first_at   timestamptz NOT NULL,
    last_at    timestamptz NOT NULL,
    refused    integer NOT NULL DEFAULT 1,
    PRIMARY KEY (budget, prefix, hour)
);

CREATE INDEX signin_budget_alerts_hour_idx ON signin_budget_alerts (hour);
