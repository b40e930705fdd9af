//! The results file: the one `Report` type every renderer reads. This module is the JSON
//! contract (see docs/results-format.md); internal types never leak into it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    pub environment: Environment,
    pub scenarios: Vec<ScenarioReport>,
    /// The exit code this run decided: 0 pass, 1 refuted claim or regression, 3 incomplete.
    pub exit_code: u8,
    /// Why the exit code is not 0, one line each.
    pub failures: Vec<String>,
    /// Problems with the measurement itself, with advice.
    pub warnings: Vec<Warning>,
    /// The comparison with a stored baseline, when one was given.
    pub gate: Option<GateReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    pub name: String,
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
    /// Docker image and id, for the docker backend.
    pub image: Option<String>,
    pub image_id: Option<String>,
    /// Server binaries directory, for the local backend.
    pub bindir: Option<String>,
    /// The CPU the server and the measuring thread were pinned to (local backend).
    #[serde(default)]
    pub pinned_cpu: Option<usize>,
    /// `SELECT version()`.
    pub server_version: String,
    /// `server_version_num`, e.g. 150018.
    pub server_version_num: u32,
    /// Settings read back from the server (name → value with unit).
    pub settings: BTreeMap<String, String>,
    pub machine: Machine,
    /// `git rev-parse HEAD` of the working directory, if it is a git checkout.
    pub git_commit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Machine {
    pub hostname: String,
    pub os: String,
    pub arch: String,
    pub cpus: usize,
    /// Total memory in MiB.
    pub memory_mib: u64,
}

/// One scenario at one scale.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioReport {
    pub name: String,
    pub description: Option<String>,
    /// The scenario file.
    pub file: String,
    pub scale: i64,
    /// All variables after evaluation (scale, seed, the scenario's own).
    pub vars: BTreeMap<String, String>,
    pub status: RunStatus,
    pub error: Option<String>,
    /// SHA-256 fingerprints of the inputs; a baseline with other fingerprints measured other inputs.
    pub fingerprints: Fingerprints,
    pub run: RunInfo,
    /// Time to load schema and seed data into the template.
    pub seed_ms: f64,
    pub migration: MigrationReport,
    pub operations: Vec<OperationReport>,
    /// A trivial statement (`SELECT 1`) measured in every round: latency divided by it
    /// survives a change of machine better than latency alone.
    pub calibration: Option<Calibration>,
    pub warnings: Vec<Warning>,
}

/// The calibration operation's per-round medians (µs), before and after connections.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Calibration {
    pub sql: String,
    pub round_p50_us: Vec<f64>,
    /// Rounds of the confirmation stage (re-measurement of suspected regressions).
    pub confirm_round_p50_us: Vec<f64>,
}

/// Gate thresholds in force for an operation (scenario `[gate]`, operation `gate = {…}`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Thresholds {
    /// A latency or speedup change smaller than this fraction is noise (0.10 = 10%).
    pub latency: f64,
    /// Shared blocks may grow by this fraction …
    pub buffers_relative: f64,
    /// … and by at least this many blocks before the gate fails.
    pub buffers_floor: u64,
    /// Confidence of the screening interval.
    pub screen_confidence: f64,
    /// Confidence of the confirmation interval, on fresh rounds.
    pub confirm_confidence: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            latency: 0.10,
            buffers_relative: 0.10,
            buffers_floor: 8,
            screen_confidence: 0.95,
            confirm_confidence: 0.995,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Fingerprints {
    pub scenario: String,
    pub schema: String,
    pub seed: String,
    pub migration: String,
}

/// How the rounds were run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RunInfo {
    pub warmup: u64,
    pub rounds: u64,
    pub iterations: u64,
    pub round_budget_ms: u64,
    pub seed: u64,
    /// random or abba.
    pub order: String,
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
    pub files: Vec<MigrationFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MigrationFile {
    pub file: String,
    pub duration_ms: f64,
}

