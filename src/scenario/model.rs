//! The validated scenario: what a run needs, with every value checked and every path resolved.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use super::{Claim, Expr, Value};

/// A file the scenario names, read once at load time.
#[derive(Debug, Clone)]
pub struct SqlFile {
    pub path: PathBuf,
    pub text: String,
}

/// One validated scenario, ready to plan and run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The scenario file and its text, kept to locate later errors (`file:line:col`).
    pub path: PathBuf,
    pub text: String,
    pub name: String,
    pub description: Option<String>,
    pub schema: Vec<SqlFile>,
    pub seed: Vec<SqlFile>,
    pub scale: i64,
    /// `scale`, `seed` and the scenario's own variables, all constants.
    pub vars: BTreeMap<String, Value>,
    pub migration: Migration,
    /// Extra server settings (`[server] settings`), applied where the backend allows.
    pub settings: BTreeMap<String, String>,
    /// Where each setting's value is written, to locate the server's refusal of it.
    pub setting_spans: BTreeMap<String, Range<usize>>,
    pub run: RunSettings,
    pub operations: Vec<Operation>,
    /// `[load]`: concurrent clients (see `crate::load`); `None` measures one client at a time.
    pub load: Option<super::LoadSettings>,
}

/// The change under test, applied to the "after" database only.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Migrations applied to the template (and so to both sides) before seeding: the
    /// versions up to `before` of a migrations folder.
    pub base: Vec<SqlFile>,
    /// The migration under test.
    pub up: Vec<SqlFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoundOrder {
    /// A seeded coin flip decides which side goes first in each round.
    Random,
    /// AB, BA, BA, AB, …: balances linear drift exactly.
    Abba,
}

/// How rounds are run. Field names match the `[run]` table.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct RunSettings {
    /// Executions per side per operation before the first round.
    pub warmup: u64,
    /// Interleaved A/B rounds; each round gives one paired sample.
    pub rounds: u64,
    /// Executions per side per operation per round (at most).
    pub iterations: u64,
    /// Bounds both sides of an operation in a round: the executions per round are planned from
    /// the warm-up so that the slower side fits, and each side stops early (the second after
    /// twice this long), so a slow side does not blow the time budget.
    pub round_budget_ms: u64,
    /// Seed for parameter generators and the round order.
    pub seed: u64,
    pub order: RoundOrder,
    /// `statement_timeout` for measured statements.
    pub statement_timeout_ms: u64,
    /// Fresh connections (server processes) for both sides at every round. Default: on,
    /// unless the server is pinned to the measuring thread's CPU (local backend).
    pub reconnect: Option<bool>,
}

/// Whether an operation writes, and what happens to its writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Reads: statements run as written.
    Read,
    /// Writes in a transaction that is rolled back: the data stays the same.
    Rollback,
    /// Writes committed: the data grows, parameters are fresh for every execution.
    Commit,
}

/// A statement with its place in the scenario file.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    /// Byte range in the scenario text: from one byte before the statement's text (its opening
    /// quote, for a one-line string), so that `span.start + 1 + offset` is exact.
    pub span: Range<usize>,
    /// Highest `$N` placeholder in the statement (0 when none).
    pub placeholders: usize,
}

/// What one side (before or after) executes for an operation.
#[derive(Debug, Clone)]
pub struct SideSql {
    pub statements: Vec<Statement>,
    /// Wrapped in BEGIN … COMMIT (or ROLLBACK in rollback mode).
    pub transaction: bool,
    /// A Rust function that replaces the statements (registered through the `bench` API;
    /// never set by a scenario file).
    pub code: Option<super::code::Code>,
}

/// Where parameter values come from.
#[derive(Debug, Clone)]
pub enum Params {
    None,
    /// One expression per `$N`, evaluated for every execution.
    Generated(Vec<Expr>),
    /// Rows of a query, run once on the seeded data; each execution draws one row.
    Sample {
        sql: String,
        span: Range<usize>,
    },
}

#[derive(Debug, Clone)]
pub struct LocatedClaim {
    pub claim: Claim,
    /// The text as written in the scenario.
    pub text: String,
    pub span: Range<usize>,
}

/// One repository operation: a query or a whole transaction.
#[derive(Debug, Clone)]
pub struct Operation {
    pub name: String,
    pub description: Option<String>,
    pub mode: Mode,
    pub before: SideSql,
    pub after: SideSql,
    pub params: Params,
    /// Where each generator of `params` is written (empty for a sample or no params).
    pub param_spans: Vec<Range<usize>>,
    pub claims: Vec<LocatedClaim>,
    /// `Some(true)`: a result difference refutes the operation (the claim `same result`).
    /// `Some(false)`: a difference is expected and reported as information.
    /// `None`: a difference is reported as a warning.
    pub expect_same_result: Option<bool>,
    /// Gate thresholds: the scenario's `[gate]`, overridden by the operation's `gate`.
    pub thresholds: Thresholds,
    /// Share of the load mix (`[load]`); 0 leaves the operation out of load runs.
    pub weight: u32,
    pub span: Range<usize>,
}

/// Gate thresholds in force for an operation (scenario `[gate]`, operation `gate = {…}`).
#[derive(
    Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
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

impl SideSql {
    /// Whether two sides execute the same thing (the same statements, wrapping and function).
    fn same_as(&self, other: &SideSql) -> bool {
        self.transaction == other.transaction
            && self.code.as_ref().map(|c| &c.name) == other.code.as_ref().map(|c| &c.name)
            && self
                .statements
                .iter()
                .map(|s| &s.sql)
                .eq(other.statements.iter().map(|s| &s.sql))
    }
}

impl Scenario {
    /// Whether the scenario compares two sides: it has a migration, or an operation whose
    /// sides run different SQL (or different Rust functions). Without either, both sides would
    /// measure the same thing, so a run measures one side only: `after`, the scenario's
    /// database (absolute targets such as `p95 < 100 ms`).
    pub fn compares(&self) -> bool {
        !self.migration.up.is_empty() || self.operations.iter().any(|o| !o.before.same_as(&o.after))
    }

    /// In a scenario that measures one side, every claim that needs two — a speedup, buffers
    /// ratio or same result — or names the `before` side, located at the claim. Empty when the
    /// scenario compares two sides.
    pub fn single_side_errors(&self) -> Vec<crate::error::Located> {
        if self.compares() {
            return vec![];
        }
        let mut out = Vec::new();
        for op in &self.operations {
            for c in &op.claims {
                let why = match c.claim.inner() {
                    Claim::Speedup { .. } => "compares before with after",
                    Claim::BuffersRatio { .. } => "compares the blocks the two sides read",
                    Claim::SameResult => "compares the rows the two sides return",
                    Claim::Latency { side, .. }
                    | Claim::UsesIndex { side, .. }
                    | Claim::NoSeqScan { side, .. }
                    | Claim::Growth { side, .. }
                        if *side == super::Side::Before =>
                    {
                        "names the before side"
                    }
                    _ => continue,
                };
                out.push(crate::error::Located::at(
                    &self.path,
                    &self.text,
                    c.span.start,
                    format!(
                        "operation `{}`: the claim `{}` {why}, but this scenario has no migration and runs the same SQL on both sides, \
                         so querygate measures one side only (its database as seeded). Claim an absolute target instead \
                         (`p95 < 100 ms`, `uses index NAME`), or add a [migration] or distinct `before`/`after` SQL to compare",
                        op.name, c.text
                    ),
                ));
            }
        }
        out
    }
}
