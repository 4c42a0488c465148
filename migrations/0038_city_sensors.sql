-- City sensors (docs/sensors.md): rain gauges and water levels, their readings in a table partitioned by day,
-- the threshold rules that raise a local alert with source 'sensor', and each rule's state (its hysteresis).
-- Independent of other partitioning work: only sensor_readings is partitioned here.

ALTER TABLE alerts DROP CONSTRAINT alerts_source_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_source_check CHECK (source IN ('kma', 'feed', 'post', 'sensor'));

CREATE TABLE city_sensors (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    kind        text NOT NULL CHECK (kind IN ('rain_gauge', 'road_water', 'river_level', 'underpass_water')),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    lat         double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    dong        text NOT NULL CHECK (dong ~ '^11[0-9]{6}$'),
    district    text NOT NULL REFERENCES districts (code),
    owner       text NOT NULL CHECK (char_length(owner) BETWEEN 1 AND 200),
    -- What an alert covers: the sensor's dong (NULL), or a circle of this radius around it.
    radius_m    integer CHECK (radius_m BETWEEN 50 AND 20000),
    created_at  timestamptz NOT NULL,
    CHECK (substr(dong, 1, 5) = district)
);

-- A rule: the measure (a rain sum over window_s, or the level itself when window_s is 0) trips at trip_at held
-- for trip_after_s, and stands down below clear_at held for clear_after_s (clear_at < trip_at: hysteresis).
CREATE TABLE sensor_rules (
    sensor_id      text NOT NULL REFERENCES city_sensors (id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (name ~ '^[a-z0-9_]{1,40}$'),
    window_s       integer NOT NULL CHECK (window_s BETWEEN 0 AND 86400),
    trip_at        double precision NOT NULL,
    clear_at       double precision NOT NULL,
    trip_after_s   integer NOT NULL CHECK (trip_after_s BETWEEN 0 AND 86400),
    clear_after_s  integer NOT NULL CHECK (clear_after_s BETWEEN 0 AND 86400),
    -- The hysteresis state: tripped or not, since when the measure has been past a threshold, the alert raised.
    tripped        boolean NOT NULL DEFAULT false,
    above_since    timestamptz,
    below_since    timestamptz,
    evaluated_at   timestamptz,
    alert_id       bigint REFERENCES alerts (id),
    tripped_at     timestamptz,
    PRIMARY KEY (sensor_id, name),
    CHECK (clear_at < trip_at)
);

-- Readings, one per (sensor, time); partitioned by day on their time. Partitions are made ahead by the
-- sensors.partitions job (and by sensor_readings_ensure, which ingest calls for a day that has none; making a
-- partition locks the parent until that batch commits, which is why the job makes them a week ahead).
CREATE TABLE sensor_readings (
    sensor_id    text NOT NULL,
    at           timestamptz NOT NULL,
    value        double precision NOT NULL,
    gateway      text NOT NULL,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (sensor_id, at)
) PARTITION BY RANGE (at);

-- Daily partitions, UTC days, from ``first`` to ``last`` inclusive; those that exist are left alone.
CREATE FUNCTION sensor_readings_ensure(first date, last date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    d date;
    made integer := 0;
    name text;
BEGIN
    -- One maker at a time: two batches that both find a day missing must not both create it.
    PERFORM pg_advisory_xact_lock(hashtext('sensor_readings_ensure'));
    FOR d IN SELECT generate_series(first, last, interval '1 day')::date LOOP
        name := 'sensor_readings_' || to_char(d, 'YYYYMMDD');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF sensor_readings FOR VALUES FROM (%L) TO (%L)',
                           name, (d::timestamp AT TIME ZONE 'UTC'), ((d + 1)::timestamp AT TIME ZONE 'UTC'));
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END
$$;

SELECT sensor_readings_ensure((now() AT TIME ZONE 'UTC')::date - 8, (now() AT TIME ZONE 'UTC')::date + 7);
