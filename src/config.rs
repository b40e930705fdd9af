//! Validated configuration: what the command line asked for, checked once.

use std::path::PathBuf;

use serde::Serialize;

pub use crate::report::FailOn;

/// Which backend to use, as asked on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Docker when an engine answers and the image is present or pullable, else `Local`.
    Auto,
    /// A container of the image (`postgres:17` by default), removed at the end.
    Docker,
    /// An ephemeral cluster from the PostgreSQL server binaries on this machine (`initdb`,
    /// `postgres`), its directory removed at the end.
    Local,
    /// An existing server (a database URL): querygate creates and drops its own scratch
    /// databases there and reads the URL's database only.
    Url,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub command: Command,
    pub quiet: bool,
}

#[derive(Debug, Clone)]
pub enum Command {
    Run(Box<RunConfig>),
    Check(CheckConfig),
    Explain(ExplainConfig),
    Report(ReportConfig),
    Compare(CompareConfig),
    Merge(MergeConfig),
    /// Print the JSON Schema of the results file.
    Schema,
}

/// Extra files rendered from the report (each written atomically).
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub markdown: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub junit: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ReportConfig {
    pub input: PathBuf,
    pub format: Option<OutputFormat>,
    pub outputs: Outputs,
}

/// `Debug` is written by hand: the database URL may hold a password.
#[derive(Clone)]
pub struct BackendConfig {
    pub kind: BackendKind,
    pub database_url: Option<String>,
    pub image: String,
    pub pg_bindir: Option<PathBuf>,
    /// Where a local server and the measuring thread run.
    pub placement: Placement,
}

/// CPU placement of a local server and querygate's measuring thread (docs/method.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Server and measuring thread pinned to the same CPU.
    Shared,
    /// Server pinned to one CPU, the measuring thread to another.
    Split,
    /// No pinning: the scheduler places both.
    Free,
}

impl std::fmt::Debug for BackendConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendConfig")
            .field("kind", &self.kind)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "<redacted>"),
            )
            .field("image", &self.image)
            .field("pg_bindir", &self.pg_bindir)
            .field("placement", &self.placement)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
    Markdown,
}

/// Command-line overrides of a scenario's `[run]` table.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub rounds: Option<u64>,
    pub iterations: Option<u64>,
    pub warmup: Option<u64>,
    pub load: LoadOverrides,
}

/// Command-line overrides of a scenario's `[load]` table; any of them turns load mode on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadOverrides {
    pub clients: Option<u32>,
    /// Executions per second; `Some(None)` is a closed loop (`--rate 0`).
    pub rate: Option<Option<f64>>,
    pub duration_ms: Option<u64>,
    pub warmup_ms: Option<u64>,
    pub threads: Option<u32>,
    pub phases: Option<u32>,
    pub under_load: bool,
    /// `--load`: run the scenario's `[load]` as written.
    pub load: bool,
}

impl LoadOverrides {
    pub fn any(&self) -> bool {
        *self != LoadOverrides::default()
    }
}

#[derive(Debug, Clone)]
pub struct RunConfig {
    pub scenarios: Vec<PathBuf>,
    /// One entry per scale of a sweep; `None` keeps the scenario's own.
    pub scales: Vec<Option<i64>>,
    pub backend: BackendConfig,
    pub out: Option<PathBuf>,
    pub format: OutputFormat,
    pub outputs: Outputs,
    pub overrides: Overrides,
    pub timeout_s: u64,
    pub baseline: Baseline,
    /// Operations implemented in Rust (the `bench` API); empty for `querygate run`.
    pub implementations: crate::scenario::code::Registry,
    /// What fails the run (exit code 1).
    pub fail_on: FailOn,
}

/// Baseline options of `run`.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// Compare with this results file.
    pub compare_with: Option<PathBuf>,
    /// Save this run as a baseline here (a complete run only).
    pub save_to: Option<PathBuf>,
    /// Replace an existing baseline file.
    pub overwrite: bool,
    /// Compare even when the baseline measured other inputs (`gate::input_differences`).
    pub allow_mismatch: bool,
}

#[derive(Debug, Clone)]
pub struct CompareConfig {
    pub base: PathBuf,
    pub new: PathBuf,
    pub format: OutputFormat,
    pub outputs: Outputs,
    pub allow_mismatch: bool,
    /// What fails the comparison (exit code 1).
    pub fail_on: FailOn,
}

#[derive(Debug, Clone)]
pub struct CheckConfig {
    pub scenarios: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ExplainConfig {
    pub scenario: PathBuf,
    pub backend: BackendConfig,
    pub operation: Option<String>,
    pub scale: Option<i64>,
    pub timeout_s: u64,
}

/// `querygate merge`: results files pooled into one.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub format: Option<OutputFormat>,
    pub outputs: Outputs,
}
