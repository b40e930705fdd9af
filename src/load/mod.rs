//! Load mode: concurrent clients against the scenario's databases.
//!
//! - **Phased** (`[load]`): warm-up, then phases A, B, B, A … of a fixed length on the before
//!   and after databases, the first seconds of each discarded; each pair of phases is one
//!   paired sample, analysed like a single-client round (docs/load.md).
//! - **Under load** (`--under-load`): traffic on the before database; after a steady period the
//!   migration runs in its own session while the traffic goes on, then a tail period. Lock
//!   waits and the migration's locks are sampled meanwhile.
//!
//! `engine` runs the clients, `schedule` plans them (pure), `record` keeps the histograms,
//! `migration` runs the migration statement by statement, `locks` samples who waits on whom.

pub mod engine;
pub mod locks;
pub mod migration;
pub mod record;
pub mod schedule;
pub mod timer;

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

pub use engine::{Engine, EngineConfig, LoadOp, Plan};
pub use record::Recorder;
pub use schedule::PhasePlan;

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::scenario::{LoadSettings, SqlFile};

const MS: u64 = 1_000_000;

/// The migration as it ran under load.
#[derive(Debug, Clone, Default)]
pub struct LiveMigration {
    pub statements: Vec<migration::StatementRun>,
    /// The window, ns since the load origin; `end_ns` is `None` while it runs.
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    pub locks: locks::LockSamples,
}

/// Everything a load run measured, kept in the scenario's run as soon as it exists.
#[derive(Debug, Clone)]
pub struct LoadRun {
    pub settings: LoadSettings,
    /// Indices into the scenario's operations of the operations in the mix, in recorder order.
    pub ops: Vec<usize>,
    pub recorder: Option<Recorder>,
    /// The phase plan of a phased run.
    pub plan: Option<PhasePlan>,
    /// ns since the origin when the clients stopped.
    pub end_ns: u64,
    /// How far behind its schedule the most-late client was at the end (open loop), ns.
    pub behind_end_ns: u64,
    pub migration: Option<LiveMigration>,
    /// A client that could not go on.
    pub failure: Option<String>,
    pub complete: bool,
}

impl LoadRun {
    pub fn new(settings: LoadSettings, ops: Vec<usize>) -> Self {
        LoadRun {
            settings,
            ops,
            recorder: None,
            plan: None,
            end_ns: 0,
            behind_end_ns: 0,
            migration: None,
            failure: None,
            complete: false,
        }
    }
}

/// Applies `--clients`, `--rate`, … to a loaded scenario (creating its `[load]` when absent).
pub fn apply_overrides(
    s: &mut crate::scenario::Scenario,
    o: &crate::config::LoadOverrides,
) -> Result<()> {
    if !o.any() {
        return Ok(());
    }
    let end = s.text.len();
    let l = s.load.get_or_insert_with(|| LoadSettings::new(end..end));
    l.enabled = true;
    if let Some(c) = o.clients {
        l.clients = c;
        if o.threads.is_none() {
            l.threads = l.threads.max(c.min(2));
        }
    }
    if let Some(r) = o.rate {
        l.rate = r;
    }
    if let Some(d) = o.duration_ms {
        l.duration_ms = d;
    }
    if let Some(w) = o.warmup_ms {
        l.warmup_ms = w;
    }
    if let Some(t) = o.threads {
        l.threads = t;
    }
    if let Some(p) = o.phases {
        l.phases = p;
    }
    if o.under_load && !l.under_load {
        l.under_load = true;
        if l.interval_ms == 1_000 {
            l.interval_ms = 100;
        }
    }
    l.resolve();
    l.validate()
        .map_err(|m| Error::Usage(format!("{}: {m}", s.path.display())))?;
    if l.under_load && s.migration.up.is_empty() {
        return Err(Error::Usage(format!(
            "{}: --under-load runs the scenario's migration under traffic, and it has none: add [migration] up = [\"….sql\"]",
            s.path.display()
        )));
    }
    if s.operations.iter().all(|op| op.weight == 0) {
        return Err(Error::Usage(format!(
            "{}: every operation has weight = 0: the load mix is empty",
            s.path.display()
        )));
    }
    Ok(())
}

