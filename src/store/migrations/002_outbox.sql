-- The alert outbox in full: an alert is "prepared" once its content (payload), its
-- photos, its sealed evidence and one delivery row per channel are committed together;
-- only prepared alerts are sent. A delivery keeps what the server last answered.
ALTER TABLE alerts ADD COLUMN prepared_at TEXT;
ALTER TABLE deliveries ADD COLUMN last_try_at TEXT;
ALTER TABLE deliveries ADD COLUMN receipt TEXT;
CREATE INDEX alerts_unprepared ON alerts(prepared_at) WHERE prepared_at IS NULL;
