-- The flood-risk households and their partners (care.flood, docs/flood.md) are a part of an alert's fan-out of
-- their own, after the people in care: a slow or failing flood dispatch rolls back alone and is retried, and
-- never holds back the care messages or the districts' SMS.
ALTER TABLE alert_fanouts DROP CONSTRAINT alert_fanouts_parts_check;
ALTER TABLE alert_fanouts ADD CONSTRAINT alert_fanouts_parts_check
    CHECK (parts <@ ARRAY['care', 'flood', 'district_sms', 'places']);
