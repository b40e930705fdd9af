//! Databases for one scenario: a seeded template, and "before" and "after" cloned from it.
//!
//! template: schema files, base migrations, seed script (with variables, `setseed`), ANALYZE
//! before, after: `CREATE DATABASE … TEMPLATE` (byte-identical data, same physical order)
//! after: the migration under test, timed
//! both: VACUUM ANALYZE, then CHECKPOINT so that measurement starts from a quiet server.

mod substitute;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Executor};

pub use substitute::substitute;

use crate::error::{Error, Located, Result};
use crate::pg::{char_to_byte, hostname, pg_error_parts};
use crate::scenario::{Scenario, SqlFile, Value};

/// Names of one scenario's scratch databases. All start with `qg_`, carry the querygate
/// process id (for the leftover sweep), and are unique per run.
#[derive(Debug, Clone)]
pub struct Names {
    pub template: String,
    pub before: String,
    pub after: String,
}

impl Names {
    pub fn new(run_tag: &str, index: usize) -> Self {
        let base = format!("qg_{run_tag}_{index}");
        Names {
            template: format!("{base}_template"),
            before: format!("{base}_before"),
            after: format!("{base}_after"),
        }
    }

    pub fn all(&self) -> [&str; 3] {
        [&self.template, &self.before, &self.after]
    }
}

/// Time spent on one SQL file.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FileTiming {
    /// The file, as named by the scenario.
    pub file: String,
    pub duration_ms: f64,
}

/// What preparing the databases measured.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    pub seed_ms: f64,
    pub migration_ms: f64,
    pub migration_files: Vec<FileTiming>,
}

/// Creates, seeds and clones the databases, and applies the migration to "after".
/// `session_settings` are set on the scratch databases (`ALTER DATABASE … SET`).
pub async fn prepare(
    admin: &PgConnectOptions,
    scenario: &Scenario,
    names: &Names,
    session_settings: &BTreeMap<String, String>,
    mut on_step: impl FnMut(&str),
) -> Result<Prepared> {
    let mut out = Prepared::default();
    let mut admin_conn = connect(admin).await?;
    create_database(&mut admin_conn, &names.template, None).await?;

    on_step("loading schema and seed data");
    let started = Instant::now();
    let mut tpl = connect(&admin.clone().database(&names.template)).await?;
    durable_commits(&mut tpl).await?;
    for f in scenario.schema.iter().chain(&scenario.migration.base) {
        run_file(&mut tpl, f, None).await?;
    }
    let seed_value = scenario
        .vars
        .get("seed")
        .and_then(|v| {
            if let Value::Int(i) = v {
                Some(*i)
            } else {
                None
            }
        })
        .unwrap_or(0);
    // setseed() takes [-1, 1]; map the scenario seed into it so that random() in seed scripts
    // is deterministic for a given seed.
    let fraction = (seed_value % 1_000_000) as f64 / 1_000_000.0;
    tpl.execute(format!("SELECT setseed({fraction})").as_str())
        .await
        .context("setseed failed")?;
    for f in &scenario.seed {
        run_file(&mut tpl, f, Some(&scenario.vars)).await?;
    }
    tpl.execute("VACUUM ANALYZE")
        .await
        .context("VACUUM ANALYZE of the template failed")?;
    tpl.close().await.ok();
    out.seed_ms = ms(started.elapsed());

    on_step("cloning before and after databases");
    for db in [&names.before, &names.after] {
        create_database(&mut admin_conn, db, Some(&names.template)).await?;
        for (k, v) in session_settings {
            let sql = format!(
                "ALTER DATABASE {} SET {} = {}",
                ident(db),
                ident(k),
                literal(v)
            );
            admin_conn
                .execute(sql.as_str())
                .await
                .with_context(|| format!("cannot apply setting {k} = {v}"))?;
        }
    }

    if !scenario.migration.up.is_empty() {
        on_step("applying the migration to the after database");
    }
    let mut after = connect(&admin.clone().database(&names.after)).await?;
    durable_commits(&mut after).await?;
    for f in &scenario.migration.up {
        let d = run_migration_file(&mut after, f).await?;
        out.migration_files.push(FileTiming {
            file: f.path.display().to_string(),
            duration_ms: ms(d),
        });
    }
    out.migration_ms = out
        .migration_files
        .iter()
        .fold(0.0, |acc, f| acc + f.duration_ms);
    after.close().await.ok();

    on_step("VACUUM ANALYZE and CHECKPOINT");
    for db in [&names.before, &names.after] {
        let mut c = connect(&admin.clone().database(db)).await?;
        c.execute("VACUUM ANALYZE")
            .await
            .with_context(|| format!("VACUUM ANALYZE of {db} failed"))?;
        c.close().await.ok();
    }
    // CHECKPOINT needs superuser or pg_checkpoint; on a shared server without them, skip it.
    let _ = admin_conn.execute("CHECKPOINT").await;
    admin_conn.close().await.ok();
    Ok(out)
}

