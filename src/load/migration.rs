//! The migration under live load: its files split into statements (`scenario::sql_statements`,
//! psql's rule), each run and timed in its own session while the clients go on.

use sqlx::postgres::PgConnection;

use crate::scenario::SqlFile;

/// One statement of the migration, as run under load.
#[derive(Debug, Clone)]
pub struct StatementRun {
    pub file: String,
    /// 1-based line of the statement in its file.
    pub line: usize,
    pub sql: String,
    /// ns since the load run's origin.
    pub start_ns: u64,
    pub end_ns: u64,
    /// The server's error, when the statement failed (the migration stops there).
    pub error: Option<String>,
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Runs every statement of `files` on `conn` (the simple protocol, one statement at a time, so
/// `CREATE INDEX CONCURRENTLY` works), stopping at the first failure. `now_ns` is the load
/// run's clock; each statement is pushed to `out` as it finishes.
pub async fn run(
    conn: &mut PgConnection,
    files: &[SqlFile],
    now_ns: impl Fn() -> u64,
    out: &mut Vec<StatementRun>,
) {
    for f in files {
        for range in crate::scenario::sql_statements(&f.text) {
            let sql = &f.text[range.clone()];
            let start_ns = now_ns();
            // In `out` before it runs: a run interrupted now (Ctrl-C, the time limit) keeps
            // the statement it was in, with how long it had run (`InFlight`'s drop).
            out.push(StatementRun {
                file: f.path.display().to_string(),
                line: line_of(&f.text, range.start),
                sql: sql.to_string(),
                start_ns,
                end_ns: start_ns,
                error: Some(INTERRUPTED.into()),
            });
            let running = InFlight {
                last: out.last_mut().expect("just pushed"),
                now_ns: &now_ns,
            };
            let result = sqlx::raw_sql(sql).execute(&mut *conn).await;
            let error = result
                .err()
                .map(|e| crate::pg::pg_error_parts(&e).map_or_else(|| e.to_string(), |(m, _)| m));
            let failed = error.is_some();
            running.last.error = error;
            drop(running);
            if failed {
                return;
            }
        }
    }
}

/// What a statement the run stopped in says instead of a server error.
const INTERRUPTED: &str = "did not finish: the run was interrupted while it ran";

/// The statement running now: its end is stamped when it finishes or when the run is dropped
/// in the middle of it.
struct InFlight<'a, F: Fn() -> u64> {
    last: &'a mut StatementRun,
    now_ns: &'a F,
}

impl<F: Fn() -> u64> Drop for InFlight<'_, F> {
    fn drop(&mut self) {
        self.last.end_ns = (self.now_ns)();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_located_by_line() {
        let sql = "-- a comment; not a split\nCREATE TABLE t (a text DEFAULT 'x;y');\n\nCREATE INDEX CONCURRENTLY i ON t (a)";
        let lines: Vec<usize> = crate::scenario::sql_statements(sql)
            .into_iter()
            .map(|r| line_of(sql, r.start))
            .collect();
        assert_eq!(lines, vec![2, 4]);
    }
}
