-- 002's fix, "async refresh queue with 5-minute intervals": a write only enqueues a refresh
-- request; a scheduled job (not part of the measured path) refreshes the view CONCURRENTLY.
DROP TRIGGER progress_events_refresh ON progress_events;

CREATE TABLE mv_refresh_queue (
    view_name text PRIMARY KEY,
    requested_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION enqueue_user_progress_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mv_refresh_queue (view_name) VALUES ('user_progress')
    ON CONFLICT (view_name) DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER progress_events_enqueue_refresh
AFTER INSERT OR UPDATE OR DELETE ON progress_events
FOR EACH STATEMENT EXECUTE FUNCTION enqueue_user_progress_refresh();
