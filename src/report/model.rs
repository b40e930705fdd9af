//! The results file: the one `Report` type every renderer reads. This module is the JSON
//! contract (see docs/results-format.md); internal types never leak into it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::LoadReport;
/// Defined with the scenario that sets them; recorded here per operation.
pub use crate::scenario::Thresholds;

/// Version of the results format; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole run: one or more scenarios on one server.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Version of this format.
    pub schema_version: u32,
    /// The querygate that wrote the file.
    pub tool: Tool,
    /// `complete`, or `incomplete` when the run failed or was interrupted part-way.
    pub status: RunStatus,
    /// Why the run is incomplete.
    pub error: Option<String>,
    /// Start of the run, RFC 3339 UTC.
    pub started_at: String,
    /// Wall-clock duration of the run.
    pub duration_ms: f64,
    /// The server and machine the numbers come from.
    pub environment: Environment,
    /// Every scenario run (or started), in order.
    pub scenarios: Vec<ScenarioReport>,
    /// The exit code this run decided: 0 pass, 1 a failure of the kind `fail_on` chose (refuted
    /// claim, regression), 2 scenario or usage error, 3 infrastructure, 130/143 interrupted.
    pub exit_code: u8,
    /// What fails the run (exit code 1): `claims`, `regressions` or `both` (the default).
    #[serde(default)]
    pub fail_on: FailOn,
    /// Why the exit code is not 0, one line each.
    pub failures: Vec<String>,
    /// Problems with the measurement itself, with advice.
    pub warnings: Vec<Warning>,
    /// The comparison with a stored baseline, when one was given.
    pub gate: Option<GateReport>,
    /// One cross-scale view per scenario run at several scales (`--scale A,B,C`), or with
    /// claims over a sweep.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweeps: Vec<SweepReport>,
}

/// How a scenario's operations behave across the scales of a sweep.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SweepReport {
    /// The scenario's name.
    pub scenario: String,
    /// The scales measured, ascending.
    pub scales: Vec<i64>,
    /// Each operation of the scenario across those scales.
    pub operations: Vec<OperationSweep>,
}

/// One operation across the scales of a sweep.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OperationSweep {
    /// The operation's name, as in the scenario.
    pub name: String,
    /// One point per measured scale, ascending.
    pub points: Vec<SweepPoint>,
    /// How the before side's per-round p50 grows with the scale: the exponent k of latency ∝ scale^k.
    pub before_growth: Option<Growth>,
    /// The same for the after side.
    pub after_growth: Option<Growth>,
    /// Plan changes between consecutive scales, per side.
    pub plan_flips: Vec<PlanFlip>,
    /// Verdicts on the claims made over the sweep (`after grows at most linearly`, or a claim
    /// `… at scale >= N` that no measured scale satisfied).
    pub claims: Vec<ClaimReport>,
}

/// An operation at one scale of a sweep.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SweepPoint {
    /// The scale this point was measured at.
    pub scale: i64,
    /// p50 over all executions of the before side, µs (absent when nothing was measured).
    pub before_p50_us: Option<f64>,
    /// p50 over all executions of the after side, µs.
    pub after_p50_us: Option<f64>,
    /// The speedup at this scale, as in the scale's own operation report.
    pub speedup: Option<Interval>,
}

/// The growth exponent k of latency ∝ scale^k: the Theil–Sen slope of ln(per-round p50) over
/// ln(scale), with Sen's rank interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Growth {
    /// The point estimate of k (Theil–Sen slope).
    pub exponent: f64,
    /// Lower bound of k's interval.
    pub low: f64,
    /// Upper bound of k's interval.
    pub high: f64,
    /// Coverage of the interval.
    pub confidence: f64,
}

/// A plan that changes between two consecutive scales of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanFlip {
    /// before or after.
    pub side: String,
    /// The last scale with the old plan.
    pub from_scale: i64,
    /// The first scale with the new plan.
    pub to_scale: i64,
    /// Plan nodes only in the old plan, e.g. `Hash Join`.
    pub from: String,
    /// Plan nodes only in the new plan, e.g. `Nested Loop`.
    pub to: String,
}

/// Which kind of finding fails a run: refuted claims, regressions against the baseline, or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    Claims,
    Regressions,
    #[default]
    Both,
}

impl FailOn {
    /// Refuted claims fail the run.
    pub fn claims(self) -> bool {
        self != FailOn::Regressions
    }

