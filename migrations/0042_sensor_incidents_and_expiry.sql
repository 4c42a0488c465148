-- Gaps of city sensors (docs/sensors.md): a tripped rule opens an incident on the operators' hazard desk beside its
-- alert, and its alert expires unless the rule renews it. (Old readings partitions are dropped by the
-- sensors.partitions job with the partition machinery of 0032; nothing in the schema changes for that.)

-- An incident opened by a sensor, not by citizens' reports: which sensor and rule, and the measure that tripped
-- it. At most one open per (sensor, rule): a trip while one is open reuses it.
ALTER TABLE hazard_incidents
    ADD COLUMN source         text NOT NULL DEFAULT 'reports' CHECK (source IN ('reports', 'sensor')),
    ADD COLUMN sensor_id      text,
    ADD COLUMN sensor_rule    text,
    ADD COLUMN sensor_measure double precision,
    ADD CONSTRAINT hazard_incidents_sensor_check
        CHECK ((source = 'sensor') = (sensor_id IS NOT NULL AND sensor_rule IS NOT NULL AND sensor_measure IS NOT NULL));
CREATE UNIQUE INDEX hazard_incidents_sensor_open_idx ON hazard_incidents (sensor_id, sensor_rule)
    WHERE source = 'sensor' AND status IN ('submitted', 'acknowledged', 'in_progress');

-- A rule's incident, and when the alert now in force for it expires (renewed by an Update before then), with
-- the message now in force (the trip's Alert, or the last renewal) that the next Update or the Cancel refers to.
ALTER TABLE sensor_rules
    ADD COLUMN incident_id      bigint REFERENCES hazard_incidents (id),
    ADD COLUMN alert_expires_at timestamptz,
    ADD COLUMN alert_identifier text,
    ADD COLUMN alert_sent_at    timestamptz;

-- The chain of Updates behind an alert, walked back by api.alerts.repository.lineage: a Cancel at its end stands
-- down the safety checks the first alert opened.
CREATE INDEX alerts_replaced_by_idx ON alerts (replaced_by) WHERE replaced_by IS NOT NULL;
