-- How each step of a plan's ladder reaches someone (care/steps.py): the person asked by a message or a call, the
-- first guardian by a message, a call or both, and at the urgent step every guardian texted with or without a call
-- to the first. NULL: as the person's contact_by says, which is how every plan worked before.

ALTER TABLE checkin_plans
    ADD COLUMN first_ask_by  text CHECK (first_ask_by IN ('message', 'call')),
    ADD COLUMN ask_again_by  text CHECK (ask_again_by IN ('message', 'call')),
    ADD COLUMN guardian_by   text CHECK (guardian_by IN ('message', 'call', 'message+call')),
    ADD COLUMN urgent_by     text CHECK (urgent_by IN ('message', 'message+call'));

-- A safety check is answered by a call too (the call's 1, or any check-in by call while it is open): before this,
-- such a check-in was refused by the constraint and the person's answer lost.
ALTER TABLE safety_checks DROP CONSTRAINT safety_checks_safe_via_check;
ALTER TABLE safety_checks ADD CONSTRAINT safety_checks_safe_via_check
    CHECK (safe_via IN ('app', 'sms', 'chat', 'sensor', 'staff', 'voice'));
