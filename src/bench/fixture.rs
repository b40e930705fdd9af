//! The databases alone, for people who keep criterion (or anything else) as the measuring
//! loop: a server, the scenario's data seeded into a template, a "before" and an "after"
//! clone with the migration applied to "after" — the preparation `querygate run` does —
//! and everything removed again when the fixture is dropped, also while a panic unwinds.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use sqlx::postgres::PgConnectOptions;

use crate::config::BackendConfig;
use crate::config::BackendKind;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::provision::{self, Server};
use crate::scenario::{self, Scenario, Value};
use crate::seed::{self, Names};

/// Options for [`Fixture`]; start with [`Fixture::builder`].
///
/// ```no_run
/// use querygate::bench::BackendKind;
/// use querygate::Fixture;
///
/// let db = Fixture::builder("scenarios/focus_sessions.toml")
///     .backend(BackendKind::Local)
///     .scale(10_000)
///     .quiet()
///     .start()?;
/// # Ok::<(), querygate::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FixtureBuilder {
    scenario: PathBuf,
    backend: BackendKind,
    database_url: Option<String>,
    image: String,
    scale: Option<i64>,
    quiet: bool,
}

impl FixtureBuilder {
    /// Where the server comes from (default: `QUERYGATE_BACKEND`, else `auto`: docker when
    /// usable, else a local ephemeral cluster).
    ///
    /// ```no_run
    /// # use querygate::{bench::BackendKind, Fixture};
    /// let db = Fixture::builder("scenarios/focus_sessions.toml").backend(BackendKind::Docker).start()?;
    /// # Ok::<(), querygate::Error>(())
    /// ```
    pub fn backend(mut self, kind: BackendKind) -> Self {
        self.backend = kind;
        self
    }

    /// The existing server for [`BackendKind::Url`] (default: `DATABASE_URL`). querygate
    /// creates and drops its own scratch databases there.
    ///
    /// ```no_run
    /// # use querygate::{bench::BackendKind, Fixture};
    /// let db = Fixture::builder("scenarios/focus_sessions.toml")
    ///     .backend(BackendKind::Url)
    ///     .database_url("postgres://postgres@localhost:5432/postgres")
    ///     .start()?;
    /// # Ok::<(), querygate::Error>(())
    /// ```
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    /// Overrides the scenario's `data.scale`.
    ///
    /// ```no_run
    /// # use querygate::Fixture;
    /// let db = Fixture::builder("scenarios/focus_sessions.toml").scale(1_000).start()?;
    /// assert_eq!(db.scale(), 1_000);
    /// # Ok::<(), querygate::Error>(())
    /// ```
    pub fn scale(mut self, scale: i64) -> Self {
        self.scale = Some(scale);
        self
    }

    /// No progress lines on stderr.
    ///
    /// ```no_run
    /// # use querygate::Fixture;
    /// let db = Fixture::builder("scenarios/focus_sessions.toml").quiet().start()?;
    /// # Ok::<(), querygate::Error>(())
    /// ```
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// Starts the server, seeds, clones and migrates. Blocks; callable inside or outside an
    /// async runtime. Errors: the scenario's (exit code 2 in [`Error::exit_code`]), or the
    /// server's, Docker's, the file system's (3).
    ///
    /// ```no_run
    /// # use querygate::Fixture;
    /// let db = Fixture::builder("scenarios/focus_sessions.toml").start()?;
    /// # Ok::<(), querygate::Error>(())
    /// ```
    pub fn start(self) -> Result<Fixture> {
        let scenario = scenario::load(&self.scenario, self.scale)?;
        if self.backend == BackendKind::Url && self.database_url.is_none() {
            return Err(Error::Usage(
                "backend url needs a database URL (FixtureBuilder::database_url or DATABASE_URL)"
                    .into(),
            ));
        }
        let cfg = BackendConfig {
            kind: self.backend,
            database_url: self.database_url,
            image: self.image,
            pg_bindir: std::env::var_os("QUERYGATE_PG_BINDIR").map(PathBuf::from),
            // The measuring thread is the caller's, not querygate's: nothing to pin it with.
            placement: crate::config::Placement::Free,
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| Error::Infra(e.into()))?;
        let quiet = self.quiet;
        let mut settings = provision::pinned_settings();
        settings.extend(scenario.settings.clone());
        let server = on_own_thread(&rt, move || async move {
            let mut progress = Progress::new(quiet);
            provision::start(&cfg, settings, &mut progress).await
        })?;
        let mut fixture = Fixture {
            admin: server.admin_options(),
            names: Names::new(&crate::app::run_tag(), 0),
            server: Some(server),
            rt: Some(rt),
            scenario,
        };
        fixture.prepare(quiet)?;
        Ok(fixture)
    }
}