/// Makes this session's commits wait for their WAL flush. querygate's servers run with
/// `synchronous_commit = off`, and VACUUM marks a page all-visible only when it can set the
/// "committed" hint bit of every tuple, which it may not while the inserting transaction's commit
/// record is unflushed: a VACUUM right after an asynchronous seed left the table without a
/// visibility map (seen as index-only scans costed with heap fetches, and a plan other than
/// production's), depending on whether the WAL writer had flushed in between.
async fn durable_commits(conn: &mut PgConnection) -> anyhow::Result<()> {
    conn.execute("SET synchronous_commit = on")
        .await
        .context("cannot set synchronous_commit for seeding")?;
    Ok(())
}

/// Drops the scratch databases (those that exist). Used at the end, on error and on Ctrl-C.
pub async fn drop_databases(admin: &PgConnectOptions, names: &Names) -> anyhow::Result<()> {
    let mut conn = admin
        .connect()
        .await
        .context("cannot connect to drop scratch databases")?;
    for db in names.all() {
        conn.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(db)).as_str())
            .await
            .with_context(|| format!("cannot drop scratch database {db}"))?;
    }
    conn.close().await.ok();
    Ok(())
}

/// The owner label written as the comment of every scratch database: enough to tell, from
/// another querygate process, whether the owner may still be alive. A host name and pid alone
/// are not: two CI containers share host names and pid numbers. So the label also names the
/// kernel boot (`boot=`), the pid namespace (`pidns=`) and the process's start time (`start=`,
/// clock ticks since boot), which together identify one process.
pub fn owner_label(pid: u32) -> String {
    format!(
        "querygate pid={pid} host={} boot={} pidns={} start={}",
        hostname(),
        boot_id(),
        pid_namespace(),
        process_start(pid).unwrap_or_default()
    )
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn pid_namespace() -> String {
    std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.display().to_string().replace(['[', ']', ':'], ""))
        .unwrap_or_else(|_| "unknown".into())
}

/// Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot.
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after its `)` are plain.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19).map(str::to_string)
}

/// Whether the owner named by `comment` is certainly gone: written by a querygate process of
/// this host, boot and pid namespace, whose pid now runs nothing or another process.
fn owner_gone(comment: &str) -> Option<u32> {
    let field = |k: &str| {
        comment
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")).map(str::to_string))
    };
    let pid = field("pid")?.parse::<u32>().ok()?;
    let same_machine = field("host")? == hostname()
        && field("boot")? == boot_id()
        && field("pidns")? == pid_namespace()
        && boot_id() != "unknown"
        && pid_namespace() != "unknown";
    if !same_machine || pid == std::process::id() {
        return None;
    }
    match process_start(pid) {
        None => Some(pid),
        Some(start) if field("start").as_deref() != Some(start.as_str()) => Some(pid),
        Some(_) => None,
    }
}

/// Drops scratch databases whose querygate process is certainly gone (see [`owner_gone`]) and
/// that nobody is connected to; returns a line per database dropped and a warning per failure.
/// Never `WITH (FORCE)`: a database in use is left alone.
pub async fn sweep_databases(admin: &PgConnectOptions) -> anyhow::Result<Vec<String>> {
    let mut conn = admin.connect().await?;
    let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT d.datname, shobj_description(d.oid, 'pg_database'), \
         (SELECT count(*) FROM pg_stat_activity a WHERE a.datname = d.datname) \
         FROM pg_database d WHERE d.datname LIKE 'qg\\_%'",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut lines = Vec::new();
    for (db, comment, sessions) in rows {
        let Some(pid) = comment.as_deref().and_then(owner_gone) else {
            continue;
        };
        if sessions > 0 {
            lines.push(format!(
                "left scratch database {db} alone: its querygate process {pid} is gone but {sessions} session(s) are connected"
            ));
            continue;
        }
        match conn
            .execute(format!("DROP DATABASE IF EXISTS {}", ident(&db)).as_str())
            .await
        {
            Ok(_) => lines.push(format!(
                "dropped scratch database {db} left by querygate process {pid}"
            )),
            Err(e) => lines.push(format!(
                "warning: cannot drop scratch database {db} left by querygate process {pid}: {e}"
            )),
        }
    }
    conn.close().await.ok();
    Ok(lines)
}

async fn create_database(
    admin: &mut PgConnection,
    name: &str,
    template: Option<&str>,
) -> Result<()> {
    let mut sql = format!("CREATE DATABASE {}", ident(name));
    if let Some(t) = template {
        sql.push_str(&format!(" TEMPLATE {}", ident(t)));
    }
    admin
        .execute(sql.as_str())
        .await
        .with_context(|| format!("cannot create scratch database {name}"))?;
    let comment = owner_label(std::process::id());
    admin
        .execute(
            format!(
                "COMMENT ON DATABASE {} IS {}",
                ident(name),
                literal(&comment)
            )
            .as_str(),
        )
        .await
        .with_context(|| format!("cannot label scratch database {name}"))?;
    Ok(())
}

