//! Server time: what the server spent executing each side's statements, read from
//! `pg_stat_statements` around each side's block of executions, outside the timed region.
//!
//! Each side runs on its own connection in its own scratch database and nothing else runs
//! there while it is measured, so the change of `sum(total_exec_time + total_plan_time)` and
//! `sum(calls)` over that database's entries between two snapshots is exactly the work of
//! that side's executions (BEGIN/COMMIT included when `track_utility` is on). The snapshots
//! are taken on a separate connection to the maintenance database, so the probe's own
//! statement lands under another database and never counts.

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Row};

/// Cumulative counters of one database, from one snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counter {
    /// Execution plus planning time, ms.
    pub time_ms: f64,
    /// Statements executed (top level).
    pub calls: i64,
}

/// Reads `pg_stat_statements` for the two scratch databases of a scenario. Its connection is
/// held for the whole run; the probe runs between sides, never inside a timed block.
pub struct ServerClock {
    conn: PgConnection,
    sql: String,
    databases: [String; 2],
}

impl ServerClock {
    /// Connects to the maintenance database and checks that `pg_stat_statements` is loaded
    /// and readable there. `Err` says why server time is unavailable (a run never fails for it).
    pub async fn open(
        admin: &PgConnectOptions,
        databases: [String; 2],
        create: bool,
    ) -> Result<ServerClock, String> {
        let mut conn = admin
            .clone()
            .application_name("querygate-server-time")
            .connect()
            .await
            .map_err(|e| format!("cannot connect to read pg_stat_statements: {e}"))?;
        let loaded: String =
            sqlx::query_scalar("SELECT current_setting('shared_preload_libraries')")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| format!("cannot read shared_preload_libraries: {e}"))?;
        if !loaded.split(',').any(|l| l.trim() == "pg_stat_statements") {
            return Err(
                "pg_stat_statements is not in shared_preload_libraries on this server".into(),
            );
        }
        if create {
            sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                .execute(&mut conn)
                .await
                .map_err(|e| format!("cannot create extension pg_stat_statements: {e}"))?;
        }
        let schema: Option<String> = sqlx::query_scalar(
            "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
             WHERE e.extname = 'pg_stat_statements'",
        )
        .fetch_optional(&mut conn)
        .await
        .map_err(|e| format!("cannot look up extension pg_stat_statements: {e}"))?;
        let Some(schema) = schema else {
            return Err("extension pg_stat_statements is not created in the database of the URL (CREATE EXTENSION pg_stat_statements there to get server time)".into());
        };
        // showtext = false: the query texts live in a file the probe need not read.
        let sql = format!(
            "SELECT d.datname::text, coalesce(sum(s.total_exec_time + s.total_plan_time), 0)::float8, \
             coalesce(sum(s.calls), 0)::int8 \
             FROM {}.pg_stat_statements(false) s JOIN pg_database d ON d.oid = s.dbid \
             WHERE d.datname = ANY($1) GROUP BY d.datname",
            quote_ident(&schema)
        );
        let mut clock = ServerClock {
            conn,
            sql,
            databases,
        };
        clock
            .snapshot()
            .await
            .map_err(|e| format!("cannot read pg_stat_statements: {e}"))?;
        Ok(clock)
    }

    /// The counters of the before and after databases now.
    pub async fn snapshot(&mut self) -> Result<[Counter; 2], sqlx::Error> {
        let rows = sqlx::query(&self.sql)
            .bind(self.databases.to_vec())
            .fetch_all(&mut self.conn)
            .await?;
        let mut out = [Counter::default(); 2];
        for r in rows {
            let name: String = r.get(0);
            if let Some(k) = self.databases.iter().position(|d| *d == name) {
                out[k] = Counter {
                    time_ms: r.get(1),
                    calls: r.get(2),
                };
            }
        }
        Ok(out)
    }

    pub async fn close(self) {
        self.conn.close().await.ok();
    }
}

/// Server time per execution (ns) of a block of `executions` between two snapshots, and the
/// statements counted, or why it cannot be trusted (entries evicted or reset meanwhile:
/// counters went down or did not move).
pub fn per_execution_ns(from: Counter, to: Counter, executions: u64) -> Result<(f64, i64), String> {
    let calls = to.calls - from.calls;
    let ms = to.time_ms - from.time_ms;
    if executions == 0 {
        return Err("no executions".into());
    }
    if calls < executions as i64 || ms < 0.0 {
        return Err(format!(
            "pg_stat_statements counted {calls} statements for {executions} executions: entries were evicted or reset during the run (raise pg_stat_statements.max)"
        ));
    }
    Ok((ms * 1e6 / executions as f64, calls))
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_divide_by_executions_and_refuse_evictions() {
        let a = Counter {
            time_ms: 10.0,
            calls: 100,
        };
        let b = Counter {
            time_ms: 12.0,
            calls: 300,
        };
        assert_eq!(per_execution_ns(a, b, 100).unwrap(), (20_000.0, 200));
        assert!(per_execution_ns(b, a, 100).is_err());
        assert!(per_execution_ns(a, a, 100).is_err());
        assert!(per_execution_ns(a, b, 0).is_err());
    }
}
