-- Hazards citizens report (from the app or Open311), grouped into incidents that operators work through a
-- status workflow; photos are stored outside the database, behind api.hazards.storage.

CREATE TABLE hazard_incidents (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category          text NOT NULL CHECK (category IN (
                          'sinkhole', 'road_damage', 'fallen_tree', 'flooding', 'landslide_risk', 'fire_smoke',
                          'gas_smell', 'damaged_structure', 'broken_streetlight', 'icy_road', 'other')),
    status            text NOT NULL DEFAULT 'submitted' CHECK (status IN (
                          'submitted', 'acknowledged', 'in_progress', 'resolved', 'rejected', 'merged')),
    -- Why the status is what it is (a rejection's reason, an operator's note): Open311's status_notes.
    status_reason     text CHECK (char_length(status_reason) BETWEEN 1 AND 1000),
    -- Where the report that opened it was. Later reports join within 50 m of this point, not of each other,
    -- so an incident cannot creep along a street one report at a time.
    lat               double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon               double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    merged_into       bigint REFERENCES hazard_incidents (id),
    report_count      integer NOT NULL DEFAULT 0 CHECK (report_count >= 0),
    first_reported_at timestamptz NOT NULL,
    last_reported_at  timestamptz NOT NULL,
    status_changed_at timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CHECK ((status = 'merged') = (merged_into IS NOT NULL)),
    CHECK (status <> 'rejected' OR status_reason IS NOT NULL)
);

-- The join rule's candidates: open incidents of one category near a point.
CREATE INDEX hazard_incidents_open_idx ON hazard_incidents (category, lat, lon)
    WHERE status IN ('submitted', 'acknowledged', 'in_progress');
-- The public map's bounding-box queries.
CREATE INDEX hazard_incidents_point_idx ON hazard_incidents USING gist (point(lon, lat)) WHERE status <> 'merged';

CREATE TABLE hazard_reports (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES hazard_incidents (id),
    -- Null for reports a service (an Open311 gateway) sent on someone's behalf; nobody is notified of those.
    citizen_id   bigint REFERENCES citizens (id) ON DELETE SET NULL,
    submitted_by text NOT NULL,
    source       text NOT NULL CHECK (source IN ('app', 'open311')),
    category     text NOT NULL CHECK (category IN (
                     'sinkhole', 'road_damage', 'fallen_tree', 'flooding', 'landslide_risk', 'fire_smoke',
                     'gas_smell', 'damaged_structure', 'broken_streetlight', 'icy_road', 'other')),
    description  text NOT NULL DEFAULT '' CHECK (char_length(description) <= 4000),
    lat          double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon          double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    address      text CHECK (char_length(address) BETWEEN 1 AND 300),
    media_url    text CHECK (char_length(media_url) BETWEEN 1 AND 2000),
    observed_at  timestamptz NOT NULL,
    reported_at  timestamptz NOT NULL
);

CREATE INDEX hazard_reports_incident_idx ON hazard_reports (incident_id);
CREATE INDEX hazard_reports_citizen_idx ON hazard_reports (citizen_id, id) WHERE citizen_id IS NOT NULL;
CREATE INDEX hazard_reports_reported_idx ON hazard_reports (reported_at);

-- Content-addressed per report, so uploading the same photo again (a retry) adds nothing.
CREATE TABLE hazard_photos (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id    bigint NOT NULL REFERENCES hazard_reports (id) ON DELETE CASCADE,
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'image/heic')),
    size_bytes   integer NOT NULL CHECK (size_bytes > 0),
    storage_key  text NOT NULL,
    created_at   timestamptz NOT NULL,
    UNIQUE (report_id, sha256)
);

-- What operators did to an incident; a status change's id keys the messages it caused.
CREATE TABLE hazard_incident_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id    bigint NOT NULL REFERENCES hazard_incidents (id),
    kind           text NOT NULL CHECK (kind IN ('status', 'merge', 'split')),
    from_status    text,
    to_status      text,
    reason         text,
    other_incident bigint REFERENCES hazard_incidents (id),
    report_ids     bigint[],
    actor          text NOT NULL,
    at             timestamptz NOT NULL
);

CREATE INDEX hazard_incident_events_incident_idx ON hazard_incident_events (incident_id, id);

-- Transaction-scoped advisory locks on grid cells, always taken in ascending order so that two transactions
-- locking overlapping sets cannot deadlock.
CREATE FUNCTION hazard_lock_cells(keys bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    k bigint;
BEGIN
    FOREACH k IN ARRAY (SELECT coalesce(array_agg(DISTINCT x ORDER BY x), '{}') FROM unnest(keys) AS x) LOOP
        PERFORM pg_advisory_xact_lock(k);
    END LOOP;
END;
$$;

-- A report as its reporter and operators read it: its incident, how many other people reported that
-- incident, and its photos.
CREATE VIEW hazard_report_details AS
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
                   FROM hazard_photos p WHERE p.report_id = r.id), '[]'::json) AS photos
FROM hazard_reports r
JOIN hazard_incidents i ON i.id = r.incident_id;
