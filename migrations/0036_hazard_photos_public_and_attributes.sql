-- Photos: what is kept is re-encoded without metadata (no EXIF, no GPS, turned the way it was taken); beside it a
-- resized copy, which is what the public sees of a public report's photo (docs/hazards.md, "Photos").
-- Open311 service attributes ("is it blocking the road?") answered with a report.

ALTER TABLE hazard_photos
    ADD COLUMN public_key          text,
    ADD COLUMN public_content_type text CHECK (public_content_type IN ('image/jpeg')),
    ADD COLUMN width               integer CHECK (width > 0),
    ADD COLUMN height              integer CHECK (height > 0),
    ADD CHECK ((public_key IS NULL) = (public_content_type IS NULL));

ALTER TABLE hazard_reports ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(attributes) = 'object');
