-- Claim document 002, "Materialized View Optimization": before the fix, every write to
-- progress_events refreshes the user_progress materialized view in the writer's transaction
-- ("blocking database writes with immediate refresh").
CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);

CREATE TABLE progress_events (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    xp integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX progress_events_user_idx ON progress_events (user_id);

CREATE MATERIALIZED VIEW user_progress AS
SELECT user_id, count(*) AS events, sum(xp) AS xp, max(created_at) AS last_event
FROM progress_events GROUP BY user_id;
CREATE UNIQUE INDEX user_progress_user_idx ON user_progress (user_id);

CREATE FUNCTION refresh_user_progress() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    REFRESH MATERIALIZED VIEW user_progress;
    RETURN NULL;
END $$;

CREATE TRIGGER progress_events_refresh
AFTER INSERT OR UPDATE OR DELETE ON progress_events
FOR EACH STATEMENT EXECUTE FUNCTION refresh_user_progress();
