//! The load generator: clients on OS threads, each with its own connection(s), sending on an
//! open-loop schedule or as fast as answers come back (closed loop).
//!
//! Clients are spread over `threads` OS threads, each with its own current-thread tokio
//! runtime (as `pgbench -j` spreads clients over threads): no cross-thread wake-ups inside a
//! thread, and two threads reach what one core alone cannot. Each thread records into its own
//! [`Recorder`]; they are merged when the run ends.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::ConnectOptions;
use tokio::sync::{oneshot, watch};

use super::record::{window_class, Class, Execution, Recorder};
use super::schedule::{phase_side, Mix, PhasePlan, PhaseSlot, Schedule};
use super::timer::Timer;
use crate::measure::{
    encode, execute, execute_measuring, mix, Failure, ParamSource, PreparedSide, Target, WireConn,
    WireError,
};
use crate::scenario::{Arrival, Side};

/// An operation as the load generator runs it.
#[derive(Debug, Clone)]
pub struct LoadOp {
    pub name: String,
    /// Before, after.
    pub sides: [PreparedSide; 2],
    pub params: ParamSource,
    pub weight: u32,
}

/// What the clients do over time.
#[derive(Debug, Clone, Copy)]
pub enum Plan {
    /// The before/after comparison: warm-up, then phases A, B, B, A …
    Phased(PhasePlan),
    /// Traffic on one database (the before side) until stopped; the migration window is
    /// published in [`Shared`].
    Live { warmup_ns: u64 },
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub clients: u32,
    pub threads: u32,
    /// Total executions per second (open loop), or `None` (closed loop).
    pub rate: Option<f64>,
    pub arrival: Arrival,
    pub interval_ns: u64,
    pub seed: u64,
    pub plan: Plan,
}

/// State shared by the clients and the run's driver.
pub struct Shared {
    pub stop: AtomicBool,
    pub executions: AtomicU64,
    pub errors: AtomicU64,
    /// The migration window, ns since the origin; `u64::MAX` until it starts / ends.
    pub window_start_ns: AtomicU64,
    pub window_end_ns: AtomicU64,
    /// Per client: how far behind its schedule it is, ns (open loop).
    pub behind_ns: Vec<AtomicU64>,
    /// Load threads that have finished.
    pub threads_done: AtomicU64,
    /// A client that could not go on (its connection was lost and could not be re-opened).
    pub failure: Mutex<Option<String>>,
}

impl Shared {
    pub fn max_behind_ns(&self) -> u64 {
        self.behind_ns
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    }
}

