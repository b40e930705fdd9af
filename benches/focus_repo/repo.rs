//! A small focus-sessions repository in Rust with sqlx: the five functions of migration 0003
//! (claim documents 000 and 001), as the application had them (`old`) and as the claims
//! describe the rewrite (`new`). Written as application code is, not as querygate scenarios.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor};

#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct FocusSession {
    pub id: i64,
    pub user_id: i64,
    pub mode: String,
    pub status: String,
    pub duration_seconds: i32,
    pub started_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct SessionSummary {
    pub id: i64,
    pub mode: String,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct CompletedSession {
    pub id: i64,
    pub user_id: i64,
    pub status: String,
    pub duration_seconds: i32,
}

/// A page of sessions and the total the UI shows beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub sessions: Vec<SessionSummary>,
    pub total: i64,
}

pub const PAGE_SIZE: i64 = 20;

/// Unchanged by the migration: the composite index is what is claimed to make it fast.
pub async fn get_active_session<'e>(
    db: impl PgExecutor<'e>,
    user_id: i64,
) -> sqlx::Result<Option<FocusSession>> {
    sqlx::query_as(
        "SELECT id, user_id, mode, status, duration_seconds, started_at
         FROM focus_sessions
         WHERE user_id = $1 AND status = 'active'
         ORDER BY started_at DESC
         LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await
}

async fn page(
    conn: &mut PgConnection,
    user_id: i64,
    offset: i64,
) -> sqlx::Result<Vec<SessionSummary>> {
    sqlx::query_as(
        "SELECT id, mode, status, started_at, completed_at FROM focus_sessions
         WHERE user_id = $1 ORDER BY started_at DESC LIMIT $2 OFFSET $3",
    )
    .bind(user_id)
    .bind(PAGE_SIZE)
    .bind(offset)
    .fetch_all(conn)
    .await
}

pub mod old {
    use super::*;

    pub async fn list_sessions(
        conn: &mut PgConnection,
        user_id: i64,
        offset: i64,
    ) -> sqlx::Result<Page> {
        let total: i64 =
            sqlx::query_scalar("SELECT count(*) FROM focus_sessions WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(&mut *conn)
                .await?;
        let sessions = page(conn, user_id, offset).await?;
        Ok(Page { sessions, total })
    }

    /// Tracks first, then the library: two statements, no transaction.
    pub async fn delete_library(conn: &mut PgConnection, library_id: i64) -> sqlx::Result<bool> {
        sqlx::query("DELETE FROM focus_library_tracks WHERE library_id = $1")
            .bind(library_id)
            .execute(&mut *conn)
            .await?;
        let done = sqlx::query("DELETE FROM focus_libraries WHERE id = $1")
            .bind(library_id)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// INSERT then UPDATE, each committed on its own.
    pub async fn add_track(
        conn: &mut PgConnection,
        library_id: i64,
        title: &str,
        url: &str,
        position: i32,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO focus_library_tracks (library_id, track_title, track_url, position)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(library_id)
        .bind(title)
        .bind(url)
        .bind(position)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE focus_libraries SET track_count = track_count + 1, updated_at = now() WHERE id = $1",
        )
        .bind(library_id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Read the session, mark it completed, credit the user, read it back: 4 queries.
    pub async fn complete_session(
        conn: &mut PgConnection,
        session_id: i64,
    ) -> sqlx::Result<Option<CompletedSession>> {
        let found: Option<(i64, i32)> =
            sqlx::query_as("SELECT user_id, duration_seconds FROM focus_sessions WHERE id = $1")
                .bind(session_id)
                .fetch_optional(&mut *conn)
                .await?;
        let Some((user_id, seconds)) = found else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE focus_sessions SET status = 'completed', completed_at = now() WHERE id = $1",
        )
        .bind(session_id)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE users SET total_focus_seconds = total_focus_seconds + $1 WHERE id = $2",
        )
        .bind(i64::from(seconds))
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
        sqlx::query_as(
            "SELECT id, user_id, status, duration_seconds FROM focus_sessions WHERE id = $1",
        )
        .bind(session_id)
        .fetch_optional(&mut *conn)
        .await
    }
}

pub mod new {
    use sqlx::Connection;

    use super::*;

    /// "COUNT(*) replaced by an estimate": pg_stat_user_tables, COUNT(*) as the fallback.
    pub async fn list_sessions(
        conn: &mut PgConnection,
        user_id: i64,
        offset: i64,
    ) -> sqlx::Result<Page> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COALESCE(
                 (SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'focus_sessions'),
                 (SELECT count(*) FROM focus_sessions WHERE user_id = $1))",
        )
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
        let sessions = page(conn, user_id, offset).await?;
        Ok(Page { sessions, total })
    }

    /// "Rewritten with CASCADE, 2 queries → 1".
    pub async fn delete_library(conn: &mut PgConnection, library_id: i64) -> sqlx::Result<bool> {
        let done = sqlx::query("DELETE FROM focus_libraries WHERE id = $1")
            .bind(library_id)
            .execute(conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// "Added a transaction": the same INSERT and UPDATE, atomic.
    pub async fn add_track(
        conn: &mut PgConnection,
        library_id: i64,
        title: &str,
        url: &str,
        position: i32,
    ) -> sqlx::Result<()> {
        let mut tx = conn.begin().await?;
        super::old::add_track(&mut tx, library_id, title, url, position).await?;
        tx.commit().await
    }

    /// "Transactional batching": UPDATE … RETURNING gives what the old code read twice.
    pub async fn complete_session(
        conn: &mut PgConnection,
        session_id: i64,
    ) -> sqlx::Result<Option<CompletedSession>> {
        let mut tx = conn.begin().await?;
        let done: Option<CompletedSession> = sqlx::query_as(
            "UPDATE focus_sessions SET status = 'completed', completed_at = now() WHERE id = $1
             RETURNING id, user_id, status, duration_seconds",
        )
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(s) = &done {
            sqlx::query(
                "UPDATE users SET total_focus_seconds = total_focus_seconds + $1 WHERE id = $2",
            )
            .bind(i64::from(s.duration_seconds))
            .bind(s.user_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(done)
    }
}