fn config(s: &LoadSettings, seed: u64, plan: Plan) -> EngineConfig {
    EngineConfig {
        clients: s.clients,
        threads: s.threads,
        rate: s.rate,
        arrival: s.arrival,
        interval_ns: s.interval_ms * MS,
        seed,
        plan,
    }
}

fn infra(m: String) -> Error {
    Error::Infra(anyhow::anyhow!(m))
}

/// The before/after comparison under load.
pub async fn run_phased(
    options: [PgConnectOptions; 2],
    ops: Vec<LoadOp>,
    seed: u64,
    label: &str,
    progress: &mut Progress,
    out: &mut LoadRun,
) -> Result<()> {
    let s = out.settings.clone();
    let plan = PhasePlan {
        warmup_ns: s.warmup_ms * MS,
        phase_ns: s.phase_ms() * MS,
        settle_ns: s.settle_ms * MS,
        phases: u64::from(s.phases),
    };
    out.plan = Some(plan);
    let engine = Engine::start(options, Arc::new(ops), config(&s, seed, Plan::Phased(plan)))
        .await
        .map_err(infra)?;
    progress.start_load(label);
    tokio::select! {
        _ = engine.wait_done() => {}
        _ = monitor(&engine, progress, s.rate, |t| phase_note(&plan, t)) => {}
    }
    progress.finish();
    finish(engine, out).await
}

fn phase_note(plan: &PhasePlan, t_ns: u64) -> String {
    match plan.slot(t_ns) {
        schedule::PhaseSlot::Warmup => "warm-up".into(),
        schedule::PhaseSlot::Phase { k, .. } => format!(
            "phase {}/{} ({})",
            k + 1,
            plan.phases,
            schedule::phase_side(k)
        ),
        schedule::PhaseSlot::Done => "ending".into(),
    }
}

async fn finish(engine: Engine, out: &mut LoadRun) -> Result<()> {
    out.behind_end_ns = engine.shared().max_behind_ns();
    out.failure = engine
        .shared()
        .failure
        .lock()
        .expect("not poisoned")
        .clone();
    out.end_ns = engine.now_ns();
    out.recorder = Some(engine.finish().await.map_err(infra)?);
    out.complete = out.failure.is_none();
    Ok(())
}

/// Progress once a second until dropped: achieved rate, errors, lag, and `note(t)`.
async fn monitor(
    engine: &Engine,
    progress: &mut Progress,
    rate: Option<f64>,
    note: impl Fn(u64) -> String,
) {
    let sh = engine.shared();
    let mut last = (engine.now_ns(), sh.executions.load(Ordering::Relaxed));
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = (engine.now_ns(), sh.executions.load(Ordering::Relaxed));
        let tps = (now.1 - last.1) as f64 / ((now.0 - last.0) as f64 / 1e9);
        last = now;
        let target = rate.map_or(String::new(), |r| format!(" (target {r:.0})"));
        let behind = sh.max_behind_ns() / MS;
        let lag = if rate.is_some() && behind > 0 {
            format!(", {behind} ms behind schedule")
        } else {
            String::new()
        };
        progress.load_status(&format!(
            "{:>4.0}s {}: {tps:.0} tps{target}, {} errors{lag}",
            now.0 as f64 / 1e9,
            note(now.0),
            sh.errors.load(Ordering::Relaxed),
        ));
    }
}

/// Where the migration under load runs, and on what.
pub struct Live<'a> {
    /// The database the traffic runs on (at the before state), with the clients' settings.
    pub traffic: PgConnectOptions,
    pub migration: &'a [SqlFile],
}

