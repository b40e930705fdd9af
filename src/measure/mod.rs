//! Measurement: warm-up, then interleaved A/B rounds, every execution into an HdrHistogram.
//!
//! In each round, for each operation, one side runs its executions and then the other, in an
//! order decided by the round plan (seeded coin flip or ABBA), so that drift — caches, the
//! neighbour's CI job, thermal throttling — hits both sides alike (Abedi & Brecht, ICPE 2017).
//! Both sides draw the same parameter values in a round, and run as many executions, so the
//! pair stays balanced. `round_budget_ms` bounds both sides: the executions per round are
//! planned from the warm-up so that the slower side fits the budget (`planned_iterations`), the
//! first side stops at the budget, and the second — which runs the first side's count — at
//! twice the budget, after which later rounds run that many (the warm-up misjudged it).
//! Memory is bounded: two histograms per side and a few numbers per round.

pub mod code;
pub mod cpu_time;
pub mod exec;
pub mod params;
pub mod server_time;
pub mod wire;

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

pub use cpu_time::CpuClock;
pub use exec::{
    calibration_side, encode, execute, execute_measuring, prepare_side, ExecError, Failure,
    PreparedSide, CALIBRATION_SQL,
};
pub use params::ParamSource;
pub use server_time::ServerClock;
pub use wire::{Target, WireConn, WireError};

use crate::scenario::{RoundOrder, RunSettings, Side};

/// Unrecorded executions per operation and side after reconnecting: prepares the statements,
/// warms the new server process's catalog caches, and gets each prepared statement past the
/// plan cache's first five custom plans (`plan_cache_mode = auto` chooses between custom and
/// generic plans from the sixth execution on), so a round measures a settled backend, as a
/// long-lived connection (or pgbench -M prepared) does.
const RECONNECT_WARMUP: u64 = 8;

/// Latency samples of one side of one operation.
#[derive(Debug, Clone)]
pub struct SideSamples {
    /// Every measured execution, in nanoseconds.
    pub total: Histogram<u64>,
    pub round_p50_ns: Vec<u64>,
    pub round_p95_ns: Vec<u64>,
    pub round_p99_ns: Vec<u64>,
    pub round_count: Vec<u64>,
    /// Server time per execution in each round (ns), from `pg_stat_statements`; shorter than
    /// the other vectors when server time was not available for every round.
    pub round_server_ns: Vec<f64>,
    /// Statements `pg_stat_statements` counted over those rounds.
    pub server_calls: i64,
    /// The side's server processes' on-CPU time per execution in each round (ns,
    /// `cpu_time`); shorter than the other vectors when it was not readable for every round.
    pub round_cpu_ns: Vec<f64>,
}

impl Default for SideSamples {
    fn default() -> Self {
        SideSamples {
            total: new_histogram(),
            round_p50_ns: vec![],
            round_p95_ns: vec![],
            round_p99_ns: vec![],
            round_count: vec![],
            round_server_ns: vec![],
            server_calls: 0,
            round_cpu_ns: vec![],
        }
    }
}

/// ns from 1 ns to 60 s at 3 significant figures.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Samples of both sides of one operation.
#[derive(Debug, Clone, Default)]
pub struct OpSamples {
    pub before: SideSamples,
    pub after: SideSamples,
    /// Which side ran first in each round.
    pub first: Vec<Side>,
}

/// An operation ready to measure: both sides prepared, parameters ready to draw.
pub struct Measurable {
    pub name: String,
    pub before: PreparedSide,
    pub after: PreparedSide,
    pub params: ParamSource,
    /// Executions per side and round: `run.iterations`, or fewer when the slower side would
    /// overrun the round budget (`planned_iterations`).
    pub per_round: u64,
    /// Only the after side is measured: the scenario has nothing to compare
    /// (`Scenario::compares`), so a before side would measure the same thing again.
    pub only_after: bool,
}

