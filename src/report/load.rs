//! The load part of the results file (`scenarios[].load`): part of the contract of
//! `model.rs`, kept in its own file. Every field is documented in docs/results-format.md.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ClaimReport, Interval, Latency};

/// A load run of one scenario: concurrent clients, phased before/after or the migration
/// under live load.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LoadReport {
    /// `phased` (before/after phases A, B, B, A …) or `under-load` (the migration ran while
    /// the traffic ran on the before database).
    pub mode: String,
    /// Concurrent clients, each with its own connection.
    pub clients: u32,
    /// OS threads driving the clients.
    pub threads: u32,
    /// Target total rate in executions per second (open loop); absent for a closed loop.
    pub target_tps: Option<f64>,
    /// `uniform` or `poisson` spacing of the open-loop schedule.
    pub arrival: String,
    /// Latency is measured from the `intended` start (open loop: coordinated omission
    /// corrected) or the `actual` start (closed loop).
    pub latency_from: String,
    /// Warm-up before the measured time: in the timeline, in none of the totals.
    pub warmup_ms: u64,
    /// Phased: measured time, split into `phases` of `phase_ms`, the first `settle_ms` of each
    /// discarded. Under load: the steady period before the migration (`steady_ms`) and the
    /// tail after it (`tail_ms`).
    pub duration_ms: u64,
    /// Phased: the number of phases (before and after in the order A, B, B, A …).
    pub phases: u32,
    /// Phased: the length of one phase.
    pub phase_ms: u64,
    /// Phased: discarded at the start of every phase.
    pub settle_ms: u64,
    /// Under load: the steady period measured before the migration starts.
    pub steady_ms: u64,
    /// Under load: the tail measured after the migration ends.
    pub tail_ms: u64,
    /// Width of one timeline interval.
    pub interval_ms: u64,
    /// Executions per second over the measured time, all operations together (a phased open
    /// loop that ended behind schedule: over the time its phases really took).
    pub achieved_tps: f64,
    /// Measured executions (successful and failed), all operations.
    pub executions: u64,
    /// Failed measured executions, all operations.
    pub errors: u64,
    /// The generator could not keep the target rate: the latencies describe a lower load than
    /// asked (see `saturation`).
    pub saturated: bool,
    /// Why the run counts as saturated.
    pub saturation: Option<String>,
    /// How far behind its schedule the most-late client was when the run ended, ms.
    pub behind_at_end_ms: f64,
    /// Per operation in the mix.
    pub operations: Vec<LoadOperation>,
    /// Phased: after/before ratio of total throughput, per phase pair, with its interval
    /// (> 1: the after side served more executions per second).
    pub throughput_ratio: Option<Interval>,
    /// Latency and throughput over time, all operations together.
    pub timeline: Vec<TimelinePoint>,
    /// Under load: the migration's window, statements, locks and who waited.
    pub migration: Option<LiveMigrationReport>,
    /// Verdicts on the scenario's `[load] claim` list.
    pub claims: Vec<ClaimReport>,
    /// A client that could not go on, or the load run's error.
    pub failure: Option<String>,
}

/// One operation of the load mix.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LoadOperation {
    /// The operation's name, as in the scenario.
    pub name: String,
    /// Its share of the mix.
    pub weight: u32,
    /// Phased: the before side.
    pub before: Option<LoadSide>,
    /// Phased: the after side.
    pub after: Option<LoadSide>,
    /// Phased: after/before throughput ratio per phase pair, with its interval.
    pub throughput_ratio: Option<Interval>,
    /// Under load: finished before the migration started …
    pub steady: Option<LoadSide>,
    /// … in flight at some time during the migration …
    pub window: Option<LoadSide>,
    /// … and started after it ended.
    pub tail: Option<LoadSide>,
    /// Per timeline interval (same times as the scenario's timeline).
    pub timeline: Vec<TimelinePoint>,
}

/// Executions of one operation in one part of a load run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LoadSide {
    /// Successful executions.
    pub executions: u64,
    /// Successful executions per second of measured time.
    pub tps: f64,
    /// From the intended start (open loop) or the actual start (closed loop).
    pub latency: Latency,
    /// From the actual start: the server's answer time without schedule lag.
    pub service: Latency,
    /// Failed executions by SQLSTATE (`connection` when the session was lost).
    pub errors: BTreeMap<String, u64>,
    /// Phased: executions per second in each measured phase of this side.
    pub phase_tps: Vec<f64>,
    /// The latency histogram in nanoseconds, V2 + DEFLATE, base64.
    pub histogram_ns_v2z: String,
}

