//! The Rust API: measure an application's own repository functions, old and new, with the
//! same machinery as `querygate run` — from a `harness = false` bench target — or take just
//! the databases ([`Fixture`]) and keep criterion as the measuring loop.
//!
//! A scenario file gives the data (schema, seed, scale), the migration, the run settings, and
//! per operation its parameters, mode and claims. Registering an operation in code replaces
//! that operation's SQL by async Rust functions; everything else (provisioning, seeding,
//! migration, interleaved rounds, histograms, intervals, plans, claims, the gate, every
//! output, exit codes) is what `querygate run` does. See docs/rust-api.md.
//!
//! ```no_run
//! // benches/focus_repo.rs, with `[[bench]] name = "focus_repo" harness = false`
//! use querygate::bench::{after, before, both, Bench, Params};
//! use sqlx::PgConnection;
//!
//! async fn get_active(conn: &mut PgConnection, p: &Params) -> Result<Option<i64>, sqlx::Error> {
//!     sqlx::query_scalar("SELECT id FROM focus_sessions WHERE user_id = $1 AND status = 'active' LIMIT 1")
//!         .bind(p.i64(0))
//!         .fetch_optional(conn)
//!         .await
//! }
//! async fn delete_old(conn: &mut PgConnection, p: &Params) -> Result<(), sqlx::Error> {
//!     let id = p.i64(0);
//!     sqlx::query("DELETE FROM focus_library_tracks WHERE library_id = $1").bind(id).execute(&mut *conn).await?;
//!     sqlx::query("DELETE FROM focus_libraries WHERE id = $1").bind(id).execute(&mut *conn).await?;
//!     Ok(())
//! }
//! async fn delete_new(conn: &mut PgConnection, p: &Params) -> Result<(), sqlx::Error> {
//!     sqlx::query("DELETE FROM focus_libraries WHERE id = $1").bind(p.i64(0)).execute(conn).await?;
//!     Ok(())
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     Bench::from_scenario("scenarios/focus_sessions.toml")
//!         .operation("get_active_session", both(get_active))
//!         .operation("delete_library", (before(delete_old), after(delete_new)))
//!         .run() // `cargo bench --bench focus_repo -- --baseline results/baselines/focus_repo.json`
//! }
//! ```

mod fixture;

use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sqlx::postgres::PgConnection;

pub use crate::config::BackendKind;
pub use crate::scenario::code::{Code, Implementation, Operation, ParamError, Params, Registry};
pub use crate::scenario::{Mode, Value};
pub use fixture::{Fixture, FixtureBuilder};

use crate::config::{Command, Config};
use crate::error::{Error, Result};

/// The "before" half of an [`Implementation`]; pair it with [`after`] or [`Before::after`].
#[derive(Debug, Clone)]
pub struct Before(Code);

/// The "after" half of an [`Implementation`].
#[derive(Debug, Clone)]
pub struct After(Code);

/// One function for both sides: the migration alone makes the difference (an index, a
/// constraint).
///
/// ```
/// use querygate::bench::{both, Params};
/// async fn count(conn: &mut sqlx::PgConnection, p: &Params) -> Result<i64, sqlx::Error> {
///     sqlx::query_scalar("SELECT count(*) FROM focus_sessions WHERE user_id = $1")
///         .bind(p.i64(0))
///         .fetch_one(conn)
///         .await
/// }
/// let imp = both(count);
/// ```
pub fn both<F, T, E>(f: F) -> Implementation
where
    F: AsyncFn(&mut PgConnection, &Params) -> std::result::Result<T, E> + Send + Sync + 'static,
    T: fmt::Debug,
    E: Into<anyhow::Error>,
{
    let code = Code::new(f);
    Implementation {
        before: code.clone(),
        after: code,
    }
}

/// The old code, run on the database before the migration.
///
/// ```
/// use querygate::bench::{after, before, Params};
/// async fn old(_: &mut sqlx::PgConnection, _: &Params) -> Result<(), sqlx::Error> { Ok(()) }
/// async fn new(_: &mut sqlx::PgConnection, _: &Params) -> Result<(), sqlx::Error> { Ok(()) }
/// let a = before(old).after(new);
/// let b: querygate::bench::Implementation = (before(old), after(new)).into();
/// ```
pub fn before<F, T, E>(f: F) -> Before
where
    F: AsyncFn(&mut PgConnection, &Params) -> std::result::Result<T, E> + Send + Sync + 'static,
    T: fmt::Debug,
    E: Into<anyhow::Error>,
{
    Before(Code::new(f))
}

