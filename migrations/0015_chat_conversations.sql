-- Who is talking to the chatbot, and when they last said something to it (the app's chat or a text handed to
-- the bot). The bot's endpoints act only for a sender heard from lately, so the actions' token cannot read or
-- change the care of someone who is not in a conversation. One row per sender, kept up to date.
CREATE TABLE chat_conversations (
    sender        text PRIMARY KEY CHECK (sender ~ '^(citizen-[0-9]+|sms-\+[1-9][0-9]{6,14})$'),
    last_seen_at  timestamptz NOT NULL
);
