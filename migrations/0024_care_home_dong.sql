-- A person in care's home as a dong: the one their home point lies in, or, for a home picked as a dong with no
-- point, the home itself; a warning whose shapes overlap that dong then reaches them, as it does a citizen's
-- dong-only place. Homes kept before this have a point and no dong.
ALTER TABLE care_recipients ADD COLUMN home_dong text CHECK (home_dong ~ '^11[0-9]{6}$');
CREATE INDEX care_recipients_home_dong_idx ON care_recipients (home_dong) WHERE home IS NULL;