/// A server with a scenario's "before" and "after" databases, removed on drop.
///
/// ```no_run
/// use querygate::Fixture;
/// use sqlx::{ConnectOptions, Connection};
///
/// let db = Fixture::start("scenarios/focus_sessions.toml")?;
/// let rt = tokio::runtime::Runtime::new()?;
/// rt.block_on(async {
///     let mut before = db.before().connect().await?;
///     let mut after = db.after().connect().await?;
///     // … measure your functions on each, e.g. inside criterion's `b.to_async(&rt).iter(…)`
///     before.close().await?;
///     after.close().await?;
///     Ok::<(), sqlx::Error>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Fixture {
    rt: Option<tokio::runtime::Runtime>,
    server: Option<Box<dyn Server>>,
    admin: PgConnectOptions,
    names: Names,
    scenario: Scenario,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture")
            .field("scenario", &self.scenario.name)
            .field("before", &self.names.before)
            .field("after", &self.names.after)
            .finish()
    }
}

impl Fixture {
    /// Prepares the databases of the scenario file at `path` with default options (see
    /// [`Fixture::builder`]).
    ///
    /// ```no_run
    /// let db = querygate::Fixture::start("scenarios/focus_sessions.toml")?;
    /// # Ok::<(), querygate::Error>(())
    /// ```
    pub fn start(path: impl Into<PathBuf>) -> Result<Fixture> {
        Fixture::builder(path).start()
    }

    /// Options for a fixture of the scenario file at `path`; nothing starts before
    /// [`FixtureBuilder::start`].
    ///
    /// ```
    /// let builder = querygate::Fixture::builder("scenarios/focus_sessions.toml").scale(1_000);
    /// ```
    pub fn builder(path: impl Into<PathBuf>) -> FixtureBuilder {
        let backend = std::env::var("QUERYGATE_BACKEND")
            .ok()
            .and_then(|b| match b.to_ascii_lowercase().as_str() {
                "auto" => Some(BackendKind::Auto),
                "docker" => Some(BackendKind::Docker),
                "local" => Some(BackendKind::Local),
                "url" => Some(BackendKind::Url),
                _ => None,
            })
            .unwrap_or(BackendKind::Auto);
        FixtureBuilder {
            scenario: path.into(),
            backend,
            database_url: std::env::var("DATABASE_URL").ok(),
            image: std::env::var("QUERYGATE_IMAGE").unwrap_or_else(|_| "postgres:17".into()),
            scale: None,
            quiet: false,
        }
    }

