-- A device hears its district's topic and, for each of its citizen's places (home and watched), the topic of the
-- place's dong (dong-<code>), which carries warnings over whole dongs smaller than a district (docs/alerts.md,
-- "Who is told"). The set subscribed at FCM is kept here; topic_pending marks the devices to bring in step.
ALTER TABLE devices ADD COLUMN subscribed_topics text[] NOT NULL DEFAULT '{}';
UPDATE devices SET subscribed_topics = ARRAY[subscribed_topic] WHERE subscribed_topic IS NOT NULL;
UPDATE devices d SET topic_pending = true
WHERE EXISTS (SELECT 1 FROM citizen_places p WHERE p.citizen_id = d.citizen_id);
ALTER TABLE devices DROP COLUMN subscribed_topic;