    /// Regressions against the baseline fail the run.
    pub fn regressions(self) -> bool {
        self != FailOn::Claims
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    /// `querygate`.
    pub name: String,
    /// The querygate version (Cargo package version).
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Complete,
    Incomplete,
}

/// Where the numbers come from.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Environment {
    /// docker, local or url.
    pub backend: String,
    /// Why this backend (the `auto` decision).
    pub backend_reason: String,
    /// Server address, password redacted.
    pub server_address: String,
    /// Docker image reference, for the docker backend.
    pub image: Option<String>,
    /// Docker image id (`sha256:…`), for the docker backend.
    pub image_id: Option<String>,
    /// Server binaries directory, for the local backend.
    pub bindir: Option<String>,
    /// The CPU the server and the measuring thread were pinned to (local backend).
    #[serde(default)]
    pub pinned_cpu: Option<usize>,
    /// How the client reaches the server: `tcp-loopback`, `unix-socket`, `container-bridge`,
    /// `docker-published-port` or `tcp-remote`. It sets the fixed round trip in every latency.
    #[serde(default)]
    pub transport: Option<String>,
    /// Where server and client run, e.g. `server CPU 1, client CPU 1 (shared)`, `server CPU 1,
    /// client CPU 0 (split)`, `free (scheduler)`.
    #[serde(default)]
    pub placement: Option<String>,
    /// `SELECT version()`.
    pub server_version: String,
    /// `server_version_num`, e.g. 150018.
    pub server_version_num: u32,
    /// Settings read back from the server (name → value with unit).
    pub settings: BTreeMap<String, String>,
    /// Settings querygate would have set (pinned, or the scenario's) but could not on a
    /// server it did not start, with why — e.g. `track_io_timing` for a role that is not a
    /// superuser. The run went on without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings_not_applied: Vec<SettingNotApplied>,
    /// The machine querygate ran on.
    pub machine: Machine,
    /// `git rev-parse HEAD` of the working directory, if it is a git checkout.
    pub git_commit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Machine {
    /// Host name of the machine querygate ran on.
    pub hostname: String,
    /// Operating system (`PRETTY_NAME` of /etc/os-release).
    pub os: String,
    /// CPU architecture, e.g. `x86_64`.
    pub arch: String,
    /// Logical CPUs online on the machine (not only those the measuring thread was pinned to).
    pub cpus: usize,
    /// Total memory in MiB.
    pub memory_mib: u64,
}

/// A setting that could not be applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SettingNotApplied {
    /// The setting's name.
    pub name: String,
    /// The value querygate wanted.
    pub value: String,
    /// Why it could not be applied.
    pub reason: String,
}

/// One scenario at one scale.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioReport {
    /// The scenario's `name`.
    pub name: String,
    /// The scenario's `description`.
    pub description: Option<String>,
    /// The scenario file.
    pub file: String,
    /// The `scale` variable in force (the file's `data.scale` or `--scale`).
    pub scale: i64,
    /// All variables after evaluation (scale, seed, the scenario's own).
    pub vars: BTreeMap<String, String>,
    /// `complete`, or `incomplete` when this scenario failed or was interrupted.
    pub status: RunStatus,
    /// The scenario has nothing to compare (no migration, the same SQL on both sides): only the
    /// `after` side — its database as seeded — was measured; `before` is empty, there are no
    /// speedups, and claims are absolute targets.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub single_side: bool,
    /// Why this scenario is incomplete.
    pub error: Option<String>,
    /// SHA-256 fingerprints of the inputs; a baseline with other fingerprints measured other inputs.
    pub fingerprints: Fingerprints,
    /// How the rounds were run.
    pub run: RunInfo,
    /// Time to load schema and seed data into the template.
    pub seed_ms: f64,
    /// The migration applied to the after database.
    pub migration: MigrationReport,
    /// Every operation, in scenario order.
    pub operations: Vec<OperationReport>,
    /// A trivial statement (`SELECT 1`) measured in every round: latency divided by it
    /// survives a change of machine better than latency alone.
    pub calibration: Option<Calibration>,
    /// How server time was measured (`pg_stat_statements`); absent when it was not, and a
    /// `server-time-unavailable` warning says why.
    #[serde(default)]
    pub server_time: Option<String>,
    /// Problems with this scenario's measurement, with advice.
    pub warnings: Vec<Warning>,
    /// The load run (`[load]`, `--clients`, `--under-load`), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadReport>,
}

