//! Small PostgreSQL helpers shared by the modules that talk to the server: the parts of a
//! server error, its character position as a byte offset, and this host's name (which labels
//! scratch databases and containers).

use sqlx::postgres::{PgDatabaseError, PgErrorPosition};

/// This machine's host name, or `unknown`.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// PostgreSQL's description of `e` and the 1-based character position it reports, if `e` is
/// an error the server sent.
pub fn pg_error_parts(e: &sqlx::Error) -> Option<(String, Option<usize>)> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    let pg = db.try_downcast_ref::<PgDatabaseError>()?;
    let pos = match pg.position() {
        Some(PgErrorPosition::Original(chars)) => Some(chars),
        _ => None,
    };
    Some((describe_pg_error(pg), pos))
}

/// Byte offset of 1-based character position `chars` in `text`.
pub fn char_to_byte(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i)
}

/// PostgreSQL's message with its SQLSTATE, detail and hint.
pub fn describe_pg_error(pg: &PgDatabaseError) -> String {
    let mut s = format!("PostgreSQL error {}: {}", pg.code(), pg.message());
    if let Some(d) = pg.detail() {
        s.push_str(&format!("\n  detail: {d}"));
    }
    if let Some(h) = pg.hint() {
        s.push_str(&format!("\n  hint: {h}"));
    }
    if let Some(w) = pg.r#where() {
        s.push_str(&format!("\n  where: {w}"));
    }
    s
}
