//! Plans of code querygate did not write: the statements a Rust operation executes, captured
//! with `auto_explain` while the function runs once in the EXPLAIN pass.
//!
//! Why this way: the function's SQL is not known in advance (it may loop, branch, bind other
//! types), so querygate cannot put `EXPLAIN` in front of it. `auto_explain` explains every
//! statement the server executes, with the real parameters, with `ANALYZE` and `BUFFERS`.
//! Setting `auto_explain.log_level = notice` sends each plan to the client as a notice on the
//! same connection instead of the server log, so nothing depends on where a backend keeps its
//! log, and plans are attributed to the operation and side by construction: only the side's
//! connection, only while its function runs. sqlx reports every notice and every finished
//! statement (with rows returned and affected) as a `tracing` event; a subscriber scoped to
//! this one call reads them, in order. Statements with no plan (BEGIN, SAVEPOINT, COMMIT, SET)
//! are kept too, so the list is every round trip the function made. sqlx's `begin()` is the one
//! statement sqlx does not report (it sends `BEGIN` or `SAVEPOINT` straight to the socket and
//! waits for the reply: a round trip of its own), so `log_statement = all` with
//! `client_min_messages = log` has the server announce every simple-protocol statement as a
//! notice, and the announced BEGIN/START/SAVEPOINT that no statement event follows is counted.
//! The function runs inside querygate's own transaction (rolled back), so its `begin()` arrives
//! as `SAVEPOINT _sqlx_savepoint_1`; the list names it as the function sends it when measured
//! (`BEGIN`, and `COMMIT` for the matching `RELEASE SAVEPOINT`).
//!
//! `LOAD 'auto_explain'` and its settings need a superuser: true on the servers querygate
//! starts (local, docker); on `--backend url` the role must be one, or the server must preload
//! `auto_explain`. After the call `auto_explain.log_min_duration = -1` turns it off again, so
//! measured executions are not explained.

use std::sync::{Arc, LazyLock, Mutex};

use anyhow::Context;
use serde_json::Value as Json;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};
use tracing::field::{Field, Visit};
use tracing::instrument::WithSubscriber;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};

use super::{facts, PlanFacts, StatementPlan};
use crate::scenario::code::Code;
use crate::scenario::Value;

const NOTICE_TARGET: &str = "sqlx::postgres::notice";
const QUERY_TARGET: &str = "sqlx::query";

/// What sqlx reported while the function ran.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// A notice (auto_explain sends one per planned statement, before it completes;
    /// `log_statement` one per simple-protocol statement, as it starts).
    Notice(String),
    /// A statement finished: its text and row counts.
    Query {
        sql: String,
        rows_returned: u64,
        rows_affected: u64,
    },
}