/// The calibration operation's per-round medians (µs), before and after connections.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Calibration {
    /// The calibration statement.
    pub sql: String,
    /// Per-round medians (µs) of the main stage.
    pub round_p50_us: Vec<f64>,
    /// Rounds of the confirmation stage (re-measurement of suspected regressions).
    pub confirm_round_p50_us: Vec<f64>,
    /// Server time of the calibration statement per round (µs, geometric mean of the two
    /// connections), when server time was measured.
    #[serde(default)]
    pub server_round_us: Vec<f64>,
    /// The round trip: median over rounds of the calibration's client latency minus its server
    /// time (µs). Every execution of every operation pays about this much.
    #[serde(default)]
    pub round_trip_us: Option<f64>,
}

/// SHA-256 fingerprints of what changes measurements: a baseline whose fingerprints differ
/// (other than the change under test: the migration and the operations' after sides)
/// measured another experiment. The scenario file's own bytes are not fingerprinted: names,
/// descriptions, claims, gate thresholds and comments change no measurement. Variables and run
/// parameters are compared from `vars` and `run`, which record them in the clear.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Fingerprints {
    /// SHA-256 of the schema files and the migration's base files.
    pub schema: String,
    /// SHA-256 of the seed scripts.
    pub seed: String,
    /// SHA-256 of the migration's change files.
    pub migration: String,
    /// SHA-256 of the scenario's `[server] settings` (name = value, sorted); empty in files
    /// written before querygate recorded it.
    #[serde(default)]
    pub settings: String,
    /// Per operation, by name: what it executes; empty in files written before querygate
    /// recorded it.
    #[serde(default)]
    pub operations: BTreeMap<String, OperationFingerprint>,
}

/// SHA-256 fingerprints of one operation: each side's SQL (with the mode and the transaction
/// wrapping, or the Rust function's path) and its parameters (generators in their compiled
/// form, or the sample query).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OperationFingerprint {
    /// The before side.
    pub before: String,
    /// The after side.
    pub after: String,
    /// Where parameter values come from.
    pub params: String,
}

/// How the rounds were run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RunInfo {
    /// Unmeasured executions of each operation per side before the rounds.
    pub warmup: u64,
    /// Interleaved rounds requested.
    pub rounds: u64,
    /// Executions per operation, side and round (upper bound; see `round_budget_ms`).
    pub iterations: u64,
    /// Bounds each side of an operation in a round, in ms: executions per round are planned
    /// from the warm-up so that the slower side fits; the first side stops after this long,
    /// the second (as many executions) after twice this long.
    pub round_budget_ms: u64,
    /// Seed for parameter generators and the round order.
    pub seed: u64,
    /// random or abba.
    pub order: String,
    /// `statement_timeout` of the measuring sessions, in ms.
    pub statement_timeout_ms: u64,
    /// Fresh connections for both sides at every round (see docs/method.md).
    #[serde(default)]
    pub reconnect: bool,
    /// Rounds actually completed (fewer than `rounds` when interrupted).
    pub rounds_completed: u64,
    /// Confidence level of every interval in this scenario.
    pub confidence: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MigrationReport {
    /// Total time to apply the migration to the after database.
    pub duration_ms: f64,
    /// Every migration file, in the order applied.
    pub files: Vec<MigrationFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MigrationFile {
    /// The migration file.
    pub file: String,
    /// Time to apply it.
    pub duration_ms: f64,
}

/// One operation, before and after.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OperationReport {
    /// The operation's `name`.
    pub name: String,
    /// The operation's `description`.
    pub description: Option<String>,
    /// read, rollback or commit.
    pub mode: String,
    /// The before side (on the database without the migration).
    pub before: SideReport,
    /// The after side (on the migrated database).
    pub after: SideReport,
    /// before/after of per-round medians: > 1 means after is faster.
    pub speedup: Option<Interval>,
    /// The same on per-round 95th percentiles.
    pub speedup_p95: Option<Interval>,
    /// before/after of per-round server time per execution (pg_stat_statements): the change's
    /// effect on the server's work, without the round trip. Absent when not measured.
    #[serde(default)]
    pub server_speedup: Option<Interval>,
    /// Plan signatures differ between sides.
    pub plan_changed: bool,
    /// One line: what changed in the plans, e.g. `focus_sessions: Seq Scan → Index Scan using idx`.
    pub plan_change: String,
    /// Both sides returned the same rows (order-insensitive).
    pub same_result: Option<bool>,
    /// The scenario's `expect_same_result`: true (a difference refutes), false (a difference
    /// is intended), absent (a difference is a warning).
    #[serde(default)]
    pub expect_same_result: Option<bool>,
    /// Every claim with its verdict.
    pub claims: Vec<ClaimReport>,
    /// Gate thresholds in force for this operation.
    pub thresholds: Thresholds,
    /// Fresh rounds measured to confirm a suspected regression against the baseline.
    pub confirmation: Option<Confirmation>,
    /// Claims over a sweep, as written in the scenario (judged in `Report::sweeps`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweep_claims: Vec<String>,
}