pub async fn connect(opts: &PgConnectOptions) -> Result<PgConnection> {
    Ok(opts.connect().await.with_context(|| {
        format!(
            "cannot connect to database {}",
            opts.get_database().unwrap_or("?")
        )
    })?)
}

/// Runs a whole SQL file (simple protocol, so several statements are fine, in one implicit
/// transaction unless the file has its own). A PostgreSQL error is located in the file: at the
/// position the server reports, else at the start of the failing statement, which is the one
/// after the statements the server completed (one `CommandComplete` each).
pub async fn run_file(
    conn: &mut PgConnection,
    file: &SqlFile,
    vars: Option<&BTreeMap<String, Value>>,
) -> Result<Duration> {
    use futures::TryStreamExt;
    let (sql, map) = match vars {
        Some(v) => substitute(&file.text, v),
        None => (file.text.clone(), substitute::OffsetMap::identity()),
    };
    let started = Instant::now();
    let mut completed = 0usize;
    let mut results = sqlx::raw_sql(&sql).fetch_many(&mut *conn);
    loop {
        match results.try_next().await {
            Ok(Some(either::Either::Left(_))) => completed += 1,
            Ok(Some(either::Either::Right(_))) => {}
            Ok(None) => return Ok(started.elapsed()),
            Err(e) => {
                let sent = SentFile {
                    path: &file.path,
                    original: &file.text,
                    sent: &sql,
                    map: &map,
                };
                return Err(sql_error(e, &sent, completed));
            }
        }
    }
}

/// A migration file: whole (one round trip), or statement by statement when it has a statement
/// that cannot run in the implicit transaction of a multi-statement query (`… CONCURRENTLY`).
async fn run_migration_file(conn: &mut PgConnection, file: &SqlFile) -> Result<Duration> {
    if !file.text.to_ascii_uppercase().contains("CONCURRENTLY") {
        return run_file(conn, file, None).await;
    }
    let started = Instant::now();
    for range in crate::scenario::sql_statements(&file.text) {
        let sql = &file.text[range.clone()];
        if let Err(e) = sqlx::raw_sql(sql).execute(&mut *conn).await {
            return Err(statement_error(e, file, range));
        }
    }
    Ok(started.elapsed())
}

/// An error from one statement of a file (sent alone, at `range` of the file), located in the
/// file.
fn statement_error(e: sqlx::Error, file: &SqlFile, range: std::ops::Range<usize>) -> Error {
    let Some((message, position)) = pg_error_parts(&e) else {
        return Error::Infra(
            anyhow::Error::new(e).context(format!("while running {}", file.path.display())),
        );
    };
    let sql = &file.text[range.clone()];
    let offset = range.start + position.map_or(0, |chars| char_to_byte(sql, chars));
    Error::Scenario(Located::at(
        &file.path,
        &file.text,
        offset,
        format!("{message}\n  statement: {}", statement_excerpt(sql)),
    ))
}

/// An SQL file as written and as sent (after `:var` substitution).
pub struct SentFile<'a> {
    pub path: &'a std::path::Path,
    pub original: &'a str,
    pub sent: &'a str,
    pub map: &'a substitute::OffsetMap,
}

/// Turns an error from running a file, after `completed` statements succeeded, into a located
/// scenario error (a server error, placed where the server says or at the failing statement,
/// which is shown), or an infrastructure error (anything else).
pub fn sql_error(e: sqlx::Error, file: &SentFile<'_>, completed: usize) -> Error {
    let Some((message, position)) = pg_error_parts(&e) else {
        return Error::Infra(
            anyhow::Error::new(e).context(format!("while running {}", file.path.display())),
        );
    };
    let statements = crate::scenario::sql_statements(file.sent);
    // The failing statement: the one holding the server's position, else the next one.
    let failing = match position {
        Some(chars) => {
            let at = char_to_byte(file.sent, chars);
            statements
                .iter()
                .find(|r| at < r.end.max(r.start + 1))
                .cloned()
        }
        None => statements.get(completed).cloned(),
    };
    let offset = match (position, &failing) {
        (Some(chars), _) => char_to_byte(file.sent, chars),
        (None, Some(r)) => r.start,
        (None, None) => return Error::Scenario(Located::file(file.path, message)),
    };
    let message = match failing {
        Some(r) => format!(
            "{message}\n  statement: {}",
            statement_excerpt(&file.sent[r])
        ),
        None => message,
    };
    Error::Scenario(Located::at(
        file.path,
        file.original,
        file.map.to_original(offset),
        message,
    ))
}

/// A statement on one line, shortened: enough to recognise it in the message.
fn statement_excerpt(sql: &str) -> String {
    let one_line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(160) {
        Some((cut, _)) => format!("{} …", &one_line[..cut]),
        None => one_line,
    }
}

pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
