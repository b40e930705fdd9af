-- Deterministic seed: querygate calls setseed() before this script, so random() gives the
-- same rows for the same scale and seed. Variables: :scale (sessions), :users, :libraries,
-- :tracks_per_library.

INSERT INTO users (id, email, display_name, created_at)
SELECT g, 'user' || g || '@example.com', 'User ' || g, timestamptz '2025-01-01' + g * interval '1 minute'
FROM generate_series(1, :users) AS g;

-- History: finished sessions spread over a year, users drawn uniformly.
INSERT INTO focus_sessions (user_id, mode, status, duration_seconds, started_at, completed_at)
SELECT u, m, s, d, t, t + d * interval '1 second'
FROM (
    SELECT 1 + floor(random() * :users)::bigint AS u,
           (ARRAY['pomodoro', 'deep', 'break'])[1 + floor(random() * 3)::int] AS m,
           CASE WHEN random() < 0.9 THEN 'completed' ELSE 'abandoned' END AS s,
           (300 + floor(random() * 3300))::int AS d,
           timestamptz '2025-01-01' + random() * interval '365 days' AS t
    FROM generate_series(1, :scale)
) AS x;

-- Every other user has one session running now.
INSERT INTO focus_sessions (user_id, mode, status, duration_seconds, started_at)
SELECT g, 'pomodoro', 'active', 1500, timestamptz '2026-01-17 09:00' + (g % 60) * interval '1 minute'
FROM generate_series(2, :users, 2) AS g;

INSERT INTO focus_libraries (user_id, name, track_count, updated_at)
SELECT 1 + (g - 1) % :users, 'Library ' || g, :tracks_per_library, timestamptz '2025-06-01'
FROM generate_series(1, :libraries) AS g;

INSERT INTO focus_library_tracks (library_id, track_title, track_url, position, added_at)
SELECT l, 'Track ' || p, 'https://cdn.example.com/tracks/' || l || '/' || p || '.mp3', p, timestamptz '2025-06-01'
FROM generate_series(1, :libraries) AS l, generate_series(1, :tracks_per_library) AS p;