/// A `tracing` subscriber that records sqlx's notice and query events, and nothing else.
#[derive(Default, Clone)]
struct Capture {
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// sqlx asks `tracing::enabled!` (a "hint" callsite) before it builds an event: both count.
fn wanted(meta: &Metadata<'_>) -> bool {
    meta.target() == NOTICE_TARGET || meta.target() == QUERY_TARGET
}

impl Subscriber for Capture {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // "sometimes", never "always": outside this capture the process's own subscriber (or
        // none) decides, so sqlx does not start formatting query logs in measured loops.
        if wanted(meta) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        wanted(meta)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let seen = if event.metadata().target() == NOTICE_TARGET {
            Seen::Notice(f.message)
        } else {
            // `db.statement` holds the full text when it differs from the summary.
            let full = f.statement.trim();
            Seen::Query {
                sql: if full.is_empty() {
                    f.summary
                } else {
                    full.to_string()
                },
                rows_returned: f.rows_returned,
                rows_affected: f.rows_affected,
            }
        };
        self.seen.lock().expect("capture lock").push(seen);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Keeps sqlx's notice and query callsites interesting for the life of the process.
///
/// Why: `tracing` caches each callsite's interest globally, when the callsite is first hit. While
/// exactly one dispatcher is registered, that first hit asks only the *current thread's*
/// default. So if a capture is alive on one thread and another thread (a second run in the same
/// process, a test running beside it, the user's own code) hits a sqlx callsite for the first
/// time outside any capture, the callsite is cached as "never" and the live capture silently
/// loses its notices or statements: plans and round trips go missing. A second, permanent
/// dispatcher that always answers "sometimes" for the wanted callsites (and is never anyone's
/// default, so it receives nothing) makes `tracing` ask every registered dispatcher and keeps
/// those callsites checked per event, where only the current capture says yes.
struct Keeper;

impl Subscriber for Keeper {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if wanted(meta) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::OFF)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

static KEEPER: LazyLock<Dispatch> = LazyLock::new(|| Dispatch::new(Keeper));

/// Registers the keeper (once per process) before a capture starts.
fn keep_callsites() {
    LazyLock::force(&KEEPER);
}

#[derive(Default)]
struct Fields {
    message: String,
    summary: String,
    statement: String,
    rows_returned: u64,
    rows_affected: u64,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_string(),
            "summary" => self.summary = value.to_string(),
            "db.statement" => self.statement = value.to_string(),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "rows_returned" => self.rows_returned = value,
            "rows_affected" => self.rows_affected = value,
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

/// auto_explain as the EXPLAIN pass of SQL sides runs EXPLAIN: ANALYZE, BUFFERS, VERBOSE,
/// JSON, with trigger times (foreign-key cascades).
const ENABLE: &[&str] = &[
    "SET auto_explain.log_min_duration = 0",
    "SET auto_explain.log_analyze = on",
    "SET auto_explain.log_buffers = on",
    "SET auto_explain.log_timing = on",
    "SET auto_explain.log_triggers = on",
    "SET auto_explain.log_verbose = on",
    "SET auto_explain.log_nested_statements = off",
    "SET auto_explain.log_format = json",
    "SET auto_explain.log_level = notice",
    "SET log_statement = 'all'",
    "SET client_min_messages = log",
];

/// Undoes what `ENABLE` turned on, so that measured executions are neither explained nor
/// announced.
const DISABLE: &str = "SET auto_explain.log_min_duration = -1; RESET log_statement; \
                       RESET client_min_messages";

async fn enable_auto_explain(conn: &mut PgConnection) -> anyhow::Result<()> {
    if let Err(e) = conn.execute("LOAD 'auto_explain'").await {
        // Preloaded (shared_ or session_preload_libraries) is as good as loaded.
        let loaded: Option<String> =
            sqlx::query_scalar("SELECT current_setting('auto_explain.log_format', true)")
                .fetch_one(&mut *conn)
                .await
                .unwrap_or(None);
        if loaded.is_none() {
            return Err(anyhow::Error::new(e).context(
                "plans of Rust operations come from auto_explain, which this server does not let \
                 querygate load (LOAD needs a superuser). Use --backend local or docker, connect \
                 as a superuser, or add auto_explain to session_preload_libraries",
            ));
        }
    }
    for sql in ENABLE {
        conn.execute(*sql)
            .await
            .with_context(|| format!("cannot configure auto_explain: {sql}"))?;
    }
    Ok(())
}

/// Runs `code` once with `values` inside a transaction that is rolled back, and returns one
/// entry per statement it executed: a plan for planned statements, none for utility ones.
/// The digest of the function's returned value rides on the last entry (`returned`, and its
/// `checksum` in the results file), so that the side's result digest is what the function
/// handed back.
pub async fn explain_code(
    conn: &mut PgConnection,
    code: &Code,
    values: &[Value],
) -> anyhow::Result<Vec<StatementPlan>> {
    enable_auto_explain(conn).await?;
    keep_callsites();
    let capture = Capture::default();
    let seen = capture.seen.clone();
    let mut tx = conn.begin().await?;
    let result = code.digest(&mut tx, values).with_subscriber(capture).await;
    let rolled_back = tx.rollback().await;
    let disabled = conn.execute(DISABLE).await;
    let digest = result.with_context(|| format!("{} failed", code.name))?;
    rolled_back?;
    disabled?;
    let seen = std::mem::take(&mut *seen.lock().expect("capture lock"));
    let mut plans = statements(seen);
    if let Some(last) = plans.last_mut() {
        last.checksum = digest;
        last.returned = Some(digest);
    }
    Ok(plans)
}

/// A statement with no plan, as one round trip of the function.
fn unplanned(sql: String, rows_returned: u64, rows_affected: u64) -> StatementPlan {
    StatementPlan {
        facts: PlanFacts {
            signature: format!("(no plan) {}", first_word(&sql)),
            ..Default::default()
        },
        sql,
        plan: Json::Null,
        rows_returned,
        rows_affected,
        checksum: 0,
        returned: None,
    }
}

/// A statement the server announced (`log_statement`) that opens a transaction or savepoint:
/// the one kind sqlx's `begin()` sends without reporting it.
fn announced_begin(message: &str) -> Option<String> {
    let sql = message.strip_prefix("statement: ")?.trim();
    matches!(first_word(sql).as_str(), "BEGIN" | "START" | "SAVEPOINT").then(|| sql.to_string())
}

/// The statement as the function sends it when measured: inside querygate's transaction its
/// `begin()` is sqlx's savepoint of depth 1, outside it is `BEGIN` (and so on for the
/// savepoint's release and rollback, and for deeper savepoints, one level up).
fn as_measured(sql: String) -> String {
    const NAME: &str = "_sqlx_savepoint_";
    let Some(at) = sql.find(NAME) else {
        return sql;
    };
    let Ok(depth) = sql[at + NAME.len()..].trim().parse::<u32>() else {
        return sql;
    };
    let verb = sql[..at].trim().to_ascii_uppercase();
    match (depth, verb.as_str()) {
        (1, "SAVEPOINT") => "BEGIN".into(),
        (1, "RELEASE SAVEPOINT") => "COMMIT".into(),
        (1, "ROLLBACK TO SAVEPOINT") => "ROLLBACK".into(),
        (d, _) if d > 1 => format!("{}{NAME}{}", &sql[..at], d - 1),
        _ => sql,
    }
}

/// Pairs notices with the statement that completes after them.
fn statements(seen: Vec<Seen>) -> Vec<StatementPlan> {
    let mut out = Vec::new();
    let mut pending: Vec<Json> = Vec::new();
    // An announced BEGIN/SAVEPOINT (its index in `out`): dropped again when the next
    // reported statement is the same one (the function sent it itself, and sqlx reported it).
    let mut announced: Option<(usize, String)> = None;
    for s in seen {
        match s {
            Seen::Notice(m) => match announced_begin(&m) {
                Some(sql) => {
                    announced = Some((out.len(), sql.clone()));
                    out.push(unplanned(as_measured(sql), 0, 0));
                }
                None => pending.extend(parse_notice(&m)),
            },
            Seen::Query {
                sql,
                rows_returned,
                rows_affected,
            } => {
                if let Some((at, begin)) = announced.take() {
                    if begin == sql.trim() {
                        out.remove(at);
                    }
                }
                if pending.is_empty() {
                    out.push(unplanned(
                        as_measured(sql.clone()),
                        rows_returned,
                        rows_affected,
                    ));
                }
                let n = pending.len();
                for (k, plan) in pending.drain(..).enumerate() {
                    let text = plan[0]
                        .get("Query Text")
                        .and_then(Json::as_str)
                        .map_or(sql.clone(), |t| t.trim().to_string());
                    let last = k + 1 == n;
                    out.push(StatementPlan {
                        sql: text,
                        facts: facts(&plan).unwrap_or_default(),
                        plan,
                        rows_returned: if last { rows_returned } else { 0 },
                        rows_affected: if last { rows_affected } else { 0 },
                        checksum: 0,
                        returned: None,
                    });
                }
            }
        }
    }
    out
}

fn first_word(sql: &str) -> String {
    sql.split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

/// An auto_explain notice, `duration: 0.123 ms  plan:\n{…}`, as the `[ {…} ]` document
/// EXPLAIN returns, with its duration as `Execution Time`. Other notices give nothing.
fn parse_notice(message: &str) -> Option<Json> {
    let rest = message.strip_prefix("duration: ")?;
    let (ms, json) = rest.split_once(" ms")?;
    let json = json.trim_start().strip_prefix("plan:")?;
    let mut doc: Json = serde_json::from_str(json.trim()).ok()?;
    let ms: f64 = ms.trim().parse().ok()?;
    let obj = doc.as_object_mut()?;
    obj.insert("Execution Time".into(), Json::from(ms));
    Some(Json::Array(vec![doc]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTICE: &str = "duration: 0.052 ms  plan:\n{\n  \"Query Text\": \"SELECT * FROM t WHERE id = $1\",\n  \"Plan\": {\n    \"Node Type\": \"Index Scan\",\n    \"Relation Name\": \"t\",\n    \"Index Name\": \"t_pkey\",\n    \"Actual Rows\": 1,\n    \"Actual Loops\": 1,\n    \"Shared Hit Blocks\": 3\n  }\n}";

    #[test]
    fn notices_become_plans_of_the_statement_that_follows() {
        let seen = vec![
            Seen::Query {
                sql: "BEGIN".into(),
                rows_returned: 0,
                rows_affected: 0,
            },
            Seen::Notice(NOTICE.into()),
            Seen::Notice("some other notice".into()),
            Seen::Query {
                sql: "SELECT".into(),
                rows_returned: 1,
                rows_affected: 0,
            },
        ];
        let plans = statements(seen);
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[0].sql, "BEGIN");
        assert_eq!(plans[0].facts.signature, "(no plan) BEGIN");
        assert!(plans[0].plan.is_null());
        assert_eq!(plans[1].sql, "SELECT * FROM t WHERE id = $1");
        assert_eq!(plans[1].facts.signature, "Index Scan using t_pkey on t");
        assert_eq!(plans[1].facts.indexes, vec!["t_pkey".to_string()]);
        assert_eq!(plans[1].facts.shared_hit_blocks, 3);
        assert_eq!(plans[1].facts.execution_ms, 0.052);
        assert_eq!(plans[1].rows_returned, 1);
    }

    fn query(sql: &str) -> Seen {
        Seen::Query {
            sql: sql.into(),
            rows_returned: 0,
            rows_affected: 0,
        }
    }

    /// sqlx's `begin()` is reported by nobody but the server's announcement: it counts as a
    /// round trip, named as the function sends it when measured; a BEGIN the function sent
    /// itself (announced and reported) counts once.
    #[test]
    fn an_unreported_begin_counts_once_and_under_its_measured_name() {
        let seen = vec![
            Seen::Notice("statement: SAVEPOINT _sqlx_savepoint_1".into()),
            Seen::Notice("execute sqlx_s_1: INSERT INTO t VALUES ($1)".into()),
            Seen::Notice(NOTICE.into()),
            query("INSERT INTO t VALUES ($1)"),
            Seen::Notice("statement: SAVEPOINT _sqlx_savepoint_2".into()),
            query("SAVEPOINT _sqlx_savepoint_2"),
            Seen::Notice("statement: RELEASE SAVEPOINT _sqlx_savepoint_1".into()),
            query("RELEASE SAVEPOINT _sqlx_savepoint_1"),
        ];
        let sql: Vec<String> = statements(seen).into_iter().map(|p| p.sql).collect();
        assert_eq!(
            sql,
            [
                "BEGIN",
                "SELECT * FROM t WHERE id = $1",
                "SAVEPOINT _sqlx_savepoint_1",
                "COMMIT"
            ]
        );
    }

    #[test]
    fn savepoints_are_named_one_level_up() {
        assert_eq!(as_measured("SAVEPOINT _sqlx_savepoint_1".into()), "BEGIN");
        assert_eq!(
            as_measured("RELEASE SAVEPOINT _sqlx_savepoint_1".into()),
            "COMMIT"
        );
        assert_eq!(
            as_measured("ROLLBACK TO SAVEPOINT _sqlx_savepoint_1".into()),
            "ROLLBACK"
        );
        assert_eq!(
            as_measured("RELEASE SAVEPOINT _sqlx_savepoint_3".into()),
            "RELEASE SAVEPOINT _sqlx_savepoint_2"
        );
        assert_eq!(as_measured("SAVEPOINT mine".into()), "SAVEPOINT mine");
        assert_eq!(as_measured("SELECT 1".into()), "SELECT 1");
    }

    /// A callsite first hit on another thread while a capture is alive must still reach the
    /// capture (tracing would otherwise cache it as "never": see `Keeper`).
    #[test]
    fn a_capture_sees_callsites_first_hit_on_other_threads() {
        fn emit() {
            tracing::info!(target: NOTICE_TARGET, "duration: 1 ms  plan:\n{{}}");
        }
        keep_callsites();
        let capture = Capture::default();
        let seen = capture.seen.clone();
        tracing::subscriber::with_default(capture, || {
            std::thread::spawn(emit).join().unwrap();
            emit();
        });
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(matches!(&seen[0], Seen::Notice(m) if m.starts_with("duration: 1 ms")));
    }

    #[test]
    fn only_auto_explain_notices_parse() {
        assert!(parse_notice("relation \"x\" already exists, skipping").is_none());
        assert!(parse_notice("duration: 1.5 ms  plan:\nnot json").is_none());
        assert!(parse_notice(NOTICE).is_some());
    }
}