/// Per-round medians (µs) of the confirmation stage.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Confirmation {
    /// Before side's per-round medians (µs) of the confirmation stage.
    pub before_round_p50_us: Vec<f64>,
    /// After side's per-round medians (µs) of the confirmation stage.
    pub after_round_p50_us: Vec<f64>,
    /// Server time per execution (µs) in the confirmation rounds, when measured.
    #[serde(default)]
    pub before_round_server_us: Vec<f64>,
    /// The same for the after side.
    #[serde(default)]
    pub after_round_server_us: Vec<f64>,
    /// The before side's server processes' CPU time per execution (µs) in the confirmation
    /// rounds, where readable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before_round_cpu_us: Vec<f64>,
    /// The same for the after side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_round_cpu_us: Vec<f64>,
    /// Load runs: executions per second of each side in each fresh phase pair (the
    /// throughput-ratio signal's confirmation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before_phase_tps: Vec<f64>,
    /// The same for the after side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_phase_tps: Vec<f64>,
}

/// A ratio with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Interval {
    /// Hodges–Lehmann estimate (the median of Walsh averages of per-round log ratios).
    pub estimate: f64,
    /// Geometric mean of the per-round ratios.
    pub geomean: f64,
    /// Lower bound of the interval.
    pub low: f64,
    /// Upper bound of the interval.
    pub high: f64,
    /// Coverage achieved (below the requested level when there are too few rounds).
    pub confidence: f64,
    /// Paired rounds behind the interval.
    pub rounds: usize,
}

/// One side of an operation.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SideReport {
    /// The SQL this side runs: the scenario's statements, or for a side written in Rust the
    /// statements its function executed in the EXPLAIN pass (utility statements included).
    pub statements: Vec<String>,
    /// The Rust function measured for this side (its path), when the side is code rather
    /// than SQL (the `bench` API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Statements the operation sends to the server per execution: the scenario's statements
    /// (+ BEGIN and COMMIT for `transaction = true`), or every statement the Rust function
    /// executed in the EXPLAIN pass (its own BEGIN and COMMIT included: sqlx's `begin()` is a
    /// round trip of its own). The BEGIN … ROLLBACK
    /// querygate wraps around rollback-mode executions is not counted. Absent when not explained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_trips: Option<u64>,
    /// The statements ran inside BEGIN … COMMIT/ROLLBACK.
    pub transaction: bool,
    /// Latency over all measured executions.
    pub latency: Latency,
    /// Per-round medians, µs: the samples behind the speedup.
    pub round_p50_us: Vec<f64>,
    /// Per-round 95th percentiles, µs.
    pub round_p95_us: Vec<f64>,
    /// Per-round 99th percentiles, µs.
    pub round_p99_us: Vec<f64>,
    /// Executions per round.
    pub round_count: Vec<u64>,
    /// Server time per execution, when measured (absent: see the scenario's warnings).
    #[serde(default)]
    pub server: Option<ServerTime>,
    /// Every execution as an HdrHistogram in nanoseconds, V2 + DEFLATE, base64.
    pub histogram_ns_v2z: String,
    /// The EXPLAIN pass, one entry per statement.
    pub explain: Vec<StatementReport>,
    /// Digest of all rows returned, `rows:hex` (order-insensitive).
    pub result_checksum: Option<String>,
}

/// Time the server spent executing one side (planning + execution of every statement, BEGIN and
/// COMMIT included), per execution: `pg_stat_statements` deltas around each round's block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServerTime {
    /// Mean server time per execution over all rounds, µs.
    pub mean_us: f64,
    /// Per round, µs: the samples behind the server speedup.
    pub round_us: Vec<f64>,
    /// Statements the server counted per execution (BEGIN/COMMIT included).
    pub statements_per_execution: f64,
    /// The share of the mean client latency spent outside the server's execution:
    /// 1 − server / client (round trip, protocol, client library). 0.9 means a faster query
    /// can cut at most 10% of what the client sees.
    pub round_trip_share: f64,
    /// Per round, µs: the side's server processes' time on a CPU per execution (Linux
    /// schedstat; the whole process, protocol handling included, so more than the executor's
    /// time). Unlike the wall-clock server time, it does not grow while a backend waits for a
    /// CPU: the cross-run gate asks a slower server time to show here too. Empty where
    /// querygate cannot see the server's processes (the url backend).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_round_us: Vec<f64>,
}