impl Measurable {
    /// The sides this operation measures, in the order of a round whose first side is `first`.
    fn sides(&self, first: Side) -> &'static [Side] {
        match (self.only_after, first) {
            (true, _) => &[Side::After],
            (false, Side::Before) => &[Side::Before, Side::After],
            (false, Side::After) => &[Side::After, Side::Before],
        }
    }
}

/// The median time of one execution of each side of an operation in the warm-up
/// (`[before, after]`); `None` for a side that did not run (no warm-up).
pub type WarmTime = [Option<Duration>; 2];

/// Executions per side and round for each operation: `run.iterations`, or as many of the
/// slower side as fit `run.round_budget_ms` (at least one), so that neither side overruns the
/// budget. Without a warm-up time, `run.iterations`.
pub fn planned_iterations(times: &[WarmTime], run: &RunSettings) -> Vec<u64> {
    let budget = Duration::from_millis(run.round_budget_ms);
    times
        .iter()
        .map(|t| match t[0].max(t[1]).filter(|d| !d.is_zero()) {
            Some(slowest) => {
                let fit = (budget.as_nanos() / slowest.as_nanos()) as u64;
                fit.clamp(1, run.iterations.max(1))
            }
            None => run.iterations,
        })
        .collect()
}

/// How long the rounds should take, from the warm-up times, and how it divides among the
/// operations.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// All rounds, every operation (the calibration statement and server-time reads, which
    /// cost little, are left out).
    pub total: Duration,
    /// Per operation, over all rounds.
    pub per_operation: Vec<Duration>,
}

/// The expected length of `run.rounds` rounds of the operations timed in `times`, running
/// `per_round` executions per side, plus the short warm-up after each reconnection. A side
/// without a time is not measured (a run of one side); `None` when an operation has neither
/// (no warm-up).
pub fn estimate(times: &[WarmTime], per_round: &[u64], run: &RunSettings) -> Option<Estimate> {
    let reconnects = if run.reconnect.unwrap_or(true) {
        run.rounds.saturating_sub(1)
    } else {
        0
    };
    // The warm-up after a reconnection stops at the round budget, like a side of a round.
    let cap = Duration::from_millis(run.round_budget_ms);
    let per_operation = times
        .iter()
        .zip(per_round)
        .map(|(t, &n)| {
            if t == &[None, None] {
                return None;
            }
            let [b, a] = t.map(Option::unwrap_or_default);
            let warm = |d: Duration| d.mul_f64(RECONNECT_WARMUP as f64).min(cap);
            Some(
                (b + a).mul_f64((n * run.rounds) as f64)
                    + (warm(b) + warm(a)).mul_f64(reconnects as f64),
            )
        })
        .collect::<Option<Vec<Duration>>>()?;
    Some(Estimate {
        total: per_operation.iter().sum(),
        per_operation,
    })
}

/// A failed execution, located.
#[derive(Debug)]
pub struct MeasureError {
    pub operation: String,
    pub side: Side,
    pub error: ExecError,
}

/// The side that goes first in `round` for operation `op`.
pub fn first_side(order: RoundOrder, seed: u64, round: u64, op: usize) -> Side {
    let a_first = match order {
        // ABBA across rounds: AB BA BA AB AB BA …
        RoundOrder::Abba => matches!(round % 4, 0 | 3),
        RoundOrder::Random => {
            ChaCha8Rng::seed_from_u64(mix(seed, round, op as u64, 0xAB)).random::<bool>()
        }
    };
    if a_first {
        Side::Before
    } else {
        Side::After
    }
}

/// A seed for one (round, operation, purpose), derived from the run's seed.
pub fn mix(seed: u64, round: u64, op: u64, purpose: u64) -> u64 {
    // splitmix64 over the fields: distinct inputs give unrelated streams.
    let mut z = seed
        ^ round.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ op.wrapping_mul(0xBF58_476D_1CE4_E5B9)
        ^ purpose.wrapping_mul(0x94D0_49BB_1331_11EB);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One side's connections in the timed loop: the measuring connection ([`wire`]) runs SQL
/// sides, a sqlx connection runs sides written in Rust (`measure::code`), which take one.
pub struct SideConn<'a> {
    pub sqlx: &'a mut PgConnection,
    pub wire: &'a mut WireConn,
}

