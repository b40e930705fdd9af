-- :users users, :scale events. The trigger is disabled while seeding (one refresh at the end).
INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, :users) AS g;
ALTER TABLE progress_events DISABLE TRIGGER progress_events_refresh;
INSERT INTO progress_events (user_id, xp, created_at)
SELECT 1 + floor(random() * :users)::bigint, 1 + floor(random() * 50)::int,
       timestamptz '2026-01-01' + random() * interval '30 days'
FROM generate_series(1, :scale);
ALTER TABLE progress_events ENABLE TRIGGER progress_events_refresh;
REFRESH MATERIALIZED VIEW user_progress;