/// One operation, before and after.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OperationReport {
    pub name: String,
    pub description: Option<String>,
    /// read, rollback or commit.
    pub mode: String,
    pub before: SideReport,
    pub after: SideReport,
    /// before/after of per-round medians: > 1 means after is faster.
    pub speedup: Option<Interval>,
    /// The same on per-round 95th percentiles.
    pub speedup_p95: Option<Interval>,
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
    pub claims: Vec<ClaimReport>,
    pub thresholds: Thresholds,
    /// Fresh rounds measured to confirm a suspected regression against the baseline.
    pub confirmation: Option<Confirmation>,
}

/// Per-round medians (µs) of the confirmation stage.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Confirmation {
    pub before_round_p50_us: Vec<f64>,
    pub after_round_p50_us: Vec<f64>,
}

/// A ratio with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Interval {
    /// Hodges–Lehmann estimate (the median of Walsh averages of per-round log ratios).
    pub estimate: f64,
    /// Geometric mean of the per-round ratios.
    pub geomean: f64,
    pub low: f64,
    pub high: f64,
    /// Coverage achieved (below the requested level when there are too few rounds).
    pub confidence: f64,
    /// Paired rounds behind the interval.
    pub rounds: usize,
}

/// One side of an operation.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SideReport {
    pub statements: Vec<String>,
    /// The statements ran inside BEGIN … COMMIT/ROLLBACK.
    pub transaction: bool,
    pub latency: Latency,
    /// Per-round medians, µs: the samples behind the speedup.
    pub round_p50_us: Vec<f64>,
    pub round_p95_us: Vec<f64>,
    pub round_p99_us: Vec<f64>,
    /// Executions per round.
    pub round_count: Vec<u64>,
    /// Every execution as an HdrHistogram in nanoseconds, V2 + DEFLATE, base64.
    pub histogram_ns_v2z: String,
    /// The EXPLAIN pass, one entry per statement.
    pub explain: Vec<StatementReport>,
    /// Digest of all rows returned, `rows:hex` (order-insensitive).
    pub result_checksum: Option<String>,
}

/// Latency over all measured executions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Latency {
    pub count: u64,
    pub min_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p95_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub mean_us: f64,
    pub stdev_us: f64,
}

/// One statement's EXPLAIN (ANALYZE, BUFFERS) and result.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StatementReport {
    pub sql: String,
    /// The parameter values used, as text.
    pub params: Vec<String>,
    /// Plan shape: node types, join types, relation and index per scan.
    pub signature: String,
    /// Indexes the plan reads.
    pub indexes: Vec<String>,
    pub shared_hit_blocks: u64,
    pub shared_read_blocks: u64,
    pub temp_blocks: u64,
    /// Rows the plan's top node produced.
    pub plan_rows: u64,
    /// Rows returned (SELECT or RETURNING) in the checksum pass.
    pub rows_returned: u64,
    pub rows_affected: u64,
    /// Order-insensitive digest of the rows returned, `rows:hex`.
    pub checksum: String,
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
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ClaimReport {
    /// As written in the scenario.
    pub claim: String,
    /// Normalised form.
    pub parsed: String,
    pub verdict: ClaimVerdict,
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
    pub id: String,
    pub operation: Option<String>,
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
    pub operations: Vec<OperationGate>,
    /// Scenarios or operations present on one side only, and refused comparisons.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OperationGate {
    pub scenario: String,
    pub operation: String,
    pub verdict: Verdict,
    /// Every signal that moved, one line each; empty when the operation passed.
    pub findings: Vec<Finding>,
}

/// One signal the gate looked at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Stable id: plan-changed, result-changed, rows-changed, buffers-increased, temp-blocks,
    /// latency-regressed, speedup-regressed, latency-suspected, latency-improved, speedup-improved.
    pub id: String,
    /// before or after, when the finding concerns one side.
    pub side: Option<String>,
    /// Index of the statement within the side, when it concerns one statement.
    pub statement: Option<usize>,
    /// What this finding does to the verdict.
    pub verdict: Verdict,
    pub message: String,
}