impl SideConn<'_> {
    fn reborrow(&mut self) -> SideConn<'_> {
        SideConn {
            sqlx: &mut *self.sqlx,
            wire: &mut *self.wire,
        }
    }
}

/// Where a side reconnects every round: the sqlx options (reopened only when some operation
/// runs Rust code) and the measuring connection's target.
#[derive(Clone, Copy)]
pub struct Reconnect<'a> {
    pub sqlx: &'a [PgConnectOptions; 2],
    pub wire: &'a [Target; 2],
}

/// How often the measuring loop, whose executions block the thread, lets the runtime see
/// signals and the run's timeout (outside the timed region).
const YIELD_EVERY: Duration = Duration::from_millis(100);

/// Runs `count` executions (or until `budget` has passed, when given), recording each. The
/// clock covers the execution only: parameters are drawn (and, for the measuring connection,
/// encoded) before it starts.
async fn run_side(
    conn: &mut SideConn<'_>,
    side: &PreparedSide,
    params: &ParamSource,
    rng: &mut ChaCha8Rng,
    count: u64,
    budget: Option<Duration>,
    hist: &mut Histogram<u64>,
) -> Result<u64, ExecError> {
    let started = Instant::now();
    let mut yielded = started;
    let mut done = 0;
    while done < count {
        let values = params.draw(rng);
        if side.code.is_some() {
            let t0 = Instant::now();
            execute(conn.sqlx, side, &values).await?;
            hist.saturating_record(t0.elapsed().as_nanos() as u64);
        } else {
            let encoded = encode(side, &values)?;
            let t0 = Instant::now();
            execute_measuring(conn.wire, side, &encoded)?;
            hist.saturating_record(t0.elapsed().as_nanos() as u64);
            if yielded.elapsed() >= YIELD_EVERY {
                tokio::task::yield_now().await;
                yielded = Instant::now();
            }
        }
        done += 1;
        if budget.is_some_and(|b| started.elapsed() >= b) {
            break;
        }
    }
    Ok(done)
}

/// Opens a measuring connection and prepares every SQL statement of `side` of `ops` on it.
pub fn connect_measuring<'a>(
    target: &Target,
    ops: impl IntoIterator<Item = &'a Measurable>,
    side: Side,
) -> Result<WireConn, MeasureError> {
    let located = |operation: &str, statement| {
        let operation = operation.to_string();
        move |error: WireError| MeasureError {
            operation,
            side,
            error: ExecError {
                statement,
                error: error.into(),
                bind: None,
            },
        }
    };
    let mut conn = WireConn::connect(target).map_err(located("(connecting)", 0))?;
    for op in ops {
        let prepared = match side {
            Side::Before => &op.before,
            Side::After => &op.after,
        };
        for (i, st) in prepared.statements.iter().enumerate() {
            st.prepare_on(&mut conn).map_err(located(&op.name, i))?;
        }
    }
    Ok(conn)
}

