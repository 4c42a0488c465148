-- What the CAP feed poll has read of each feed, kept in the database so that neither a restart, nor a rolled-back
-- write, nor a second worker re-reads what was dealt with, and a lost write loses nothing (it is read again).

-- Per feed URL, the validators of the last index read whose every entry was dealt with: sent back as
-- If-None-Match / If-Modified-Since, so an unchanged feed costs one 304.
CREATE TABLE cap_feeds (
    feed_url       text PRIMARY KEY,
    etag           text,
    last_modified  text,
    read_at        timestamptz NOT NULL
);

-- The entries of a feed already dealt with (ingested, or refused for good), written in the same transaction as
-- the entry's alert. Keyed by a hash of the entry's key (its URL, or a hash of an embedded message), since a
-- feed's URLs may be longer than an index entry can hold; rows for entries a feed no longer lists are deleted.
CREATE TABLE cap_feed_entries (
    feed_url    text NOT NULL,
    key_sha256  bytea NOT NULL CHECK (octet_length(key_sha256) = 32),
    entry_key   text NOT NULL,
    handled_at  timestamptz NOT NULL,
    PRIMARY KEY (feed_url, key_sha256)
);
