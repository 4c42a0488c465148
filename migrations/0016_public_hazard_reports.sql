-- Which hazard reports the public sees (api/hazards/public.py, docs/api.md): those filed through Open311, and
-- app reports whose reporter chose so. Reports made before this are private unless they came through Open311,
-- so nothing a citizen sent from the app becomes public without their say.

ALTER TABLE hazard_reports ADD COLUMN is_public boolean NOT NULL DEFAULT false;
UPDATE hazard_reports SET is_public = true WHERE source = 'open311';
ALTER TABLE hazard_reports ADD CONSTRAINT hazard_reports_open311_public CHECK (source <> 'open311' OR is_public);

-- The public map counts an incident's public reports; Open311 lists public reports newest first.
CREATE INDEX hazard_reports_public_incident_idx ON hazard_reports (incident_id) WHERE is_public;
CREATE INDEX hazard_reports_public_reported_idx ON hazard_reports (reported_at DESC, id DESC) WHERE is_public;

-- As in 0009, with the reporter's choice at the end (so that its reporter sees it).
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
       r.is_public
FROM hazard_reports r
JOIN hazard_incidents i ON i.id = r.incident_id;
