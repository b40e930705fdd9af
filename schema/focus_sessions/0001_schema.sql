-- Focus-sessions repository: the schema before migration 0003, reconstructed from the claim
-- documents (shared/claim-documents/000, 001). The claimed 50-100 ms for get_active_session
-- implies that no index served (user_id, status): none is defined here.

CREATE TABLE users (
    id                  bigint PRIMARY KEY,
    email               text NOT NULL UNIQUE,
    display_name        text NOT NULL,
    total_focus_seconds bigint NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL
);

CREATE TABLE focus_sessions (
    id               bigserial PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES users (id),
    mode             text NOT NULL CHECK (mode IN ('pomodoro', 'deep', 'break')),
    status           text NOT NULL CHECK (status IN ('active', 'completed', 'abandoned')),
    duration_seconds integer NOT NULL,
    started_at       timestamptz NOT NULL,
    completed_at     timestamptz
);

CREATE TABLE focus_libraries (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    name        text NOT NULL,
    track_count integer NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE focus_library_tracks (
    id          bigserial PRIMARY KEY,
    library_id  bigint NOT NULL,
    track_title text NOT NULL,
    track_url   text NOT NULL,
    position    integer NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT focus_library_tracks_library_id_fk FOREIGN KEY (library_id) REFERENCES focus_libraries (id)
);

-- Tracks are listed per library, so the foreign key column is indexed.
CREATE INDEX idx_focus_library_tracks_library ON focus_library_tracks (library_id);
