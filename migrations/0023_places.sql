-- Where people are, for warnings that reach exactly the people under them (docs/alerts.md, "Who is told").
-- A citizen's home and up to five watched places (a parent's home, a workplace), each a point or a dong;
-- people in care keep their home point on their enrolment. Points are (lon, lat) in PostgreSQL's own point
-- type, indexed with GiST, so "every place inside these polygons" is one indexed statement.

CREATE TABLE citizen_places (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    citizen_id  bigint NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('home', 'watched')),
    label       text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 40),
    lat         double precision CHECK (lat BETWEEN -90 AND 90),
    lon         double precision CHECK (lon BETWEEN -180 AND 180),
    dong        text NOT NULL CHECK (dong ~ '^11[0-9]{6}$'),
    district    text NOT NULL REFERENCES districts (code),
    location    point GENERATED ALWAYS AS (CASE WHEN lat IS NOT NULL THEN point(lon, lat) END) STORED,
    created_at  timestamptz NOT NULL,
    CHECK ((lat IS NULL) = (lon IS NULL)),
    CHECK (substr(dong, 1, 5) = district)
);

CREATE UNIQUE INDEX citizen_places_one_home ON citizen_places (citizen_id) WHERE kind = 'home';
CREATE INDEX citizen_places_citizen_idx ON citizen_places (citizen_id);
CREATE INDEX citizen_places_location_idx ON citizen_places USING gist (location);
-- A place given only as a dong is told when an alert overlaps its dong.
CREATE INDEX citizen_places_dong_idx ON citizen_places (dong) WHERE location IS NULL;

ALTER TABLE care_recipients
    ADD COLUMN home point GENERATED ALWAYS AS (CASE WHEN home_lat IS NOT NULL THEN point(home_lon, home_lat) END) STORED;
CREATE INDEX care_recipients_home_idx ON care_recipients USING gist (home);
