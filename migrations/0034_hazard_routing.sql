-- Who fixes a hazard, and by when (docs/hazards.md, "Routing and deadlines"). Each category has a department
-- of the district office and a deadline, which operators edit; each incident keeps the district it lies in
-- (from the true boundaries, api/platform/boundaries.py), its category's department, and the deadline it was
-- promised when it opened or reopened. An edit applies to incidents opened after it.

CREATE TABLE hazard_routing (
    category         text PRIMARY KEY CHECK (category IN (
                         'sinkhole', 'road_damage', 'fallen_tree', 'flooding', 'landslide_risk', 'fire_smoke',
                         'gas_smell', 'damaged_structure', 'broken_streetlight', 'icy_road', 'other')),
    department_ko    text NOT NULL CHECK (char_length(department_ko) BETWEEN 1 AND 60),
    department_en    text NOT NULL CHECK (char_length(department_en) BETWEEN 1 AND 80),
    deadline_minutes integer NOT NULL CHECK (deadline_minutes BETWEEN 10 AND 60 * 24 * 90),
    updated_by       text NOT NULL,
    updated_at       timestamptz NOT NULL
);

INSERT INTO hazard_routing (category, department_ko, department_en, deadline_minutes, updated_by, updated_at) VALUES
    ('gas_smell',          '안전총괄과', 'Safety Management Division',     60,          'migration', now()),
    ('fire_smoke',         '안전총괄과', 'Safety Management Division',     60,          'migration', now()),
    ('flooding',           '치수과',     'Flood Control Division',         2 * 60,      'migration', now()),
    ('sinkhole',           '도로과',     'Road Management Division',       4 * 60,      'migration', now()),
    ('landslide_risk',     '안전총괄과', 'Safety Management Division',     4 * 60,      'migration', now()),
    ('icy_road',           '도로과',     'Road Management Division',       12 * 60,     'migration', now()),
    ('fallen_tree',        '공원녹지과', 'Parks and Greenery Division',    24 * 60,     'migration', now()),
    ('damaged_structure',  '건축과',     'Building Division',              24 * 60,     'migration', now()),
    ('road_damage',        '도로과',     'Road Management Division',       3 * 24 * 60, 'migration', now()),
    ('broken_streetlight', '도로과',     'Road Management Division',       7 * 24 * 60, 'migration', now()),
    ('other',              '안전총괄과', 'Safety Management Division',     7 * 24 * 60, 'migration', now());

-- Null only on incidents from before this migration until the routing job has placed them.
ALTER TABLE hazard_incidents
    ADD COLUMN district      text REFERENCES districts (code),
    ADD COLUMN department_ko text,
    ADD COLUMN department_en text,
    ADD COLUMN due_at        timestamptz,
    -- When it was last resolved or rejected; cleared when a reporter reopens it.
    ADD COLUMN handled_at    timestamptz;

UPDATE hazard_incidents i
SET department_ko = r.department_ko, department_en = r.department_en,
    due_at = i.first_reported_at + make_interval(mins => r.deadline_minutes),
    handled_at = CASE WHEN i.status IN ('resolved', 'rejected') THEN i.status_changed_at END
FROM hazard_routing r WHERE r.category = i.category;

-- The desk's lists and the share handled in time, per district.
CREATE INDEX hazard_incidents_district_idx ON hazard_incidents (district, first_reported_at);
CREATE INDEX hazard_incidents_due_idx ON hazard_incidents (due_at) WHERE handled_at IS NULL AND status <> 'merged';
CREATE INDEX hazard_incidents_unrouted_idx ON hazard_incidents (id) WHERE district IS NULL;
