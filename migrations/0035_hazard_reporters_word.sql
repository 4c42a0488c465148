-- Closing the loop with the people who report hazards (docs/hazards.md): how often each reporter hears, the
-- "fixed?" answer after a resolve (a "no" within 14 days reopens), people following an incident ("me too"),
-- and citizens watching an area for new incidents.

-- Every change, or only the end (resolved or rejected): the reporter's choice, per report.
ALTER TABLE hazard_reports ADD COLUMN updates text NOT NULL DEFAULT 'every' CHECK (updates IN ('every', 'end'));

ALTER TABLE hazard_incident_events DROP CONSTRAINT hazard_incident_events_kind_check;
ALTER TABLE hazard_incident_events ADD CONSTRAINT hazard_incident_events_kind_check
    CHECK (kind IN ('status', 'merge', 'split', 'reopen'));

-- A reporter's answer to "fixed?" after a resolve; one per resolve and reporter, however often it is sent.
CREATE TABLE hazard_feedback (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id      bigint NOT NULL REFERENCES hazard_incidents (id),
    resolve_event_id bigint NOT NULL REFERENCES hazard_incident_events (id),
    citizen_id       bigint NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
    fixed            boolean NOT NULL,
    note             text CHECK (char_length(note) BETWEEN 1 AND 1000),
    -- Whether this answer reopened the incident; a late "no" is kept but reopens nothing.
    reopened         boolean NOT NULL,
    answered_at      timestamptz NOT NULL,
    UNIQUE (resolve_event_id, citizen_id),
    CHECK (NOT (fixed AND reopened))
);

CREATE INDEX hazard_feedback_incident_idx ON hazard_feedback (incident_id, id);

-- "Me too": someone who saw it too adds weight to an incident without a second report; told of its end.
CREATE TABLE hazard_follows (
    incident_id bigint NOT NULL REFERENCES hazard_incidents (id),
    citizen_id  bigint NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
    updates     text NOT NULL DEFAULT 'end' CHECK (updates IN ('every', 'end')),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (incident_id, citizen_id)
);

CREATE INDEX hazard_follows_citizen_idx ON hazard_follows (citizen_id);

-- An area a citizen watches: a polygon they drew, or the area around one of their places (gone with it).
-- Points are (lon, lat) as everywhere; the box columns are the index's pre-filter.
CREATE TABLE hazard_area_watches (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    citizen_id  bigint NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
    label       text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 40),
    place_id    bigint REFERENCES citizen_places (id) ON DELETE CASCADE,
    area        polygon NOT NULL,
    area_km2    double precision NOT NULL CHECK (area_km2 > 0),
    min_lat     double precision NOT NULL,
    max_lat     double precision NOT NULL,
    min_lon     double precision NOT NULL,
    max_lon     double precision NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE INDEX hazard_area_watches_citizen_idx ON hazard_area_watches (citizen_id);
CREATE INDEX hazard_area_watches_box_idx ON hazard_area_watches (min_lat, max_lat, min_lon, max_lon);

-- Dangerous incidents whose watchers were told at once (the rest go in the daily digest).
ALTER TABLE hazard_incidents ADD COLUMN watchers_told_at timestamptz;
CREATE INDEX hazard_incidents_watch_due_idx ON hazard_incidents (id)
    WHERE watchers_told_at IS NULL AND category IN ('gas_smell', 'sinkhole', 'fire_smoke');

-- As in 0016, with the reporter's choice of updates at the end.
CREATE OR REPLACE VIEW hazard_report_details AS
SELECT r.id, r.citizen_id, r.source, r.category, r.description, r.lat, r.lon, r.address, r.media_url,
       r.observed_at, r.reported_at,
       i.id AS incident_id, i.category AS incident_category, i.status, i.status_reason, i.report_count,
       i.first_reported_at, i.last_reported_at, i.updated_at AS incident_updated_at,
       (SELECT count(DISTINCT coalesce('c' || o.citizen_id, 'r' || o.id))
          FROM hazard_reports o
         WHERE o.incident_id = r.incident_id AND o.id <> r.id
           AND (r.citizen_id IS NULL OR o.citizen_id IS DISTINCT FROM r.citizen_id)) AS others_reporting,
       coalesce((SELECT json_agg(json_build_object('id', p.id, 'content_type', p.content_type,
                                                   'size_bytes', p.size_bytes, 'created_at', p.created_at)
                                 ORDER BY p.id)
                   FROM hazard_photos p WHERE p.report_id = r.id), '[]'::json) AS photos,
       r.is_public,
       r.updates
FROM hazard_reports r
JOIN hazard_incidents i ON i.id = r.incident_id;
