-- People on duty: a staff phone, each district's weekly rota and the city night desk's, and the escalation of
-- every urgent case along them until someone acknowledges it.

-- A staff member's mobile number, told of urgent cases while on duty (E.164; the API checks it is a mobile).
ALTER TABLE staff ADD COLUMN phone text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$');
CREATE OR REPLACE VIEW staff_accounts AS
SELECT s.id, s.email, s.name, s.role, s.active, s.created_at,
       s.password_hash IS NOT NULL AS has_password,
       coalesce(array_agg(d.district ORDER BY d.district) FILTER (WHERE d.district IS NOT NULL), '{}') AS districts,
       s.phone
FROM staff s
LEFT JOIN staff_districts d ON d.staff_id = s.id
GROUP BY s.id;

-- A rota is a week of shifts in Asia/Seoul local time, as minutes from Monday 00:00 (0 … 10080); each names
-- who is told, in order: the first at once, the next if nobody acknowledged within the escalation time. A
-- district's shifts tile the week (the API refuses gaps and overlaps); district NULL is the city night desk,
-- told after everyone on the district's shift.
CREATE TABLE care_rota_shifts (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    district  text REFERENCES districts (code),
    starts    integer NOT NULL CHECK (starts >= 0 AND starts < 10080),
    ends      integer NOT NULL CHECK (ends > starts AND ends <= 10080),
    staff_ids bigint[] NOT NULL CHECK (cardinality(staff_ids) BETWEEN 1 AND 10)
);
CREATE INDEX care_rota_shifts_district_idx ON care_rota_shifts (district, starts);

-- Who has been told of an urgent case, step by step (step 0 at once): the chain stops at the acknowledgement.
-- When the case's chain began or took its last step; NULL: not begun, or ended (everyone named was told).
ALTER TABLE cases ADD COLUMN escalated_at timestamptz;
CREATE INDEX cases_escalation_idx ON cases (escalated_at) WHERE state = 'open' AND escalated_at IS NOT NULL;
CREATE TABLE case_escalations (
    case_id     bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    step        smallint NOT NULL CHECK (step >= 0),
    staff_id    bigint NOT NULL REFERENCES staff (id),
    phone       text NOT NULL,
    notified_at timestamptz NOT NULL,
    PRIMARY KEY (case_id, step)
);
CREATE INDEX case_escalations_phone_idx ON case_escalations (phone, notified_at);