/// Latency over all measured executions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Latency {
    /// Executions measured.
    pub count: u64,
    /// Fastest execution, µs.
    pub min_us: f64,
    /// Median, µs.
    pub p50_us: f64,
    /// 90th percentile, µs.
    pub p90_us: f64,
    /// 95th percentile, µs.
    pub p95_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// Slowest execution, µs.
    pub max_us: f64,
    /// Mean, µs.
    pub mean_us: f64,
    /// Standard deviation, µs.
    pub stdev_us: f64,
}

/// One statement's EXPLAIN (ANALYZE, BUFFERS) and result.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StatementReport {
    /// The statement's SQL.
    pub sql: String,
    /// The parameter values used, as text.
    pub params: Vec<String>,
    /// Plan shape: node types, join types, relation and index per scan.
    pub signature: String,
    /// Indexes the plan reads.
    pub indexes: Vec<String>,
    /// Shared buffer hits of the plan.
    pub shared_hit_blocks: u64,
    /// Shared blocks read (outside shared buffers).
    pub shared_read_blocks: u64,
    /// Temporary blocks read and written.
    pub temp_blocks: u64,
    /// Rows the plan's top node produced.
    pub plan_rows: u64,
    /// Rows returned (SELECT or RETURNING) in the checksum pass.
    pub rows_returned: u64,
    /// Rows inserted, updated or deleted.
    pub rows_affected: u64,
    /// Order-insensitive digest of the rows returned, `rows:hex`.
    pub checksum: String,
    /// Planning time reported by EXPLAIN.
    pub planning_ms: f64,
    /// Server-side execution time; compare with client latency to see the round-trip share.
    pub execution_ms: f64,
    /// Time in triggers (e.g. foreign-key cascades).
    pub trigger_ms: f64,
    /// The EXPLAIN JSON document as PostgreSQL returned it (PEV2 reads this form).
    #[schemars(with = "serde_json::Value")]
    pub plan: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClaimVerdict {
    /// The evidence supports the claim (for speedups: the whole CI satisfies it).
    Holds,
    /// The evidence contradicts it (for speedups: the whole CI violates it).
    Refuted,
    /// The interval straddles the claimed bound: more rounds may decide.
    Inconclusive,
    /// There was no evidence to judge on: no plan or no measurement (the run stopped early).
    /// Never a failure.
    #[serde(rename = "not-evaluated")]
    NotEvaluated,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ClaimReport {
    /// As written in the scenario.
    pub claim: String,
    /// Normalised form.
    pub parsed: String,
    /// holds, refuted, inconclusive or not-evaluated.
    pub verdict: ClaimVerdict,
    /// Why: the measured evidence in one sentence.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Improved,
    Regressed,
    Inconclusive,
}

/// A measurement-quality problem, with a stable kebab-case id and advice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Warning {
    /// Stable kebab-case id, e.g. `results-differ`.
    pub id: String,
    /// The operation concerned, if any.
    pub operation: Option<String>,
    /// The problem and the advice.
    pub message: String,
}

/// The comparison of a run with a baseline.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GateReport {
    /// The baseline file.
    pub baseline: String,
    /// When the baseline was measured.
    pub baseline_started_at: String,
    /// Overall: regressed if any operation regressed, else inconclusive, improved or pass.
    pub verdict: Verdict,
    /// Every operation compared, with its verdict and findings.
    pub operations: Vec<OperationGate>,
    /// Scenarios or operations present on one side only, and refused comparisons.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OperationGate {
    /// The operation's scenario.
    pub scenario: String,
    /// The operation.
    pub operation: String,
    /// The operation's verdict against the baseline.
    pub verdict: Verdict,
    /// Every signal that moved, one line each; empty when the operation passed.
    pub findings: Vec<Finding>,
}

/// One signal the gate looked at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Stable id: plan-changed, result-changed, rows-changed, buffers-increased, temp-blocks,
    /// latency-regressed, speedup-regressed, server-speedup-regressed, latency-suspected,
    /// latency-unconfirmed, latency-improved, speedup-improved, server-speedup-improved,
    /// statements-changed, not-compared.
    pub id: String,
    /// before or after, when the finding concerns one side.
    pub side: Option<String>,
    /// Index of the statement within the side, when it concerns one statement.
    pub statement: Option<usize>,
    /// What this finding does to the verdict.
    pub verdict: Verdict,
    /// The finding in one sentence, with its numbers.
    pub message: String,
}
