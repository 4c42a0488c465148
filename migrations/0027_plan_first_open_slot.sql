-- A new plan's first check-in is the first planned time after now (or after a pause) whose window-before does
-- not already hold a sign of life: someone who checked in at 18:49 for 19:20 is not asked again at 19:20
-- because their plan was edited at 18:55 (docs/care.md, "Which sign of life answers which slot").
CREATE FUNCTION care_first_open_slot(times time[], days smallint[], window_min integer, after timestamptz,
                                     answered timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN answered IS NOT NULL AND answered >= s - make_interval(mins => window_min) AND answered <= s
                THEN care_next_slot(times, days, s) ELSE s END
    FROM (SELECT care_next_slot(times, days, after) AS s) AS first
$$;