/// A running load. Dropping it (Ctrl-C, timeout, error) tells every client to stop; the
/// threads end after their current execution (the server's statement timeout bounds that, and
/// cleanup's `DROP DATABASE … WITH (FORCE)` or server shutdown ends it sooner).
pub struct Engine {
    shared: Arc<Shared>,
    origin: Instant,
    done: Vec<oneshot::Receiver<Result<Recorder, String>>>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

type Ready = oneshot::Sender<Result<(), String>>;

impl Engine {
    /// Connects every client (before/after connections for a phased run), then starts them
    /// together. `options` are the before and after databases (the same twice for a live run).
    pub async fn start(
        options: [PgConnectOptions; 2],
        ops: Arc<Vec<LoadOp>>,
        cfg: EngineConfig,
    ) -> Result<Engine, String> {
        let phases = match cfg.plan {
            Plan::Phased(p) => p.phases as usize,
            Plan::Live { .. } => 0,
        };
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            executions: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            window_start_ns: AtomicU64::new(u64::MAX),
            window_end_ns: AtomicU64::new(u64::MAX),
            behind_ns: (0..cfg.clients).map(|_| AtomicU64::new(0)).collect(),
            threads_done: AtomicU64::new(0),
            failure: Mutex::new(None),
        });
        let (go_tx, go_rx) = watch::channel::<Option<Instant>>(None);
        let mut ready = Vec::new();
        let mut done = Vec::new();
        let threads = cfg.threads.clamp(1, cfg.clients.max(1));
        for w in 0..threads {
            let (ready_tx, ready_rx) = oneshot::channel();
            let (done_tx, done_rx) = oneshot::channel();
            let clients: Vec<u32> = (0..cfg.clients).filter(|c| c % threads == w).collect();
            let job = Worker {
                clients,
                options: options.clone(),
                ops: ops.clone(),
                cfg: cfg.clone(),
                shared: shared.clone(),
                phases,
            };
            let go = go_rx.clone();
            std::thread::Builder::new()
                .name(format!("querygate-load-{w}"))
                .spawn(move || {
                    let shared = job.shared.clone();
                    let result = job.run(ready_tx, go);
                    shared.threads_done.fetch_add(1, Ordering::SeqCst);
                    let _ = done_tx.send(result);
                })
                .map_err(|e| format!("cannot start a load thread: {e}"))?;
            ready.push(ready_rx);
            done.push(done_rx);
        }
        let mut engine = Engine {
            shared,
            origin: Instant::now(),
            done,
        };
        for r in ready {
            match r.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err("a load thread ended before connecting".into()),
            }
        }
        engine.origin = Instant::now() + Duration::from_millis(5);
        let _ = go_tx.send(Some(engine.origin));
        Ok(engine)
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// ns since the origin (the instant every client started from).
    pub fn now_ns(&self) -> u64 {
        Instant::now()
            .saturating_duration_since(self.origin)
            .as_nanos() as u64
    }

    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// Stops the clients (a phased run also stops by itself at its end) and merges what
    /// every thread recorded.
    pub async fn finish(mut self) -> Result<Recorder, String> {
        self.shared.stop.store(true, Ordering::SeqCst);
        let mut merged: Option<Recorder> = None;
        for d in std::mem::take(&mut self.done) {
            let rec = d
                .await
                .map_err(|_| "a load thread panicked".to_string())??;
            match &mut merged {
                None => merged = Some(rec),
                Some(m) => m.merge(rec),
            }
        }
        merged.ok_or_else(|| "no load thread ran".into())
    }

    /// Waits for a phased run's clients to reach the end of the plan.
    pub async fn wait_done(&self) {
        let threads = self.done.len() as u64;
        while self.shared.threads_done.load(Ordering::SeqCst) < threads {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

struct Worker {
    clients: Vec<u32>,
    options: [PgConnectOptions; 2],
    ops: Arc<Vec<LoadOp>>,
    cfg: EngineConfig,
    shared: Arc<Shared>,
    phases: usize,
}

/// One client's connections: before, and after for a phased run.
type Conns = Vec<ClientConn>;

/// How a load client talks to the server. A client alone on its thread uses querygate's
/// measuring connection (blocking reads, no async wake-up between request and reply: the
/// client's own cost per execution is pgbench's, docs/method.md "Overhead"); clients sharing a
/// thread, and operations written in Rust, use sqlx, whose async reads let one thread serve many.
enum ClientConn {
    Sqlx(PgConnection),
    Wire(WireConn),
}

/// A reply that takes longer than this is a dead connection. The clients' own statement
/// timeout (in their connection options) ends a statement long before.
const WIRE_READ_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

impl ClientConn {
    /// A connection to `o` of the kind this thread's clients use, with every operation's
    /// statements of `side` prepared on it when it is the measuring connection.
    async fn open(
        o: &PgConnectOptions,
        ops: &[LoadOp],
        side: usize,
        wire: bool,
    ) -> Result<ClientConn, String> {
        if !wire {
            return o
                .connect()
                .await
                .map(ClientConn::Sqlx)
                .map_err(|e| e.to_string());
        }
        let mut conn = WireConn::connect(&Target::from_options(o, WIRE_READ_TIMEOUT))
            .map_err(|e| e.to_string())?;
        for op in ops {
            for st in &op.sides[side].statements {
                st.prepare_on(&mut conn)
                    .map_err(|e| format!("operation `{}`: {e}", op.name))?;
            }
        }
        Ok(ClientConn::Wire(conn))
    }

    /// One execution of `side` with `values`; the parameters are encoded before `start` is
    /// taken, as in single-client rounds.
    async fn execute(
        &mut self,
        side: &PreparedSide,
        values: &[crate::scenario::Value],
        now_ns: impl Fn() -> u64,
    ) -> (u64, Result<(), Failure>) {
        match self {
            ClientConn::Sqlx(c) => {
                let start = now_ns();
                (start, execute(c, side, values).await.map_err(|e| e.error))
            }
            ClientConn::Wire(c) => match encode(side, values) {
                Ok(params) => {
                    let start = now_ns();
                    let r = execute_measuring(c, side, &params).map_err(|e| e.error);
                    (start, r)
                }
                Err(e) => (now_ns(), Err(e.error)),
            },
        }
    }
}

impl Worker {
    fn run(self, ready: Ready, go: watch::Receiver<Option<Instant>>) -> Result<Recorder, String> {
        unpin_current_thread();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a load runtime: {e}"))?;
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, self.drive(ready, go))
    }

    async fn drive(
        self,
        ready: Ready,
        mut go: watch::Receiver<Option<Instant>>,
    ) -> Result<Recorder, String> {
        let both = matches!(self.cfg.plan, Plan::Phased(_));
        let wire = self.uses_wire();
        let mut conns: Vec<Conns> = Vec::new();
        for _ in &self.clients {
            let mut c = Vec::new();
            for (side, o) in self
                .options
                .iter()
                .enumerate()
                .take(if both { 2 } else { 1 })
            {
                match ClientConn::open(o, &self.ops, side, wire).await {
                    Ok(conn) => c.push(conn),
                    Err(e) => {
                        let msg = format!(
                            "a load client cannot connect to {}: {e}",
                            o.get_database().unwrap_or("?")
                        );
                        let _ = ready.send(Err(msg.clone()));
                        return Err(msg);
                    }
                }
            }
            conns.push(c);
        }
        let _ = ready.send(Ok(()));
        let origin = loop {
            if let Some(o) = *go.borrow() {
                break o;
            }
            if go.changed().await.is_err() {
                return Err("the load run was abandoned before it started".into());
            }
        };
        let rec = Rc::new(RefCell::new(Recorder::new(
            self.ops.len(),
            self.phases,
            self.cfg.interval_ns,
        )));
        let me = Rc::new(self);
        let mut tasks = Vec::new();
        for (client, c) in me.clients.clone().into_iter().zip(conns) {
            let me = me.clone();
            let rec = rec.clone();
            tasks.push(tokio::task::spawn_local(async move {
                me.client(client, c, origin, &rec).await
            }));
        }
        for t in tasks {
            t.await.map_err(|e| format!("a load client failed: {e}"))?;
        }
        let end = Instant::now().saturating_duration_since(origin).as_nanos() as u64;
        let mut out = Rc::try_unwrap(rec)
            .map_err(|_| "load recorder still shared".to_string())?
            .into_inner();
        out.finish(end);
        Ok(out)
    }

    /// The measuring connection when this thread has one client and no operation is Rust
    /// code (see [`ClientConn`]).
    fn uses_wire(&self) -> bool {
        self.clients.len() == 1
            && self
                .ops
                .iter()
                .all(|o| o.sides.iter().all(|s| s.code.is_none()))
    }

    async fn client(
        &self,
        client: u32,
        mut conns: Conns,
        origin: Instant,
        rec: &RefCell<Recorder>,
    ) {
        let cfg = &self.cfg;
        let now_ns = || Instant::now().saturating_duration_since(origin).as_nanos() as u64;
        let mut rng = ChaCha8Rng::seed_from_u64(mix(cfg.seed, u64::from(client), 0, 0x10AD));
        let mut schedule = cfg
            .rate
            .map(|r| Schedule::new(r, cfg.clients, client, cfg.arrival, 0));
        let weights: Vec<u32> = self.ops.iter().map(|o| o.weight).collect();
        let Some(choose) = Mix::new(&weights) else {
            return;
        };
        let timer = Timer::new();
        let behind = &self.shared.behind_ns[client as usize];
        let mut n: u64 = 0;
        while !self.shared.stop.load(Ordering::Relaxed) {
            let intended = match &mut schedule {
                Some(s) => s.next(&mut rng),
                None => now_ns(),
            };
            let (side, class_of): (usize, Option<PhaseSlot>) = match cfg.plan {
                Plan::Phased(p) => match p.slot(intended) {
                    PhaseSlot::Done => break,
                    PhaseSlot::Warmup => ((n % 2) as usize, Some(PhaseSlot::Warmup)),
                    s @ PhaseSlot::Phase { k, .. } => (side_index(phase_side(k)), Some(s)),
                },
                Plan::Live { .. } => (0, None),
            };
            let now = now_ns();
            if intended > now
                && timer
                    .sleep(Duration::from_nanos(intended - now))
                    .await
                    .is_err()
            {
                tokio::time::sleep(Duration::from_nanos(intended - now)).await;
            }
            let op = choose.pick(&mut rng);
            let values = self.ops[op].params.draw(&mut rng);
            let (start, result) = conns[side]
                .execute(&self.ops[op].sides[side], &values, now_ns)
                .await;
            let end = now_ns();
            n += 1;
            self.shared.executions.fetch_add(1, Ordering::Relaxed);
            let error = result.err().map(|e| sqlstate(&e));
            if error.is_some() {
                self.shared.errors.fetch_add(1, Ordering::Relaxed);
            }
            let class = match (cfg.plan, class_of) {
                (Plan::Phased(_), Some(PhaseSlot::Phase { k, measured: true })) => Class::Phase {
                    k: k as usize,
                    side,
                },
                (Plan::Phased(_), _) => Class::Unmeasured,
                (Plan::Live { warmup_ns }, _) => window_class(
                    intended,
                    end,
                    warmup_ns,
                    self.shared.window_start_ns.load(Ordering::Relaxed),
                    self.shared.window_end_ns.load(Ordering::Relaxed),
                ),
            };
            rec.borrow_mut().record(&Execution {
                op,
                intended_ns: intended,
                start_ns: start,
                end_ns: end,
                class,
                error: error.as_deref(),
            });
            if let Some(s) = &schedule {
                behind.store(end.saturating_sub(s.peek()), Ordering::Relaxed);
            }
            if error.as_deref() == Some(CONNECTION) {
                // The session is gone (server restart, terminated backend): reconnect once.
                match ClientConn::open(&self.options[side], &self.ops, side, self.uses_wire()).await
                {
                    Ok(c) => conns[side] = c,
                    Err(e) => {
                        let mut f = self.shared.failure.lock().expect("not poisoned");
                        f.get_or_insert(format!(
                            "load client {client} lost its connection and cannot reconnect: {e}"
                        ));
                        return;
                    }
                }
            }
        }
    }
}

/// Errors that are not the server's (no SQLSTATE): the connection was lost.
pub const CONNECTION: &str = "connection";

fn sqlstate(e: &Failure) -> String {
    match e {
        Failure::Sqlx(sqlx::Error::Database(db)) => {
            db.code().map_or_else(|| "XX000".into(), |c| c.into_owned())
        }
        Failure::Sqlx(sqlx::Error::Protocol(_)) => "protocol".into(),
        Failure::Wire(w) => match &**w {
            WireError::Db(db) => db.code.clone(),
            WireError::Protocol(_) => "protocol".into(),
            WireError::Io(_) => CONNECTION.into(),
        },
        _ => CONNECTION.into(),
    }
}

fn side_index(s: Side) -> usize {
    match s {
        Side::Before => 0,
        Side::After => 1,
    }
}

/// Load threads may run on every CPU, whatever the thread that spawned them was pinned to.
fn unpin_current_thread() {
    let mut set = nix::sched::CpuSet::new();
    // Every possible CPU: the kernel keeps those that exist (available_parallelism would
    // report the pinned parent's single CPU).
    for c in 0..nix::sched::CpuSet::count() {
        let _ = set.set(c);
    }
    let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
}
