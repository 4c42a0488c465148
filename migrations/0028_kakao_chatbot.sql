-- The KakaoTalk channel chatbot (a Kakao i Open Builder skill server): who a Kakao user is, the one-time codes
-- that prove it, and every message the skill was sent, with the answer it got.

-- A Kakao user (userRequest.user.id, a botUserKey) linked to a phone: a citizen's, or a person in care's. Who the
-- phone is comes from accounts and care, as for a text.
CREATE TABLE kakao_links (
    user_key   text PRIMARY KEY CHECK (user_key ~ '^[A-Za-z0-9_.:-]{1,128}$'),
    phone      text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    via        text NOT NULL CHECK (via IN ('sms', 'app')),
    linked_at  timestamptz NOT NULL
);
CREATE INDEX kakao_links_phone_idx ON kakao_links (phone);

-- One-time codes: 'sms' ones are sent by SMS to the phone a Kakao user typed, and bound to that user; 'app' ones
-- are shown by the app to its signed-in citizen, and typed by them in KakaoTalk. Only a keyed hash is kept.
CREATE TABLE kakao_link_codes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purpose     text NOT NULL CHECK (purpose IN ('sms', 'app')),
    user_key    text,
    phone       text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    code_hash   bytea NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL,
    CHECK ((purpose = 'sms') = (user_key IS NOT NULL))
);
CREATE INDEX kakao_link_codes_user_idx ON kakao_link_codes (user_key, created_at DESC) WHERE user_key IS NOT NULL;
CREATE INDEX kakao_link_codes_phone_idx ON kakao_link_codes (phone, created_at DESC);
CREATE UNIQUE INDEX kakao_link_codes_app_live_idx ON kakao_link_codes (code_hash) WHERE purpose = 'app' AND used_at IS NULL;

-- Each message the skill was sent, kept in the webhook's transaction, once however often Kakao sends it
-- (dedupe_key: its one-time callbackUrl when it has one; else the user's last message saying the same within
-- seconds). handled_by says who took it: 'chat' (Rasa answers it,
-- after commit: pending → forwarding → answered or apologised), 'care.checkin', 'care.help', 'link.*'. reply is
-- the skill response's texts and quick replies, so a retried request is answered with the same words.
CREATE TABLE kakao_messages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_key      text NOT NULL,
    dedupe_key    text UNIQUE,
    utterance     text NOT NULL,  -- as said; a code is kept as ******, a phone number masked
    digest        bytea NOT NULL,  -- sha256 of what was said, by which a retry without a callbackUrl is known
    language      text NOT NULL CHECK (language IN ('ko', 'en')),
    handled_by    text NOT NULL,
    state         text NOT NULL CHECK (state IN ('pending', 'forwarding', 'answered', 'apologised')),
    reply         jsonb,
    asks_yes_no   boolean NOT NULL DEFAULT false,
    in_care       boolean NOT NULL DEFAULT false,
    callback_url  text,
    -- How the answer reached Kakao: in the response, by the callback (or its post failed), or only a holding reply.
    delivery      text CHECK (delivery IN ('response', 'callback', 'callback_failed', 'holding')),
    attempts      smallint NOT NULL DEFAULT 0,
    claimed_at    timestamptz,
    answered_at   timestamptz,
    received_at   timestamptz NOT NULL
);
CREATE INDEX kakao_messages_user_idx ON kakao_messages (user_key, received_at DESC);
CREATE INDEX kakao_messages_open_idx ON kakao_messages (received_at) WHERE state IN ('pending', 'forwarding');

-- A linked Kakao user talks to the bot as kakao-<user key>, and signs of life may come by KakaoTalk.
ALTER TABLE chat_conversations DROP CONSTRAINT chat_conversations_sender_check;
ALTER TABLE chat_conversations ADD CONSTRAINT chat_conversations_sender_check
    CHECK (sender ~ '^(citizen-[0-9]+|sms-\+[1-9][0-9]{6,14}|kakao-[A-Za-z0-9_.:-]{1,128})$');

ALTER TABLE checkins DROP CONSTRAINT checkins_channel_check;
ALTER TABLE checkins ADD CONSTRAINT checkins_channel_check
    CHECK (channel IN ('app', 'sms', 'chat', 'sensor', 'staff', 'voice', 'kakao'));