/// Warm-up: statements prepared and caches warm on both sides before anything is recorded.
/// Returns the median execution time of each side of each operation, for planning the rounds.
pub async fn warm_up(
    conns: [SideConn<'_>; 2],
    ops: &[Measurable],
    run: &RunSettings,
) -> Result<Vec<WarmTime>, MeasureError> {
    let budget = Duration::from_millis(run.round_budget_ms.max(1) * 4);
    warm_ops(conns, ops, run.warmup, budget, |i| {
        mix(run.seed, u64::MAX, i as u64, 0x57)
    })
    .await
}

/// `count` unrecorded executions of every operation on both sides (each capped at `budget`),
/// the same parameters on both sides, seeded per operation by `seed_of`; returns the median
/// time of an execution of each side.
async fn warm_ops(
    conns: [SideConn<'_>; 2],
    ops: &[Measurable],
    count: u64,
    budget: Duration,
    seed_of: impl Fn(usize) -> u64,
) -> Result<Vec<WarmTime>, MeasureError> {
    let [mut before, mut after] = conns;
    let mut scratch = new_histogram();
    let mut times = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let mut median = [None, None];
        for (k, side, conn, prepared) in [
            (0, Side::Before, &mut before, &op.before),
            (1, Side::After, &mut after, &op.after),
        ] {
            if !op.sides(Side::Before).contains(&side) {
                continue;
            }
            scratch.reset();
            let mut rng = ChaCha8Rng::seed_from_u64(seed_of(i));
            run_side(
                conn,
                prepared,
                &op.params,
                &mut rng,
                count,
                Some(budget),
                &mut scratch,
            )
            .await
            .map_err(|error| MeasureError {
                operation: op.name.clone(),
                side,
                error,
            })?;
            median[k] =
                (!scratch.is_empty()).then(|| Duration::from_nanos(scratch.value_at_quantile(0.5)));
        }
        times.push(median);
    }
    Ok(times)
}

/// Server time for the rounds: the clock while it works, and why it stopped when it failed;
/// the backends' CPU time where this host can read it.
#[derive(Default)]
pub struct ServerTiming {
    pub clock: Option<ServerClock>,
    pub cpu: Option<CpuClock>,
    /// Why server time is missing (never measured, or given up part-way).
    pub unavailable: Option<String>,
}

/// One reading between blocks: `pg_stat_statements` counters of both databases and each
/// side's server processes' on-CPU time (ns).
#[derive(Clone, Copy, Default)]
struct Mark {
    counters: Option<[server_time::Counter; 2]>,
    cpu: [Option<u64>; 2],
}

impl ServerTiming {
    /// A reading; `pids` are each side's server processes. A failed probe never fails the run.
    async fn snapshot(&mut self, pids: &[Vec<i32>; 2]) -> Mark {
        let counters = match self.clock.as_mut() {
            None => None,
            Some(clock) => match clock.snapshot().await {
                Ok(s) => Some(s),
                Err(e) => {
                    self.give_up(format!("reading pg_stat_statements failed part-way: {e}"));
                    None
                }
            },
        };
        let cpu = self.cpu.as_mut().map_or([None, None], |clock| {
            pids.each_ref().map(|side| clock.processes_ns(side))
        });
        Mark { counters, cpu }
    }

    fn give_up(&mut self, why: String) {
        self.clock = None;
        self.unavailable.get_or_insert(why);
    }

    /// Records server time and CPU time per execution for both sides of one operation's block.
    fn record(&mut self, from: Mark, to: Mark, samples: &mut OpSamples) {
        for (k, side) in [&mut samples.before, &mut samples.after]
            .into_iter()
            .enumerate()
        {
            if side.round_count.is_empty() {
                // This side is not measured (a run of one side).
                continue;
            }
            let executions = side.round_count.last().copied().unwrap_or(0);
            if let Some(ns) = cpu_time::per_execution_ns(from.cpu[k], to.cpu[k], executions) {
                side.round_cpu_ns.push(ns);
            }
            // Once given up (for either side), server time is not recorded again.
            let (Some(from), Some(to), true) = (from.counters, to.counters, self.clock.is_some())
            else {
                continue;
            };
            match server_time::per_execution_ns(from[k], to[k], executions) {
                Ok((ns, calls)) => {
                    side.round_server_ns.push(ns);
                    side.server_calls += calls;
                }
                Err(why) => self.give_up(why),
            }
        }
    }
}

/// Each side's server processes: the measuring connection's, and the sqlx connection's when
/// some operation runs Rust code on it.
async fn backend_pids(conns: [&mut SideConn<'_>; 2], runs_code: bool) -> [Vec<i32>; 2] {
    let mut out = [vec![], vec![]];
    for (k, conn) in conns.into_iter().enumerate() {
        let Some(wire) = conn.wire.backend_pid() else {
            continue;
        };
        out[k].push(wire);
        if runs_code {
            match sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()")
                .fetch_one(&mut *conn.sqlx)
                .await
            {
                Ok(pid) => out[k].push(pid),
                Err(_) => out[k].clear(),
            }
        }
    }
    out
}

/// Runs the rounds, appending to `out` (one entry per operation) as it goes, so that an
/// interrupted run keeps every completed round. `on_round` is called after each round.
/// With a server clock, `pg_stat_statements` is read before and after each operation's pair
/// of sides — outside the timed region — for the server time of each side.
///
/// With `reconnect` (`run.reconnect`, the default), both sides get fresh connections — new
/// server processes — at the start of every round after the first, followed by a short
/// unrecorded warm-up. A server process keeps its CPU placement and caches for its lifetime; on
/// a small machine that alone made one side of an A/A run up to 2× slower for a whole run.
/// Reconnecting turns that persistent bias into round-to-round noise, which the paired
/// statistics and their intervals account for.
pub async fn rounds(
    conns: [SideConn<'_>; 2],
    reconnect: Option<Reconnect<'_>>,
    ops: &[Measurable],
    run: &RunSettings,
    out: &mut Vec<OpSamples>,
    server: &mut ServerTiming,
    mut on_round: impl FnMut(u64),
) -> Result<(), MeasureError> {
    let [mut before, mut after] = conns;
    out.resize_with(ops.len(), OpSamples::default);
    let mut round_hist = [new_histogram(), new_histogram()];
    let budget = Duration::from_millis(run.round_budget_ms);
    let mut per_round: Vec<u64> = ops
        .iter()
        .map(|o| o.per_round.clamp(1, run.iterations.max(1)))
        .collect();
    let runs_code = ops
        .iter()
        .any(|o| o.before.code.is_some() || o.after.code.is_some());
    let mut pids = backend_pids([&mut before, &mut after], runs_code).await;
    for round in 0..run.rounds {
        if let (Some(opts), true) = (reconnect, round > 0) {
            for (k, side, conn) in [(0, Side::Before, &mut before), (1, Side::After, &mut after)] {
                let fresh = connect_measuring(&opts.wire[k], ops, side)?;
                std::mem::replace(conn.wire, fresh).close();
                if runs_code {
                    let fresh = opts.sqlx[k].connect().await.map_err(|error| MeasureError {
                        operation: "(reconnecting between rounds)".into(),
                        side,
                        error: ExecError {
                            statement: 0,
                            error: error.into(),
                            bind: None,
                        },
                    })?;
                    let _ = std::mem::replace(conn.sqlx, fresh).close().await;
                }
            }
            warm_ops(
                [before.reborrow(), after.reborrow()],
                ops,
                RECONNECT_WARMUP,
                budget,
                |i| mix(run.seed, round, i as u64, 0x5A),
            )
            .await?;
            pids = backend_pids([&mut before, &mut after], runs_code).await;
        }
        let mut mark = server.snapshot(&pids).await;
        for (i, op) in ops.iter().enumerate() {
            let order = op.sides(first_side(run.order, run.seed, round, i));
            let seed = mix(run.seed, round, i as u64, 0x11);
            let mut count = per_round[i];
            for (k, &side) in order.iter().enumerate() {
                let (conn, prepared, hist) = match side {
                    Side::Before => (&mut before, &op.before, &mut round_hist[0]),
                    Side::After => (&mut after, &op.after, &mut round_hist[1]),
                };
                hist.reset();
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                // Both sides are bounded; the second, which must match the first side's count,
                // gets twice the budget before the pair is cut short.
                let cap = if k == 0 { budget } else { budget * 2 };
                let done = run_side(conn, prepared, &op.params, &mut rng, count, Some(cap), hist)
                    .await
                    .map_err(|error| MeasureError {
                        operation: op.name.clone(),
                        side,
                        error,
                    })?;
                if k == 1 && done < count {
                    // The warm-up misjudged this side: later rounds run what fits.
                    per_round[i] = done;
                }
                count = done;
            }
            let samples = &mut out[i];
            for ((hist, side), which) in round_hist
                .iter()
                .zip([&mut samples.before, &mut samples.after])
                .zip([Side::Before, Side::After])
            {
                if !order.contains(&which) {
                    continue;
                }
                side.round_p50_ns.push(hist.value_at_quantile(0.50));
                side.round_p95_ns.push(hist.value_at_quantile(0.95));
                side.round_p99_ns.push(hist.value_at_quantile(0.99));
                side.round_count.push(hist.len());
                side.total.add(hist).expect("histograms share bounds");
            }
            samples.first.push(order[0]);
            let now = server.snapshot(&pids).await;
            server.record(mark, now, samples);
            mark = now;
        }
        on_round(round + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(iterations: u64, budget_ms: u64, rounds: u64) -> RunSettings {
        RunSettings {
            warmup: 5,
            rounds,
            iterations,
            round_budget_ms: budget_ms,
            seed: 1,
            order: RoundOrder::Abba,
            statement_timeout_ms: 30_000,
            reconnect: Some(false),
        }
    }

    #[test]
    fn the_slower_side_decides_how_many_executions_fit_the_budget() {
        let ms = Duration::from_millis;
        let run = settings(50, 250, 10);
        let times: Vec<WarmTime> = vec![
            [Some(ms(1)), Some(ms(258))], // a slow write after the change
            [
                Some(Duration::from_micros(100)),
                Some(Duration::from_micros(90)),
            ],
            [Some(ms(40)), Some(ms(2))],
            [None, None],                 // not warmed up
            [Some(ms(900)), Some(ms(1))], // slower than the whole budget
        ];
        assert_eq!(planned_iterations(&times, &run), vec![1, 50, 6, 50, 1]);
        let e = estimate(&times[..3], &[1, 50, 6], &run).unwrap();
        assert_eq!(e.per_operation[0], ms(259 * 10));
        assert_eq!(e.per_operation[1], Duration::from_micros(190 * 50 * 10));
        assert_eq!(e.per_operation[2], ms(42 * 6 * 10));
        assert_eq!(e.total, e.per_operation.iter().sum::<Duration>());
        assert!(estimate(&times, &[1, 50, 6, 50, 1], &run).is_none());
    }

    #[test]
    fn reconnecting_rounds_add_their_warm_up_to_the_estimate() {
        let ms = Duration::from_millis;
        let mut run = settings(10, 100, 4);
        run.reconnect = Some(true);
        let times: Vec<WarmTime> = vec![[Some(ms(2)), Some(ms(20))]];
        // 4 rounds × 10 × 22 ms, and 3 reconnections × (8 × 2 ms + min(8 × 20 ms, 100 ms)).
        assert_eq!(
            estimate(&times, &[10], &run).unwrap().total,
            ms(4 * 10 * 22 + 3 * (16 + 100))
        );
    }

    #[test]
    fn abba_balances_order() {
        let firsts: Vec<Side> = (0..8)
            .map(|r| first_side(RoundOrder::Abba, 1, r, 0))
            .collect();
        use Side::*;
        assert_eq!(
            firsts,
            vec![Before, After, After, Before, Before, After, After, Before]
        );
    }

    #[test]
    fn random_order_is_seeded_and_mixed() {
        let a: Vec<Side> = (0..64)
            .map(|r| first_side(RoundOrder::Random, 42, r, 3))
            .collect();
        let b: Vec<Side> = (0..64)
            .map(|r| first_side(RoundOrder::Random, 42, r, 3))
            .collect();
        assert_eq!(a, b);
        let befores = a.iter().filter(|s| **s == Side::Before).count();
        assert!((16..=48).contains(&befores), "{befores}");
    }
}