/// One timeline interval.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TimelinePoint {
    /// Start of the interval, ms since the load run's origin (warm-up included).
    pub t_ms: f64,
    /// Successful executions completed in the interval.
    pub executions: u64,
    /// Successful executions per second in the interval.
    pub tps: f64,
    /// Failed executions completed in the interval.
    pub errors: u64,
    /// p50 latency of the executions completed in the interval, µs (0 when there were none).
    pub p50_us: f64,
    /// p99 latency of the executions completed in the interval, µs (0 when there were none).
    pub p99_us: f64,
    /// The longest latency in the interval, µs (0 when there were none).
    pub max_us: f64,
}

/// The migration as it ran under live load.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LiveMigrationReport {
    /// The window, ms since the load run's origin.
    pub start_ms: f64,
    /// End of the window, ms since the origin; absent when the migration had not ended when
    /// the load run did, or the run was interrupted while it ran.
    pub end_ms: Option<f64>,
    /// The window's length, ms (when the migration had not ended: to the load run's end, or to
    /// the interruption).
    pub duration_ms: f64,
    /// The migration's statements, in the order they ran.
    pub statements: Vec<LiveStatement>,
    /// The statement that failed, with the server's error (the migration stopped there).
    pub error: Option<String>,
    /// Relation locks the migration's session held (sampled).
    pub locks_held: Vec<HeldLockReport>,
    /// Traffic waiting behind the migration, grouped by relation and lock mode.
    pub blocked: Vec<BlockedReport>,
    /// Executions seen waiting on any lock during the run (sampled).
    pub lock_waits: u64,
    /// … of which behind a lock the migration held.
    pub lock_waits_on_migration: u64,
    /// The longest wait seen behind the migration, ms (sampling resolution `sample_ms`).
    pub longest_wait_ms: f64,
    /// Times the migration itself waited on a lock held by traffic.
    pub migration_lock_waits: u64,
    /// `pg_stat_activity`/`pg_locks` samples taken.
    pub samples: u64,
    /// The sampling period, ms.
    pub sample_ms: u64,
    /// A sampling problem (sampling stopped).
    pub sampling_error: Option<String>,
    /// One line each, e.g. "blocked writes to focus_sessions for 1.8 s (312 executions waited)".
    pub findings: Vec<String>,
}

/// One statement of the migration under load.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LiveStatement {
    /// The migration file the statement is in.
    pub file: String,
    /// 1-based line in the file.
    pub line: usize,
    /// The statement's text.
    pub sql: String,
    /// ms since the load run's origin.
    pub start_ms: f64,
    /// How long it ran, ms.
    pub duration_ms: f64,
    /// The server's error, when the statement failed; for the statement a run was interrupted
    /// in, `did not finish: the run was interrupted while it ran` (and `duration_ms` is how
    /// long it had run).
    pub error: Option<String>,
}

/// A relation lock the migration held.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HeldLockReport {
    /// Relation name (or OID, for one created by an uncommitted statement).
    pub relation: String,
    /// e.g. `ShareLock`, `AccessExclusiveLock`.
    pub mode: String,
    /// First and last sample that saw it, ms since the origin; `held_ms` their distance.
    pub first_ms: f64,
    /// The last sample that saw it, ms since the origin.
    pub last_ms: f64,
    /// `last_ms - first_ms`, ms.
    pub held_ms: f64,
}

/// Traffic held up by the migration on one relation.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BlockedReport {
    /// The relation waited on (or the lock type, e.g. `transactionid` for a row lock).
    pub relation: String,
    /// The mode the traffic asked for.
    pub mode: String,
    /// `writes` (RowExclusiveLock), `reads` (AccessShareLock), `row locks` (RowShareLock) or the mode.
    pub kind: String,
    /// Executions seen waiting.
    pub executions: u64,
    /// From the first to the last sample that saw a wait, ms since the origin.
    pub first_ms: f64,
    /// The last sample that saw a wait, ms since the origin.
    pub last_ms: f64,
    /// `last_ms - first_ms` plus one sampling period.
    pub duration_ms: f64,
}