    /// Connection options for the database before the migration.
    ///
    /// ```no_run
    /// use sqlx::ConnectOptions;
    /// # async fn f(db: &querygate::Fixture) -> Result<(), sqlx::Error> {
    /// let mut conn = db.before().connect().await?;
    /// let n: i64 = sqlx::query_scalar("SELECT count(*) FROM focus_sessions")
    ///     .fetch_one(&mut conn)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn before(&self) -> PgConnectOptions {
        self.admin
            .clone()
            .database(&self.names.before)
            .application_name("querygate-fixture")
    }

    /// Connection options for the database after the migration.
    ///
    /// ```no_run
    /// use sqlx::{ConnectOptions, Connection};
    /// # async fn f(db: &querygate::Fixture) -> Result<(), sqlx::Error> {
    /// let mut conn = db.after().connect().await?;
    /// conn.ping().await?;
    /// # Ok(()) }
    /// ```
    pub fn after(&self) -> PgConnectOptions {
        self.admin
            .clone()
            .database(&self.names.after)
            .application_name("querygate-fixture")
    }

    /// The scenario's variables, folded to constants: `scale`, `seed` and its own (`users`,
    /// …), to size the parameters of a criterion loop as the scenario's `params` do.
    ///
    /// ```no_run
    /// use querygate::bench::Value;
    /// let db = querygate::Fixture::start("scenarios/focus_sessions.toml")?;
    /// let Value::Int(users) = db.vars()["users"] else { panic!("users is an integer") };
    /// let user_id = 1 + 42 % users; // in 1..=users, as `random(1, :users)`
    /// # Ok::<(), querygate::Error>(())
    /// ```
    pub fn vars(&self) -> &BTreeMap<String, Value> {
        &self.scenario.vars
    }

    /// The scale the data was seeded at (the scenario's `data.scale`, or
    /// [`FixtureBuilder::scale`]).
    ///
    /// ```no_run
    /// let db = querygate::Fixture::start("scenarios/focus_sessions.toml")?;
    /// println!("{} focus sessions", db.scale());
    /// # Ok::<(), querygate::Error>(())
    /// ```
    pub fn scale(&self) -> i64 {
        self.scenario.scale
    }

    /// Drops the scratch databases and stops the server now, reporting failures (dropping
    /// the fixture does the same and ignores them).
    ///
    /// ```no_run
    /// let db = querygate::Fixture::start("scenarios/focus_sessions.toml")?;
    /// // … measure …
    /// db.cleanup()?;
    /// # Ok::<(), querygate::Error>(())
    /// ```
    pub fn cleanup(mut self) -> Result<()> {
        self.teardown()
    }

    fn prepare(&mut self, quiet: bool) -> Result<()> {
        let rt = self.rt.as_ref().expect("runtime until teardown");
        let owns = self.server.as_ref().is_some_and(|s| s.owns_server());
        let (admin, scenario, names) = (
            self.admin.clone(),
            self.scenario.clone(),
            self.names.clone(),
        );
        on_own_thread(rt, move || async move {
            let mut progress = Progress::new(quiet);
            let settings = crate::pipeline::database_settings(&admin, &scenario, owns).await?;
            let label = scenario.name.clone();
            for n in &settings.not_applied {
                progress.step(&format!(
                    "{label}: warning: setting {} = {} not applied: {}",
                    n.name, n.value, n.reason
                ));
            }
            let settings = settings.apply;
            seed::prepare(&admin, &scenario, &names, &settings, |step| {
                progress.step(&format!("{label}: {step}"))
            })
            .await
            .map(drop)
        })
    }

    fn teardown(&mut self) -> Result<()> {
        let (Some(rt), Some(server)) = (self.rt.take(), self.server.take()) else {
            return Ok(());
        };
        let (admin, names) = (self.admin.clone(), self.names.clone());
        let result = on_own_thread(&rt, move || async move {
            // A server querygate started goes away whole; on a shared one, only its databases.
            if !server.owns_server() {
                seed::drop_databases(&admin, &names).await?;
            }
            server.shutdown().await
        });
        rt.shutdown_background();
        result.map_err(Error::Infra)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

/// Runs the future `make` builds on the fixture's runtime, from a thread of its own, so that a
/// fixture can be started and dropped from synchronous code and from inside another runtime
/// alike. The future is built on that thread (it need not be `Send`).
fn on_own_thread<T, F>(rt: &tokio::runtime::Runtime, make: impl FnOnce() -> F + Send) -> T
where
    T: Send,
    F: Future<Output = T>,
{
    std::thread::scope(|s| {
        s.spawn(|| rt.block_on(make()))
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}
