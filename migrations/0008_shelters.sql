-- Shelters of every kind, from Seoul's open-data files (or the demo set), and the geometry to find the nearest.
--
-- No PostGIS: distances are great-circle metres (haversine, the same formula as api/evacuation/geo.py), and
-- the index is a core GiST index on a point in a local plane in metres (equirectangular about Seoul City Hall).
-- Within Seoul that plane is within 1% of the great circle, so an index search in the plane, widened by that
-- margin, finds every candidate, and the exact distance ranks them: the answer equals a brute-force search.

CREATE FUNCTION geo_plane_m(lat double precision, lon double precision) RETURNS point
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN point(6371008.8 * radians(lon - 126.978) * cos(radians(37.5665)), 6371008.8 * radians(lat - 37.5665));

CREATE FUNCTION great_circle_m(
    lat1 double precision, lon1 double precision, lat2 double precision, lon2 double precision
) RETURNS double precision
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN 2 * 6371008.8 * asin(sqrt(least(1.0,
        sin(radians(lat2 - lat1) / 2) ^ 2
        + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)));

CREATE TABLE shelters (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind                  text NOT NULL CHECK (kind IN ('heat_wave', 'cold_wave', 'earthquake_outdoor',
                                                        'earthquake_indoor', 'temporary_housing', 'civil_defense')),
    name                  text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    address               text CHECK (char_length(address) <= 300),
    -- The district the source file names; informational only (a nearest search never filters by it).
    district              text REFERENCES districts (code),
    lat                   double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon                   double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    plane                 point NOT NULL GENERATED ALWAYS AS (geo_plane_m(lat, lon)) STORED,
    capacity_people       integer CHECK (capacity_people >= 0),
    area_m2               double precision CHECK (area_m2 >= 0),
    facility_type         text,
    opening_notes         text,
    contact               text,
    -- NULL: not known (none of the official files says).
    wheelchair_accessible boolean,
    active                boolean NOT NULL DEFAULT true,
    source                text NOT NULL CHECK (char_length(source) BETWEEN 1 AND 100),
    source_id             text NOT NULL CHECK (char_length(source_id) BETWEEN 1 AND 300),
    as_of                 date NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    -- Source ids are unique only within a file, and each official file holds one kind.
    UNIQUE (source, kind, source_id)
);

CREATE INDEX shelters_plane_idx ON shelters USING gist (plane) WHERE active;
