-- Migration 0003 (MID-003 batch optimizations), as the claim documents describe it:
-- CASCADE on focus_library_tracks.library_id, and a composite index for get_active_session.
-- Claimed "non-blocking DDL, zero downtime"; note that a plain CREATE INDEX blocks writes to
-- focus_sessions while it builds, and re-adding the foreign key validates every row.

ALTER TABLE focus_library_tracks DROP CONSTRAINT focus_library_tracks_library_id_fk;

ALTER TABLE focus_library_tracks
    ADD CONSTRAINT focus_library_tracks_library_id_fk
    FOREIGN KEY (library_id) REFERENCES focus_libraries (id) ON DELETE CASCADE;

CREATE INDEX idx_focus_sessions_user_active ON focus_sessions (user_id, status, started_at DESC);
