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

#![warn(missing_docs)]

mod fixture;

use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use sqlx::postgres::PgConnection;

pub use crate::config::BackendKind;
pub use crate::scenario::code::{Implementation, Operation, ParamError, Params};
pub use crate::scenario::{Mode, Value};
pub use fixture::{Fixture, FixtureBuilder};

use crate::cli::BenchRequest;
use crate::config::{Command, Config, RunConfig};
use crate::error::{Error, Result};
use crate::scenario::code::{Code, Registry};

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

/// The new code, run on the database after the migration; pair it with [`before`] as a tuple
/// (or use [`Before::after`]).
///
/// ```
/// use querygate::bench::{after, before, Params};
/// async fn old(c: &mut sqlx::PgConnection, p: &Params) -> Result<u64, sqlx::Error> {
///     let tracks = sqlx::query("DELETE FROM focus_library_tracks WHERE library_id = $1")
///         .bind(p.i64(0))
///         .execute(&mut *c)
///         .await?;
///     let library = sqlx::query("DELETE FROM focus_libraries WHERE id = $1")
///         .bind(p.i64(0))
///         .execute(&mut *c)
///         .await?;
///     Ok(library.rows_affected())
/// }
/// async fn new(c: &mut sqlx::PgConnection, p: &Params) -> Result<u64, sqlx::Error> {
///     let library = sqlx::query("DELETE FROM focus_libraries WHERE id = $1") // ON DELETE CASCADE
///         .bind(p.i64(0))
///         .execute(c)
///         .await?;
///     Ok(library.rows_affected())
/// }
/// let delete_library = (before(old), after(new));
/// ```
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
    ///
    /// ```
    /// use querygate::bench::{before, Implementation, Params};
    /// async fn old(_: &mut sqlx::PgConnection, _: &Params) -> Result<(), sqlx::Error> { Ok(()) }
    /// async fn new(_: &mut sqlx::PgConnection, _: &Params) -> Result<(), sqlx::Error> { Ok(()) }
    /// let imp: Implementation = before(old).after(new);
    /// ```
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
    /// `cargo bench` runs in the package root). The file is read when the bench runs.
    ///
    /// ```
    /// let bench = querygate::Bench::from_scenario("scenarios/focus_sessions.toml");
    /// ```
    pub fn from_scenario(path: impl Into<PathBuf>) -> Bench {
        Bench {
            scenario: path.into(),
            registry: Registry::default(),
            args: None,
        }
    }

    /// Measures `implementation` for the scenario's operation `name`, in place of its SQL;
    /// the operation's params, mode, claims and gate thresholds stay as the file says. A
    /// name the file does not have is refused when the bench runs (exit code 2).
    ///
    /// ```
    /// use querygate::bench::{after, before, both, Bench, Params};
    /// async fn get(c: &mut sqlx::PgConnection, p: &Params) -> Result<Option<i64>, sqlx::Error> {
    ///     sqlx::query_scalar("SELECT id FROM focus_sessions WHERE user_id = $1 AND status = 'active'")
    ///         .bind(p.i64(0))
    ///         .fetch_optional(c)
    ///         .await
    /// }
    /// async fn old(_: &mut sqlx::PgConnection, _: &Params) -> Result<(), sqlx::Error> { Ok(()) }
    /// async fn new(_: &mut sqlx::PgConnection, _: &Params) -> Result<(), sqlx::Error> { Ok(()) }
    /// let bench = Bench::from_scenario("scenarios/focus_sessions.toml")
    ///     .operation("get_active_session", both(get))
    ///     .operation("add_track", before(old).after(new))
    ///     .operation("delete_library", (before(old), after(new)));
    /// ```
    pub fn operation(mut self, name: &str, implementation: impl Into<Implementation>) -> Bench {
        self.registry
            .replace
            .push((name.to_string(), implementation.into()));
        self
    }

    /// Adds an operation declared entirely in code (one the scenario file does not have);
    /// see [`Operation`].
    ///
    /// ```
    /// use querygate::bench::{both, Bench, Mode, Operation, Params};
    /// async fn touch(c: &mut sqlx::PgConnection, p: &Params) -> Result<u64, sqlx::Error> {
    ///     let done = sqlx::query("UPDATE users SET total_focus_seconds = total_focus_seconds + 1 WHERE id = $1")
    ///         .bind(p.i64(0))
    ///         .execute(c)
    ///         .await?;
    ///     Ok(done.rows_affected())
    /// }
    /// let bench = Bench::from_scenario("scenarios/focus_sessions.toml").define(
    ///     Operation::new("touch_user", both(touch))
    ///         .params(["random(1, :users)"])
    ///         .claim("no seq scan on users")
    ///         .mode(Mode::Rollback),
    /// );
    /// ```
    pub fn define(mut self, operation: Operation) -> Bench {
        self.registry.define.push(operation);
        self
    }

    /// Uses these arguments (without the program name) instead of the process's: the flags of
    /// `querygate run` (`--backend`, `--out`, `--baseline`, `--html` …) and name filters.
    ///
    /// ```
    /// let bench = querygate::Bench::from_scenario("scenarios/focus_sessions.toml")
    ///     .args(["--backend", "local", "--rounds", "5", "add_track"]);
    /// ```
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
    /// error, 3 infrastructure. Errors are printed on stderr. libtest's `--list` prints
    /// nothing and returns 0; its other flags are ignored (docs/rust-api.md).
    ///
    /// ```no_run
    /// # use querygate::bench::{both, Bench, Params};
    /// # async fn find(_: &mut sqlx::PgConnection, _: &Params) -> Result<(), sqlx::Error> { Ok(()) }
    /// fn main() -> std::process::ExitCode {
    ///     Bench::from_scenario("scenarios/focus_sessions.toml")
    ///         .operation("get_active_session", both(find))
    ///         .run() // reads `cargo bench --bench NAME -- <flags>`
    /// }
    /// ```
    pub fn run(self) -> ExitCode {
        let program = std::env::args_os()
            .next()
            .unwrap_or_else(|| OsString::from("bench"));
        let args: Vec<OsString> = match &self.args {
            Some(a) => std::iter::once(program).chain(a.iter().cloned()).collect(),
            None => std::env::args_os().collect(),
        };
        crate::error::exit(self.run_args(args, &mut std::io::stdout().lock()))
    }

    /// As [`Bench::run`], with the report written to `out` and the result returned; the
    /// arguments are those given to [`Bench::args`] (none: the scenario's own settings),
    /// never the process's.
    ///
    /// ```no_run
    /// # use querygate::bench::{both, Bench, Params};
    /// # async fn find(_: &mut sqlx::PgConnection, _: &Params) -> Result<(), sqlx::Error> { Ok(()) }
    /// let mut report = Vec::new();
    /// let code = Bench::from_scenario("scenarios/focus_sessions.toml")
    ///     .operation("get_active_session", both(find))
    ///     .args(["--backend", "local", "--format", "json", "--out", "results/r.json"])
    ///     .try_run(&mut report)?;
    /// assert!(code <= 1, "0 pass, 1 a refuted claim or a regression");
    /// # Ok::<(), querygate::Error>(())
    /// ```
    pub fn try_run(self, out: &mut dyn Write) -> Result<u8> {
        let args =
            std::iter::once(OsString::from("bench")).chain(self.args.clone().unwrap_or_default());
        self.run_args(args.collect(), out)
    }

    fn run_args(self, args: Vec<OsString>, out: &mut dyn Write) -> Result<u8> {
        match crate::cli::parse_bench_args(args, self.scenario.clone())? {
            BenchRequest::List => Ok(0),
            BenchRequest::Print(text) => {
                out.write_all(text.as_bytes())
                    .map_err(|e| Error::Infra(e.into()))?;
                Ok(0)
            }
            BenchRequest::Run(config, quiet) => self.run_config(*config, quiet, out),
        }
    }

    fn run_config(self, mut config: RunConfig, quiet: bool, out: &mut dyn Write) -> Result<u8> {
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