/// The migration under live load.
pub async fn run_live(
    live: Live<'_>,
    ops: Vec<LoadOp>,
    seed: u64,
    label: &str,
    progress: &mut Progress,
    out: &mut LoadRun,
) -> Result<()> {
    let s = out.settings.clone();
    let (mut mig_conn, mut sampler_conn, pid) = open_sessions(&live.traffic).await?;
    let engine = Engine::start(
        [live.traffic.clone(), live.traffic],
        Arc::new(ops),
        config(
            &s,
            seed,
            Plan::Live {
                warmup_ns: s.warmup_ms * MS,
            },
        ),
    )
    .await
    .map_err(infra)?;
    progress.start_load(label);
    let mig_pid = AtomicI32::new(0);
    let stop = AtomicBool::new(false);
    // In the scenario's run from the start, filled as the migration goes: a run interrupted
    // in the middle keeps the statements run so far, the one it stopped in, the window's
    // start and the locks sampled.
    let LiveMigration {
        statements,
        start_ns: window_start,
        end_ns: window_end,
        locks,
    } = out.migration.insert(LiveMigration {
        statements: Vec::new(),
        start_ns: 0,
        end_ns: None,
        locks: locks::LockSamples::default(),
    });
    let steady_end = (s.warmup_ms + s.steady_ms) * MS;
    let driver = async {
        let note = |t: u64| {
            if t < s.warmup_ms * MS {
                "warm-up"
            } else {
                "steady"
            }
            .to_string()
        };
        tokio::select! {
            _ = sleep_until(&engine, steady_end) => {}
            _ = monitor(&engine, progress, s.rate, note) => {}
        }
        progress.step(&format!("{label}: migration starts under load"));
        mig_pid.store(pid, Ordering::SeqCst);
        let start = engine.now_ns();
        *window_start = start;
        engine
            .shared()
            .window_start_ns
            .store(start, Ordering::SeqCst);
        tokio::select! {
            _ = migration::run(&mut mig_conn, live.migration, || engine.now_ns(), statements) => {}
            _ = monitor(&engine, progress, s.rate, |_| "migration running".into()) => {}
        }
        let end = engine.now_ns();
        *window_end = Some(end);
        engine.shared().window_end_ns.store(end, Ordering::SeqCst);
        progress.step(&format!(
            "{label}: migration done in {:.0} ms; tail",
            (end - start) as f64 / 1e6
        ));
        tokio::select! {
            _ = sleep_until(&engine, end + s.tail_ms * MS) => {}
            _ = monitor(&engine, progress, s.rate, |_| "tail".into()) => {}
        }
        stop.store(true, Ordering::SeqCst);
    };
    let sampler = locks::sample(
        &mut sampler_conn,
        Duration::from_millis(s.sample_ms),
        &mig_pid,
        &stop,
        || engine.now_ns(),
        locks,
    );
    tokio::join!(sampler, driver);
    progress.finish();
    mig_conn.close().await.ok();
    sampler_conn.close().await.ok();
    finish(engine, out).await
}

/// The migration's session, the lock sampler's, and the migration session's pid. Neither is
/// bound by the clients' statement timeout.
async fn open_sessions(traffic: &PgConnectOptions) -> Result<(PgConnection, PgConnection, i32)> {
    let untimed = traffic
        .clone()
        .options([("statement_timeout", "0"), ("lock_timeout", "0")]);
    let mut mig_conn = untimed
        .clone()
        .application_name("querygate-migration")
        .connect()
        .await
        .map_err(|e| infra(format!("cannot open the migration's session: {e}")))?;
    let sampler_conn = untimed
        .application_name("querygate-sampler")
        .connect()
        .await
        .map_err(|e| infra(format!("cannot open the lock sampler's session: {e}")))?;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut mig_conn)
        .await
        .map_err(|e| infra(format!("cannot read the migration's session pid: {e}")))?;
    Ok((mig_conn, sampler_conn, pid))
}

async fn sleep_until(engine: &Engine, t_ns: u64) {
    let now = engine.now_ns();
    if t_ns > now {
        tokio::time::sleep(Duration::from_nanos(t_ns - now)).await;
    }
}