/// The new code, run on the database after the migration.
pub fn after<F, T, E>(f: F) -> After
where
    F: AsyncFn(&mut PgConnection, &Params) -> std::result::Result<T, E> + Send + Sync + 'static,
    T: fmt::Debug,
    E: Into<anyhow::Error>,
{
    After(Code::new(f))
}

impl Before {
    /// Completes the pair with the new code.
    pub fn after<F, T, E>(self, f: F) -> Implementation
    where
        F: AsyncFn(&mut PgConnection, &Params) -> std::result::Result<T, E> + Send + Sync + 'static,
        T: fmt::Debug,
        E: Into<anyhow::Error>,
    {
        (self, after(f)).into()
    }
}

impl From<(Before, After)> for Implementation {
    fn from((b, a): (Before, After)) -> Self {
        Implementation {
            before: b.0,
            after: a.0,
        }
    }
}

/// A querygate run of Rust operations, for a `harness = false` bench target.
///
/// ```no_run
/// use querygate::bench::{both, Bench, Params};
/// async fn find(conn: &mut sqlx::PgConnection, p: &Params) -> Result<Option<i64>, sqlx::Error> {
///     sqlx::query_scalar("SELECT id FROM focus_sessions WHERE user_id = $1 LIMIT 1")
///         .bind(p.i64(0))
///         .fetch_optional(conn)
///         .await
/// }
/// fn main() -> std::process::ExitCode {
///     Bench::from_scenario("scenarios/focus_sessions.toml")
///         .operation("get_active_session", both(find))
///         .run()
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Bench {
    scenario: PathBuf,
    registry: Registry,
    args: Option<Vec<OsString>>,
}

impl Bench {
    /// A run of the scenario file at `path` (relative paths from the current directory;
    /// `cargo bench` runs in the package root).
    pub fn from_scenario(path: impl Into<PathBuf>) -> Bench {
        Bench {
            scenario: path.into(),
            registry: Registry::default(),
            args: None,
        }
    }

    /// Measures `implementation` for the scenario's operation `name`, in place of its SQL;
    /// the operation's params, mode, claims and gate thresholds stay as the file says.
    pub fn operation(mut self, name: &str, implementation: impl Into<Implementation>) -> Bench {
        self.registry
            .replace
            .push((name.to_string(), implementation.into()));
        self
    }

    /// Adds an operation declared entirely in code.
    pub fn define(mut self, operation: Operation) -> Bench {
        self.registry.define.push(operation);
        self
    }

    /// Uses these arguments (without the program name) instead of the process's: the flags of
    /// `querygate run` (`--backend`, `--out`, `--baseline`, `--html` …) and name filters.
    pub fn args<I, S>(mut self, args: I) -> Bench
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args = Some(args.into_iter().map(Into::into).collect());
        self
    }

    /// Parses the flags, runs, prints the report on stdout, and returns the exit code
    /// `querygate run` would: 0 pass, 1 regression or refuted claim, 2 usage or scenario
    /// error, 3 infrastructure. Errors are printed on stderr.
    pub fn run(self) -> ExitCode {
        let program = std::env::args_os()
            .next()
            .unwrap_or_else(|| OsString::from("bench"));
        let args: Vec<OsString> = match &self.args {
            Some(a) => std::iter::once(program).chain(a.iter().cloned()).collect(),
            None => std::env::args_os().collect(),
        };
        let cli = match crate::cli::BenchCli::try_parse_from(args) {
            Ok(cli) => cli,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
            }
        };
        crate::error::exit(self.run_cli(cli, &mut std::io::stdout().lock()))
    }

    /// As [`Bench::run`], with the report written to `out` and the result returned.
    pub fn try_run(self, out: &mut dyn Write) -> Result<u8> {
        let args =
            std::iter::once(OsString::from("bench")).chain(self.args.clone().unwrap_or_default());
        let cli =
            crate::cli::BenchCli::try_parse_from(args).map_err(|e| Error::Usage(e.to_string()))?;
        self.run_cli(cli, out)
    }

    fn run_cli(self, cli: crate::cli::BenchCli, out: &mut dyn Write) -> Result<u8> {
        let (mut config, quiet) = cli.into_run_config(self.scenario)?;
        let only = std::mem::take(&mut config.implementations.only);
        config.implementations = self.registry;
        config.implementations.only = only;
        // One thread, as the CLI: the measured loop has no cross-thread wake-ups.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Infra(e.into()))?;
        rt.block_on(crate::run(
            Config {
                command: Command::Run(Box::new(config)),
                quiet,
            },
            out,
        ))
    }
}
