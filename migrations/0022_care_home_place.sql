-- A home picked from our places rather than given as a point: the place (a district, for now), its point kept in
-- home_lat/home_lon. The point is then the place's, not the door's, so nothing may call it "your home" to the
-- metre: a message that gives a distance from home gives it only when home_place is NULL.
ALTER TABLE care_recipients
    ADD COLUMN home_place text REFERENCES districts (code),
    ADD CONSTRAINT care_recipients_home_place_check CHECK (home_place IS NULL OR home_lat IS NOT NULL);
